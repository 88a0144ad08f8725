// StreamFramer: whole messages out of a TCP/TLS byte stream (RFC 3261 §18.3).
// A flat loop over three states; each step returns when it needs more bytes and resumes on
// the next push(). Limits are checked before buffering. A unit (header section or body) that
// arrives whole in one chunk is handed on as a view of it; the bytes of a unit still
// incomplete when a chunk ends are copied into one growable buffer, so a peer sending one byte
// per TCP segment costs one buffer, not one Buffer object per segment, and no chunk is kept
// after push() returns. `heldBytes` is the memory that buffer really holds.
import { Buffer } from 'node:buffer';
import { SipParseError } from './errors.js';
import { asBuffer, contentLimit, headContentLength, headerLimit, parseHeadBytes } from './parse.js';
import type { ParseOptions } from './parse.js';
import type { SipMessage } from './types.js';

export interface StreamFramerOptions extends ParseOptions {
  /**
   * A whole, syntactically valid message. `head` is its header section (start line to the
   * empty line), for a 400 built with `rejectBytes` if the message fails validation; it is
   * valid only during the call.
   */
  onMessage(message: SipMessage, head: Uint8Array): void;
  /**
   * A message whose headers are malformed but whose length could be read: it was skipped and
   * the stream goes on (unless the callback calls `stop()`). `head` as for `onMessage`.
   * Without this callback such messages are dropped silently.
   */
  onInvalid?: ((error: SipParseError, head: Uint8Array) => void) | undefined;
  /**
   * The stream cannot be framed any more (too large, no or bad Content-Length, garbage):
   * called once, after which push() ignores its input. Close the connection. `head` holds the
   * header section, or as much of it as was received (up to `maxHeaderBytes`), when there is
   * one; valid only during the call.
   */
  onError(error: SipParseError, head: Uint8Array | undefined): void;
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
/** The smallest holding buffer: a few header lines, so a trickle does not regrow it per byte. */
const MIN_CAPACITY = 256;

/** What a framer is waiting for: between messages, the rest of a header section or body, nothing (stopped). */
export type StreamFramerPhase = 'idle' | 'header' | 'body' | 'stopped';
const PHASES: readonly StreamFramerPhase[] = ['idle', 'header', 'body', 'stopped'];
const HEADER_END = Buffer.from('\r\n\r\n', 'latin1');

/** A copy in its own (non-pooled) memory, so that what it costs is what it holds. */
function copyOf(bytes: Buffer): Buffer {
  const copy = Buffer.allocUnsafeSlow(bytes.length);
  bytes.copy(copy);
  return copy;
}

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
  #onMessage: (message: SipMessage, head: Uint8Array) => void;
  #onInvalid: ((error: SipParseError, head: Uint8Array) => void) | undefined;
  #onError: (error: SipParseError, head: Uint8Array | undefined) => void;
  #onKeepAlive: (() => void) | undefined;

  #state = SKIP;
  /**
   * Bytes of the current unit (header section or body) received in earlier chunks, copied
   * (never a view of a chunk); `#held` of its `length` are in use. Released when the unit ends.
   */
  #buf: Buffer | undefined;
  #held = 0;
  /** Incremented whenever a header section or body starts or a message ends (see `progress`). */
  #progress = 0;
  /** How much of CRLFCRLF ends the held bytes (HEAD), or of a keep-alive ping (SKIP). */
  #match = 0;
  #message: SipMessage | undefined;
  #skipError: SipParseError | undefined;
  #need = 0;
  /** Bytes consumed so far, for error offsets. */
  #consumed = 0;
  /** A finished message (or skipped one) waiting for push() to hand it on, and its header section. */
  #ready: SipMessage | undefined;
  #readyInvalid: SipParseError | undefined;
  #readyHead: Uint8Array = EMPTY;
  /**
   * The header section of the message whose body is awaited. A view of the chunk while that
   * chunk is being pushed; copied into its own memory (`#sectionOwned`) if push() returns before the
   * body is complete, so no chunk outlives push().
   */
  #section: Buffer = EMPTY;
  #sectionOwned = false;
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

  /** Bytes received and kept while waiting for the rest of a message. */
  get bufferedBytes(): number {
    return this.#held + (this.#backlog?.length ?? 0);
  }

  /**
   * Memory this framer holds, in bytes: the allocated size of its holding buffer (at most twice
   * the bytes in it, and never more than `maxHeaderBytes` for a header section or the
   * Content-Length for a body) plus any backlog. What a transport counts against a budget.
   */
  get heldBytes(): number {
    return (this.#buf?.length ?? 0) + (this.#backlog?.length ?? 0) + (this.#sectionOwned ? this.#section.buffer.byteLength : 0);
  }

  /** What the framer waits for now. */
  get phase(): StreamFramerPhase {
    return PHASES[this.#state] as StreamFramerPhase;
  }

  /**
   * A counter that changes whenever a header section or body starts or a message ends: if it
   * differs after a push(), the current phase started during that push (a transport restarts
   * its header/body deadline then, and never for bytes that only extend the same unit).
   */
  get progress(): number {
    return this.#progress;
  }

  /** Stop framing now: held bytes are released and push() ignores its input. onError is not called. */
  stop(): void {
    this.#state = STOPPED;
    this.#buf = undefined;
    this.#held = 0;
    this.#backlog = undefined;
    this.#message = undefined;
    this.#section = EMPTY;
    this.#sectionOwned = false;
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
          this.#progress++;
          this.#match = 0;
        }
        if (this.#state === HEAD) i = this.#head(buf, i);
        else if (this.#state === BODY) i = this.#body(buf, i);
        if (this.#ready !== undefined || this.#readyInvalid !== undefined) this.#deliver();
      }
    } catch (e) {
      // A callback threw: keep the bytes not consumed yet, so the next push() resumes
      // exactly where this one stopped instead of losing the framing.
      if (i < len && this.#state !== STOPPED) this.#backlog = copyOf(buf.subarray(i));
      throw e;
    } finally {
      this.#readyHead = EMPTY;
      if (this.#state === BODY && !this.#sectionOwned) {
        this.#section = copyOf(this.#section);
        this.#sectionOwned = true;
      }
    }
  }

  #deliver(): void {
    const message = this.#ready;
    const invalid = this.#readyInvalid;
    const head = this.#readyHead;
    this.#ready = undefined;
    this.#readyInvalid = undefined;
    this.#readyHead = EMPTY;
    if (message !== undefined) this.#onMessage(message, head);
    else if (invalid !== undefined) this.#onInvalid?.(invalid, head);
  }

  #stop(error: SipParseError, head: Uint8Array | undefined): void {
    this.stop();
    this.#onError(error, head);
  }

  /**
   * Copies buf[from, to) after the held bytes, growing the holding buffer to at least twice
   * its size (at most `limit`): a trickle of tiny chunks costs O(log n) allocations and holds
   * at most twice what it sent. Non-pooled memory, so a small buffer pins no 8 KiB pool slab.
   */
  #hold(buf: Buffer, from: number, to: number, limit: number): void {
    const need = this.#held + (to - from);
    let held = this.#buf;
    if (held === undefined || need > held.length) {
      const grown = Buffer.allocUnsafeSlow(Math.min(limit, Math.max(need, 2 * (held?.length ?? 0), MIN_CAPACITY)));
      if (held !== undefined && this.#held > 0) held.copy(grown, 0, 0, this.#held);
      this.#buf = held = grown;
    }
    buf.copy(held, this.#held, from, to);
    this.#held = need;
  }

  /** The held bytes as one view, and the holding buffer released (the view stays valid). */
  #release(): Buffer {
    const held = this.#buf === undefined ? EMPTY : this.#buf.subarray(0, this.#held);
    this.#buf = undefined;
    this.#held = 0;
    return held;
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
        // The start of the section (start line, Via...) for a 400: the held bytes, else this chunk's.
        const head = this.#held > 0 ? this.#release() : buf.subarray(i, i + this.maxHeaderBytes);
        this.#stop(new SipParseError('ERR_TOO_LARGE', `header section larger than ${this.maxHeaderBytes} bytes`, this.#consumed + this.maxHeaderBytes), head);
        return len;
      }
      k = len - i >= 3 ? 0 : this.#match;
      for (let t = Math.max(i, len - 3); t < len; t++) {
        const c = buf[t] as number;
        if (c === (k & 1 ? LF : CR)) k++;
        else k = c === CR ? 1 : 0;
      }
      this.#match = k;
      this.#hold(buf, i, len, this.maxHeaderBytes);
      return len;
    }
    const headBytes = this.#held + (end - i);
    let head: Buffer;
    // Owned: the released holding buffer, not a view of the chunk.
    this.#sectionOwned = this.#held > 0;
    if (this.#held === 0) head = buf.subarray(i, end);
    else if (headBytes > this.maxHeaderBytes) head = this.#release();
    else {
      this.#hold(buf, i, end, this.maxHeaderBytes);
      head = this.#release();
    }
    if (headBytes > this.maxHeaderBytes) {
      this.#stop(new SipParseError('ERR_TOO_LARGE', `header section larger than ${this.maxHeaderBytes} bytes`, this.#consumed + this.maxHeaderBytes), head);
      return len;
    }
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
        this.#stop(new SipParseError('ERR_CONTENT_LENGTH', 'no Content-Length on a stream', start, 'content-length'), head);
        return len;
      }
      this.#skipError = undefined;
    } catch (e) {
      const error = e instanceof SipParseError ? e : new SipParseError('ERR_HEADER_SYNTAX', String(e), start);
      cl = error.code === 'ERR_CONTENT_LENGTH' ? -1 : recoverContentLength(head.toString('utf8', 0, head.length - 2));
      if (cl < 0) {
        this.#stop(error, head);
        return len;
      }
      message = undefined;
      this.#skipError = error;
    }
    if (cl > this.maxContentLength) {
      this.#stop(new SipParseError('ERR_TOO_LARGE', `body larger than ${this.maxContentLength} bytes`, this.#consumed, 'content-length'), head);
      return len;
    }
    this.#message = message;
    this.#section = head;
    this.#need = cl;
    this.#state = BODY;
    this.#progress++;
    if (cl === 0) this.#finish(EMPTY);
    return end;
  }

  #body(buf: Buffer, i: number): number {
    const len = buf.length;
    const want = this.#need - this.#held;
    if (len - i < want) {
      // The body's size is known, so the holding buffer never grows past it.
      this.#hold(buf, i, len, this.#need);
      return len;
    }
    let body: Buffer;
    if (this.#held === 0) body = buf.subarray(i, i + want);
    else {
      this.#hold(buf, i, i + want, this.#need);
      body = this.#release();
    }
    this.#finish(body);
    return i + want;
  }

  #finish(body: Buffer): void {
    const message = this.#message;
    const skipError = this.#skipError;
    this.#consumed += body.length;
    this.#buf = undefined;
    this.#held = 0;
    this.#message = undefined;
    this.#skipError = undefined;
    this.#state = SKIP;
    this.#progress++;
    this.#match = 0;
    // delivered by push() once its position is up to date (see #deliver)
    this.#readyHead = this.#section;
    this.#section = EMPTY;
    this.#sectionOwned = false;
    if (message !== undefined) {
      message.content = body.length === 0 ? '' : body.toString('utf8');
      this.#ready = message;
    } else if (skipError !== undefined) {
      this.#readyInvalid = skipError;
    }
  }
}
