// StreamFramer: whole messages out of a TCP/TLS byte stream (RFC 3261 §18.3).
// A flat loop over three states; each step returns when it needs more bytes and resumes on
// the next push(). Limits are checked before buffering; bytes are handed on as views and
// copied only when a header section or body spans several chunks.
import { Buffer } from 'node:buffer';
import { SipParseError } from './errors.js';
import { asBuffer, contentLimit, headContentLength, headerLimit, parseHeadBytes } from './parse.js';
import type { ParseOptions } from './parse.js';
import type { SipMessage } from './types.js';

export interface StreamFramerOptions extends ParseOptions {
  /** A whole, syntactically valid message. */
  onMessage(message: SipMessage): void;
  /**
   * A message whose headers are malformed but whose length could be read: it was skipped and
   * the stream goes on. Without this callback such messages are dropped silently.
   */
  onInvalid?: ((error: SipParseError) => void) | undefined;
  /**
   * The stream cannot be framed any more (too large, no or bad Content-Length, garbage):
   * called once, after which push() ignores its input. Close the connection.
   */
  onError(error: SipParseError): void;
  /** A CRLFCRLF keep-alive ping arrived (RFC 5626 §4.4.1): answer with a CRLF pong. */
  onKeepAlive?: (() => void) | undefined;
}

const CR = 13;
const LF = 10;
const SKIP = 0;
const HEAD = 1;
const BODY = 2;
const STOPPED = 3;

const EMPTY = Buffer.alloc(0);
const HEADER_END = Buffer.from('\r\n\r\n', 'latin1');

/** Tolerant scan for a single Content-Length in a header section that failed to parse. */
function recoverContentLength(head: string): number {
  let found = -1;
  const lines = head.split('\r\n');
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (name !== 'content-length' && name !== 'l') continue;
    const value = line.slice(colon + 1).trim();
    if (value.length === 0 || value.length > 15) return -1;
    let n = 0;
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      if (c < 48 || c > 57) return -1;
      n = n * 10 + (c - 48);
    }
    if (found >= 0 && found !== n) return -1;
    found = n;
  }
  return found;
}

export class StreamFramer {
  readonly maxHeaderBytes: number;
  readonly maxContentLength: number;
  #onMessage: (message: SipMessage) => void;
  #onInvalid: ((error: SipParseError) => void) | undefined;
  #onError: (error: SipParseError) => void;
  #onKeepAlive: (() => void) | undefined;

  #state = SKIP;
  /** Bytes of the current unit (header section or body) held from earlier chunks. */
  #parts: Buffer[] = [];
  #held = 0;
  /** How much of CRLFCRLF ends the held bytes (HEAD), or of a keep-alive ping (SKIP). */
  #match = 0;
  #message: SipMessage | undefined;
  #skipError: SipParseError | undefined;
  #need = 0;
  /** Bytes consumed so far, for error offsets. */
  #consumed = 0;
  /** A finished message (or skipped one) waiting for push() to hand it on. */
  #ready: SipMessage | undefined;
  #readyInvalid: SipParseError | undefined;
  /** Unconsumed bytes kept when a callback threw. */
  #backlog: Buffer | undefined;

  constructor(options: StreamFramerOptions) {
    this.maxHeaderBytes = headerLimit(options);
    this.maxContentLength = contentLimit(options);
    this.#onMessage = options.onMessage;
    this.#onInvalid = options.onInvalid;
    this.#onError = options.onError;
    this.#onKeepAlive = options.onKeepAlive;
  }

  /** True once a framing error has been reported. */
  get stopped(): boolean {
    return this.#state === STOPPED;
  }

  /** Bytes held while waiting for the rest of a message. */
  get bufferedBytes(): number {
    return this.#held + (this.#backlog?.length ?? 0);
  }

  push(chunk: Uint8Array): void {
    if (this.#state === STOPPED) return;
    let buf = asBuffer(chunk);
    if (this.#backlog !== undefined) {
      buf = Buffer.concat([this.#backlog, buf]);
      this.#backlog = undefined;
    }
    const len = buf.length;
    let i = 0;
    try {
      while (i < len && this.#state !== STOPPED) {
        if (this.#state === SKIP) {
          // RFC 3261 §7.5 / RFC 5626 §4.4.1: CRLFs between messages are keep-alives.
          const skipStart = i;
          let ping = false;
          while (i < len) {
            const c = buf[i] as number;
            if (c === CR) this.#match = this.#match === 2 ? 3 : 1;
            else if (c === LF) {
              if (this.#match === 3) {
                this.#match = 0;
                ping = true;
              } else this.#match = this.#match === 1 ? 2 : 0;
            } else break;
            i++;
            if (ping) break;
          }
          this.#consumed += i - skipStart;
          if (ping) {
            this.#onKeepAlive?.();
            continue;
          }
          if (i === len) return;
          this.#state = HEAD;
          this.#match = 0;
        }
        if (this.#state === HEAD) i = this.#head(buf, i);
        else if (this.#state === BODY) i = this.#body(buf, i);
        if (this.#ready !== undefined || this.#readyInvalid !== undefined) this.#deliver();
      }
    } catch (e) {
      // A callback threw: keep the bytes not consumed yet, so the next push() resumes
      // exactly where this one stopped instead of losing the framing.
      if (i < len && this.#state !== STOPPED) this.#backlog = Buffer.from(buf.subarray(i));
      throw e;
    }
  }

  #deliver(): void {
    const message = this.#ready;
    const invalid = this.#readyInvalid;
    this.#ready = undefined;
    this.#readyInvalid = undefined;
    if (message !== undefined) this.#onMessage(message);
    else if (invalid !== undefined) this.#onInvalid?.(invalid);
  }

  #stop(error: SipParseError): void {
    this.#state = STOPPED;
    this.#parts = [];
    this.#held = 0;
    this.#message = undefined;
    this.#onError(error);
  }

  /** Looks for the end of the header section from buf[i]; returns the index reached. */
  #head(buf: Buffer, i: number): number {
    const len = buf.length;
    let end = -1; // index in buf just past CRLFCRLF
    let k = this.#match;
    let j = i;
    // Finish a CRLFCRLF split across chunks, byte by byte (at most 3 bytes).
    if (k > 0) {
      const stop = Math.min(len, i + 3);
      while (j < stop) {
        const c = buf[j] as number;
        if (c === (k & 1 ? LF : CR)) k++;
        else k = c === CR ? 1 : 0;
        j++;
        if (k === 4) {
          end = j;
          break;
        }
        if (k === 0) break;
      }
    }
    if (end < 0) {
      // Search no further than the header section may reach, so a flood costs O(limit).
      const limit = i + this.maxHeaderBytes - this.#held;
      const at = (len <= limit ? buf : buf.subarray(0, Math.max(i, limit))).indexOf(HEADER_END, i);
      if (at >= 0) end = at + 4;
    }
    if (end < 0) {
      // Not yet: keep the bytes, remember how much of CRLFCRLF they end with.
      const total = this.#held + (len - i);
      if (total > this.maxHeaderBytes) {
        this.#stop(new SipParseError('ERR_TOO_LARGE', `header section larger than ${this.maxHeaderBytes} bytes`, this.#consumed + this.maxHeaderBytes));
        return len;
      }
      k = len - i >= 3 ? 0 : this.#match;
      for (let t = Math.max(i, len - 3); t < len; t++) {
        const c = buf[t] as number;
        if (c === (k & 1 ? LF : CR)) k++;
        else k = c === CR ? 1 : 0;
      }
      this.#match = k;
      this.#parts.push(buf.subarray(i, len));
      this.#held = total;
      return len;
    }
    const headBytes = this.#held + (end - i);
    if (headBytes > this.maxHeaderBytes) {
      this.#stop(new SipParseError('ERR_TOO_LARGE', `header section larger than ${this.maxHeaderBytes} bytes`, this.#consumed + this.maxHeaderBytes));
      return len;
    }
    let head: Buffer;
    if (this.#parts.length === 0) head = buf.subarray(i, end);
    else {
      this.#parts.push(buf.subarray(i, end));
      head = Buffer.concat(this.#parts, headBytes);
    }
    this.#parts = [];
    this.#held = 0;
    this.#match = 0;
    const start = this.#consumed;
    this.#consumed += headBytes;
    let message: SipMessage | undefined;
    let cl: number;
    try {
      message = parseHeadBytes(head, 0, head.length - 2, start);
      cl = headContentLength;
      if (cl < 0) {
        // RFC 3261 §18.3: on a stream, Content-Length is mandatory.
        this.#stop(new SipParseError('ERR_CONTENT_LENGTH', 'no Content-Length on a stream', start, 'content-length'));
        return len;
      }
      this.#skipError = undefined;
    } catch (e) {
      const error = e instanceof SipParseError ? e : new SipParseError('ERR_HEADER_SYNTAX', String(e), start);
      cl = error.code === 'ERR_CONTENT_LENGTH' ? -1 : recoverContentLength(head.toString('utf8', 0, head.length - 2));
      if (cl < 0) {
        this.#stop(error);
        return len;
      }
      message = undefined;
      this.#skipError = error;
    }
    if (cl > this.maxContentLength) {
      this.#stop(new SipParseError('ERR_TOO_LARGE', `body larger than ${this.maxContentLength} bytes`, this.#consumed, 'content-length'));
      return len;
    }
    this.#message = message;
    this.#need = cl;
    this.#state = BODY;
    if (cl === 0) this.#finish(EMPTY);
    return end;
  }

  #body(buf: Buffer, i: number): number {
    const len = buf.length;
    const want = this.#need - this.#held;
    if (len - i < want) {
      this.#parts.push(buf.subarray(i, len));
      this.#held += len - i;
      return len;
    }
    let body: Buffer;
    if (this.#parts.length === 0) body = buf.subarray(i, i + want);
    else {
      this.#parts.push(buf.subarray(i, i + want));
      body = Buffer.concat(this.#parts, this.#need);
    }
    this.#finish(body);
    return i + want;
  }

  #finish(body: Buffer): void {
    const message = this.#message;
    const skipError = this.#skipError;
    this.#consumed += body.length;
    this.#parts = [];
    this.#held = 0;
    this.#message = undefined;
    this.#skipError = undefined;
    this.#state = SKIP;
    this.#match = 0;
    // delivered by push() once its position is up to date (see #deliver)
    if (message !== undefined) {
      message.content = body.length === 0 ? '' : body.toString('utf8');
      this.#ready = message;
    } else if (skipError !== undefined) {
      this.#readyInvalid = skipError;
    }
  }
}
