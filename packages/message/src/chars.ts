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

/** Inside "<" ... ">": 1 ends the URI (">", SP, HT, CR), 2 is never allowed (CTLs, DEL, "<", DQUOTE). */
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
  return t;
})();
