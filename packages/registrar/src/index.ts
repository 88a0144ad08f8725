// @sipts/registrar: an RFC 3261 §10 registrar and location service with Path (RFC 3327),
// outbound (RFC 5626), GRUU (RFC 5627) and NAT handling, over an async binding store: in memory
// (one timer wheel) or Redis (atomic Lua updates, expiry by Redis).
export { Registrar, createRegistrar } from './registrar.js';
export type { AuthorizePolicy, BindingEvent, LookupResult, RegistrarEvents, RegistrarOptions, RegistrarStack } from './registrar.js';
export type { RegistrarTarget } from './lookup.js';
export { targetsOf } from './lookup.js';
export { MemoryBindingStore, DEFAULT_MAX_BINDINGS } from './memory-store.js';
export type { MemoryBindingStoreOptions } from './memory-store.js';
export { RedisBindingStore } from './redis-store.js';
export type { RedisBindingStoreOptions, RedisClientLike } from './redis-store.js';
export { RedisReplayStore } from './redis-replay-store.js';
export type { RedisReplayStoreOptions } from './redis-replay-store.js';
export { applyChange } from './apply.js';
export { DEFAULT_LIMITS, SUPPORTED_TAGS } from './register-request.js';
export type { BindingLimits } from './register-request.js';
export { aorKey, contactKey, flat } from './contact.js';
export { isBehindNat, isPrivateAddress } from './nat.js';
export type { NatMode } from './nat.js';
export { GruuCodec } from './gruu.js';
export { RegistrarError, isRegistrarError } from './errors.js';
export type { RegistrarErrorCode } from './errors.js';
export type { ApplyRefusal, ApplyResult, Binding, BindingChange, BindingStore, FlowAddress } from './types.js';
