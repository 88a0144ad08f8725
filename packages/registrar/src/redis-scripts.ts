// The Redis store's Lua scripts. Each runs atomically in Redis, so two registrars writing the same
// AOR at once cannot lose a binding: the RFC 3261 §10.3 checks and the write are one step.
//
// Layout under the prefix P:
//   P b:<aor>  hash   binding key -> binding JSON          (key TTL: last expiry + grace, set by Redis)
//   P exp      zset   "<aor>\n<key>" scored by expiresAt    (the sweep reports expiries once, cluster-wide)
//   P aors     set    AORs that hold bindings               (SCARD for metrics)
// A binding's expiry is its `expiresAt`: reads ignore expired fields at once; the sweep removes
// them; and Redis itself drops the whole hash when its TTL runs out, even with no node sweeping.

/**
 * KEYS: hash, zset, aors set.
 * ARGV: now, callId, cseq, removeAll ('1'/'0'), maxPerAor, maxTotal, aor, graceMs, then one
 * binding JSON per upsert (with `key` and `expiresAt`).
 * Returns {'ok', {next JSON...}, {added keys...}, {refreshed keys...}, {removed JSON...}} or
 * {'out-of-order'} / {'too-many'} / {'full'}.
 */
export const APPLY_SCRIPT = `
local now = tonumber(ARGV[1])
local callId = ARGV[2]
local cseq = tonumber(ARGV[3])
local removeAll = ARGV[4] == '1'
local maxPer = tonumber(ARGV[5])
local maxTotal = tonumber(ARGV[6])
local aor = ARGV[7]
local grace = tonumber(ARGV[8])
local raw = redis.call('HGETALL', KEYS[1])
local current = {}
local currentRaw = {}
local liveBefore = 0
for i = 1, #raw, 2 do
  local b = cjson.decode(raw[i + 1])
  if b.expiresAt > now then
    current[raw[i]] = b
    currentRaw[raw[i]] = raw[i + 1]
    liveBefore = liveBefore + 1
  end
end
local function stale(b)
  return b ~= nil and b.callId == callId and b.cseq >= cseq
end
local removed = {}
local added = {}
local refreshed = {}
local writes = {}
local deletes = {}
if removeAll then
  for k, b in pairs(current) do
    if stale(b) then return {'out-of-order'} end
  end
  for k, b in pairs(current) do
    removed[#removed + 1] = currentRaw[k]
    deletes[#deletes + 1] = k
  end
  current = {}
else
  -- A key named twice in one request: the last Contact for it wins.
  local final = {}
  local order = {}
  for i = 9, #ARGV do
    local u = cjson.decode(ARGV[i])
    if stale(current[u.key]) then return {'out-of-order'} end
    if final[u.key] == nil then order[#order + 1] = u.key end
    final[u.key] = { u, ARGV[i] }
  end
  for _, k in ipairs(order) do
    local u = final[k][1]
    local old = currentRaw[k]
    if u.expiresAt <= now then
      if old ~= nil then
        removed[#removed + 1] = old
        deletes[#deletes + 1] = k
        current[k] = nil
      end
    else
      local text = final[k][2]
      if old ~= nil then
        u.registeredAt = current[k].registeredAt
        text = cjson.encode(u)
        refreshed[#refreshed + 1] = k
      else
        added[#added + 1] = k
      end
      current[k] = u
      writes[k] = { text, u.expiresAt }
    end
  end
end
local liveAfter = 0
for k, b in pairs(current) do liveAfter = liveAfter + 1 end
if liveAfter > maxPer and liveAfter > liveBefore then return {'too-many'} end
if liveAfter - liveBefore > maxTotal - redis.call('ZCARD', KEYS[2]) then return {'full'} end
for _, k in ipairs(deletes) do
  if writes[k] == nil then
    redis.call('HDEL', KEYS[1], k)
    redis.call('ZREM', KEYS[2], aor .. '\\n' .. k)
  end
end
for k, w in pairs(writes) do
  redis.call('HSET', KEYS[1], k, w[1])
  redis.call('ZADD', KEYS[2], w[2], aor .. '\\n' .. k)
end
local last = 0
local nextList = {}
for k, b in pairs(current) do
  if b.expiresAt > last then last = b.expiresAt end
  if writes[k] ~= nil then nextList[#nextList + 1] = writes[k][1] else nextList[#nextList + 1] = currentRaw[k] end
end
if redis.call('HLEN', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[1])
  redis.call('SREM', KEYS[3], aor)
else
  redis.call('SADD', KEYS[3], aor)
  if last > 0 then redis.call('PEXPIRE', KEYS[1], math.floor(last - now + grace)) end
end
return {'ok', nextList, added, refreshed, removed}
`;

/**
 * KEYS: hash, zset, aors set. ARGV: aor, flowUri ('' for any), then the keys ('' none: all).
 * Returns the JSON of the bindings removed.
 */
export const REMOVE_SCRIPT = `
local aor = ARGV[1]
local flow = ARGV[2]
local keys = {}
if #ARGV >= 3 then
  for i = 3, #ARGV do keys[#keys + 1] = ARGV[i] end
else
  keys = redis.call('HKEYS', KEYS[1])
end
local out = {}
for _, k in ipairs(keys) do
  local raw = redis.call('HGET', KEYS[1], k)
  if raw then
    local ok = true
    if flow ~= '' then ok = cjson.decode(raw).flowUri == flow end
    if ok then
      redis.call('HDEL', KEYS[1], k)
      redis.call('ZREM', KEYS[2], aor .. '\\n' .. k)
      out[#out + 1] = raw
    end
  end
end
if redis.call('HLEN', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[1])
  redis.call('SREM', KEYS[3], aor)
end
return out
`;

/**
 * KEYS: zset, aors set. ARGV: now, limit, hash key prefix.
 * Takes out up to `limit` bindings due at `now`; returns their JSON (once, whichever node asks).
 */
export const EXPIRE_SCRIPT = `
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, member in ipairs(due) do
  local nl = string.find(member, '\\n', 1, true)
  redis.call('ZREM', KEYS[1], member)
  if nl then
    local aor = string.sub(member, 1, nl - 1)
    local key = string.sub(member, nl + 1)
    local hash = ARGV[3] .. aor
    local raw = redis.call('HGET', hash, key)
    if raw then
      redis.call('HDEL', hash, key)
      out[#out + 1] = raw
    end
    if redis.call('HLEN', hash) == 0 then redis.call('SREM', KEYS[2], aor) end
  end
end
return out
`;
