// Character classes as lookup tables indexed by byte (256 entries; codes >= 128 are never in
// a class, so scanners need no separate range check). Scanners test `TABLE[c] === 1`.

function table(chars: string, alnum: boolean): Uint8Array {
  const t = new Uint8Array(256);
  if (alnum) {
    for (let c = 48; c <= 57; c++) t[c] = 1;
    for (let c = 65; c <= 90; c++) t[c] = 1;
    for (let c = 97; c <= 122; c++) t[c] = 1;
  }
  for (let i = 0; i < chars.length; i++) t[chars.charCodeAt(i)] = 1;
  return t;
}

/** RFC 3261 §25.1 token: alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~". */
export const TOKEN = table("-.!%*_+`'~", true);

/** Host names and IPv4 literals (RFC 3261 §25.1 hostname, plus "_" seen in the wild). */
export const HOST = table('-._', true);

/**
 * Unquoted generic-param values (RFC 3261 §25.1 gen-value = token / host / quoted-string),
 * read liberally: any visible ASCII except the separators that end a value.
 */
export const PARAM_VALUE = (() => {
  const t = new Uint8Array(256);
  for (let c = 0x21; c < 0x7f; c++) t[c] = 1;
  for (const c of ';,"<>=\\') t[c.charCodeAt(0)] = 0;
  return t;
})();

/** URI scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) (RFC 3986 §3.1). */
export const SCHEME = table('+-.', true);

export function isTokenString(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 256 || TOKEN[c] !== 1) return false;
  }
  return true;
}

/**
 * Inside "<" ... ">": 1 ends the URI (">", SP, HT, CR), 2 is never allowed (CTLs, DEL, "<",
 * DQUOTE), 3 is "@" (the scanner notes the first one for the URI parser).
 */
export const URI_IN_BRACKETS = (() => {
  const t = new Uint8Array(256);
  for (let c = 0; c < 0x20; c++) t[c] = 2;
  t[0x7f] = 2;
  t[60] = 2;
  t[34] = 2;
  t[62] = 1;
  t[32] = 1;
  t[9] = 1;
  t[13] = 1;
  t[64] = 3;
  return t;
})();

// ---- Known names looked up in place (header names, parameter names, methods) ----

/**
 * A fixed set of names hashed by (length, first, middle and last code, case-folded) into an
 * open-addressed slot table: a lookup reads three codes, usually lands on its one candidate
 * and compares it once, instead of walking candidate lists.
 */
export interface NameTable {
  readonly list: readonly string[];
  /** All names' codes back to back; name `id` is flat[offsets[id], offsets[id + 1]). */
  readonly flat: Uint8Array;
  readonly offsets: Int32Array;
  /** id + 1 per slot, 0 when empty; the length is a power of two. */
  readonly slots: Int16Array;
}

function nameHash(len: number, first: number, middle: number, last: number): number {
  return len * 31 + (first | 0x20) * 7 + (last | 0x20) * 3 + (middle | 0x20);
}

export function makeNameTable(list: readonly string[]): NameTable {
  let size = 64;
  while (size < list.length * 4) size *= 2;
  const slots = new Int16Array(size);
  const offsets = new Int32Array(list.length + 1);
  let total = 0;
  for (let id = 0; id < list.length; id++) {
    offsets[id] = total;
    total += (list[id] as string).length;
  }
  offsets[list.length] = total;
  const flat = new Uint8Array(total);
  list.forEach((name, id) => {
    const len = name.length;
    for (let i = 0; i < len; i++) flat[(offsets[id] as number) + i] = name.charCodeAt(i);
    let h = nameHash(len, name.charCodeAt(0), name.charCodeAt(len >> 1), name.charCodeAt(len - 1)) & (size - 1);
    while (slots[h] !== 0) h = (h + 1) & (size - 1);
    slots[h] = id + 1;
  });
  return { list, flat, offsets, slots };
}

/**
 * The id of the name at [start, end) of the codes `b` in `table`, -1 when it is not there.
 * `mask` 0x20 matches case-insensitively (the table holds lower case: OR-ing 0x20 lower-cases
 * letters and leaves the other token characters as they are), 0 exactly.
 */
export function findName(table: NameTable, b: Uint8Array, start: number, end: number, mask: number): number {
  const len = end - start;
  if (len <= 0) return -1;
  const slots = table.slots;
  const m = slots.length - 1;
  let h = nameHash(len, b[start] as number, b[start + (len >> 1)] as number, b[end - 1] as number) & m;
  const flat = table.flat;
  const offsets = table.offsets;
  for (;;) {
    const id = (slots[h] as number) - 1;
    if (id < 0) return -1;
    const off = offsets[id] as number;
    if ((offsets[id + 1] as number) - off === len) {
      let i = 0;
      while (i < len && ((b[start + i] as number) | mask) === flat[off + i]) i++;
      if (i === len) return id;
    }
    h = (h + 1) & m;
  }
}
