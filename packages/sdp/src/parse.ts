// parseSdp and stringifySdp: the lossless typed model (types.ts) from text and back.
// One pass over the text; every search (line end, CR, ':') moves forward only, so the work is
// linear in the input whatever it holds.
import { SdpError } from './errors.js';
import { inputText, resolveLimits } from './input.js';
import { parseLine, writeLineOrRaw, writeMediaLineOrRaw } from './line.js';
import type { SdpLine, SdpParseOptions, SdpSession } from './types.js';

const CR = 0x0d;
const LF = 0x0a;
const LETTER_A = 0x61;

function lineNumberAt(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

function onlyLineEndings(text: string, from: number): boolean {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== CR && c !== LF) return false;
  }
  return true;
}

/**
 * Parses a session description (RFC 8866) into the lossless typed model: `stringifySdp` of the
 * result gives the input back for any description it accepts whose lines all end in CRLF (or
 * all in LF). Lines may end in CRLF or LF; trailing empty lines are ignored.
 * Throws only {@link SdpError}.
 */
export function parseSdp(input: string | Uint8Array, options?: SdpParseOptions): SdpSession {
  const limits = resolveLimits(options);
  const text = inputText(input, limits);
  const nul = text.indexOf('\0');
  if (nul >= 0) {
    const line = lineNumberAt(text, nul);
    throw new SdpError('ERR_LINE_SYNTAX', `line ${line}: NUL character`, { line });
  }
  const session: SdpSession = { lines: [], media: [], lineEnding: '\r\n' };
  let current: SdpLine[] = session.lines;
  const n = text.length;
  let pos = 0;
  let lineNo = 0;
  let nextCr = -1;
  let nextColon = -1;
  while (pos < n) {
    lineNo++;
    if (lineNo > limits.maxLines) {
      throw new SdpError('ERR_TOO_MANY_LINES', `more than maxLines ${limits.maxLines} lines`, { line: lineNo });
    }
    const lf = text.indexOf('\n', pos);
    let end = lf < 0 ? n : lf;
    const next = lf < 0 ? n : lf + 1;
    if (lf >= 0) {
      if (end > pos && text.charCodeAt(end - 1) === CR) end--;
      else if (lineNo === 1) session.lineEnding = '\n';
    }
    if (nextCr < pos && nextCr !== n) {
      nextCr = text.indexOf('\r', pos);
      if (nextCr < 0) nextCr = n;
    }
    if (nextCr < end) throw new SdpError('ERR_LINE_SYNTAX', `line ${lineNo}: bare CR`, { line: lineNo });
    if (end === pos) {
      if (onlyLineEndings(text, pos)) break;
      throw new SdpError('ERR_LINE_SYNTAX', `line ${lineNo}: empty line`, { line: lineNo });
    }
    let colon = -1;
    if (text.charCodeAt(pos) === LETTER_A) {
      if (nextColon < pos + 2 && nextColon !== n) {
        nextColon = text.indexOf(':', pos + 2);
        if (nextColon < 0) nextColon = n;
      }
      if (nextColon < end) colon = nextColon;
    }
    const parsed = parseLine(text, pos, end, lineNo, colon);
    if ('media' in parsed) {
      session.media.push(parsed);
      current = parsed.lines;
    } else {
      if (lineNo === 1 && parsed.type !== 'v') {
        throw new SdpError('ERR_STRUCTURE', 'line 1: a session description begins with v=', { line: 1 });
      }
      current.push(parsed);
    }
    pos = next;
  }
  if (session.lines.length === 0) {
    throw new SdpError('ERR_STRUCTURE', 'a session description begins with v=', { line: 1 });
  }
  return session;
}

/**
 * Writes a session description: each line in order, canonical form (or its unchanged `raw`),
 * ended by `session.lineEnding` (CRLF by default). Throws {@link SdpError} `ERR_INVALID_VALUE`
 * for a field that would not read back as the same value, `ERR_INVALID_ARGUMENT` for something
 * that is not a session.
 */
export function stringifySdp(session: SdpSession): string {
  if (typeof session !== 'object' || session === null || !Array.isArray(session.lines) || !Array.isArray(session.media)) {
    throw new SdpError('ERR_INVALID_ARGUMENT', 'stringifySdp needs a session { lines: [], media: [] }');
  }
  const eol = session.lineEnding === '\n' ? '\n' : '\r\n';
  let out = '';
  let lineNo = 0;
  const lines = session.lines;
  for (let i = 0; i < lines.length; i++) out += writeLineOrRaw(lines[i] as SdpLine, ++lineNo) + eol;
  const media = session.media;
  for (let i = 0; i < media.length; i++) {
    const m = media[i];
    if (typeof m !== 'object' || m === null || !Array.isArray(m.lines)) {
      throw new SdpError('ERR_INVALID_VALUE', `media section ${i} is not { media, port, proto, formats, lines }`, { line: lineNo + 1 });
    }
    out += writeMediaLineOrRaw(m, ++lineNo) + eol;
    const mLines = m.lines;
    for (let j = 0; j < mLines.length; j++) out += writeLineOrRaw(mLines[j] as SdpLine, ++lineNo) + eol;
  }
  return out;
}
