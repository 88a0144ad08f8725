// The module-level API of `sip@0.0.6`: `start` makes one default stack and `send`, `stop`,
// `encodeFlowUri`, `decodeFlowUri`, `isFlowUri` and `hostname` act on it; plus the helpers
// whose behaviour differs from the @sipts/message originals (`parse`, `makeStreamParser`).
import { Buffer } from 'node:buffer';
import { DEFAULT_MESSAGE_LIMITS, StreamFramer, isSipParseError, parse as parseMessage } from '@sipts/message';
import type { Remote, SipMessage, SipUri } from '@sipts/message';
import { SipCoreError } from './errors.js';
import type { Flow } from './flow.js';
import type { StackOptions } from './options.js';
import { create, type RequestHandler, type ResponseCallback, type SipStack } from './stack.js';

let current: SipStack | undefined;

function started(name: string): SipStack {
  if (current === undefined) throw new SipCoreError('ERR_NOT_STARTED', `${name}() called before start()`);
  return current;
}

/** `sip.start`: creates the default stack (a running one is destroyed first) and returns it. */
export function start(options: StackOptions, onRequest: RequestHandler): SipStack {
  if (current !== undefined) current.destroy();
  current = create(options, onRequest);
  return current;
}

/** `sip.stop`: destroys the default stack. Resolves when its sockets are closed. */
export function stop(): Promise<void> {
  const stack = current;
  current = undefined;
  return stack === undefined ? Promise.resolve() : stack.close();
}

/** `sip.send` on the default stack. */
export function send(message: SipMessage, callback?: ResponseCallback): void {
  started('send').send(message, callback);
}

export function encodeFlowUri(flow: Remote): SipUri {
  return started('encodeFlowUri').encodeFlowUri(flow);
}

export function decodeFlowUri(uri: string | SipUri | undefined): Flow | undefined {
  return started('decodeFlowUri').decodeFlowUri(uri);
}

export function isFlowUri(uri: string | SipUri | undefined): boolean {
  return started('isFlowUri').isFlowUri(uri);
}

export function hostname(): string {
  return started('hostname').hostname();
}

/** The default stack `start` made, if any. */
export function defaultStack(): SipStack | undefined {
  return current;
}

/**
 * `sip.parse`: a message, or undefined when the input is not a valid SIP message (sip returns
 * undefined; @sipts/message's `parse` throws a `SipParseError` with a code instead).
 * As in sip, a Content-Length larger than the bytes present is not an error here: the message
 * comes back with the body that is there (the header keeps the declared value). @sipts/message
 * and the transports keep the strict RFC 3261 §18.3 behaviour.
 */
export function parse(input: Uint8Array | string): SipMessage | undefined {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  try {
    return parseMessage(bytes);
  } catch (e) {
    if (!isSipParseError(e)) throw e;
    if (e.code !== 'ERR_CONTENT_LENGTH' || e.offset !== bytes.length) return undefined;
    return parseShortBody(bytes);
  }
}

const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');

/**
 * The message of `bytes` whose body is shorter than its Content-Length: parsed as if the
 * missing bytes were there (at most maxContentLength of them, which the parse already checked),
 * then given the body actually present, as sip's parseMessage does.
 */
function parseShortBody(bytes: Uint8Array): SipMessage | undefined {
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = buffer.indexOf(CRLFCRLF);
  if (end < 0) return undefined;
  const bodyStart = end + 4;
  const declared = declaredContentLength(buffer.toString('latin1', 0, end));
  const present = buffer.length - bodyStart;
  if (declared === undefined || declared <= present) return undefined;
  try {
    const message = parseMessage(Buffer.concat([buffer, Buffer.alloc(declared - present)]));
    message.content = buffer.toString('utf8', bodyStart);
    return message;
  } catch (e) {
    if (isSipParseError(e)) return undefined;
    throw e;
  }
}

/** The value of the (last) Content-Length / `l` header of a header section, by plain line scan. */
function declaredContentLength(head: string): number | undefined {
  let value: number | undefined;
  for (const line of head.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (name !== 'content-length' && name !== 'l') continue;
    const text = line.slice(colon + 1).trim();
    if (text.length === 0 || text.length > 10 || !/^[0-9]+$/.test(text)) return undefined;
    value = Number(text);
  }
  return value;
}

/**
 * `sip.makeStreamParser(onMessage, onFlood, maxBytesHeaders, maxContentLength)`: a function to
 * feed stream data to. Built on StreamFramer: limits are checked before buffering, a message
 * split anywhere is reassembled. `onFlood` is called when a limit is exceeded or the stream
 * cannot be framed; like sip's parser, the returned function then starts afresh.
 * Strings are taken as sip's `binary` (latin1) stream text unless they hold characters above
 * U+00FF, which only a UTF-8 decoded string can.
 */
export function makeStreamParser(
  onMessage: (message: SipMessage) => void,
  onFlood?: () => void,
  maxBytesHeaders?: number,
  maxContentLength?: number,
): (data: string | Uint8Array) => void {
  const options = {
    maxHeaderBytes: maxBytesHeaders || DEFAULT_MESSAGE_LIMITS.maxHeaderBytes,
    maxContentLength: maxContentLength || DEFAULT_MESSAGE_LIMITS.maxContentLength,
  };
  let framer: StreamFramer;
  const fresh = (): StreamFramer =>
    new StreamFramer({
      ...options,
      // sip's callback takes the message only (the framer also offers the header bytes).
      onMessage: (message) => onMessage(message),
      onError: () => {
        framer = fresh();
        if (onFlood) onFlood();
      },
    });
  framer = fresh();
  return (data) => {
    if (typeof data === 'string') {
      let wide = false;
      for (let i = 0; i < data.length; i++) {
        if (data.charCodeAt(i) > 0xff) {
          wide = true;
          break;
        }
      }
      framer.push(Buffer.from(data, wide ? 'utf8' : 'latin1'));
    } else framer.push(data);
  };
}
