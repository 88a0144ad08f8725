// The module-level API of `sip@0.0.6`: `start` makes one default stack and `send`, `stop`,
// `encodeFlowUri`, `decodeFlowUri`, `isFlowUri` and `hostname` act on it; plus the helpers
// whose behaviour differs from the @sipts/message originals (`parse`, `makeStreamParser`).
import { Buffer } from 'node:buffer';
import { StreamFramer, isSipParseError, parse as parseMessage } from '@sipts/message';
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
 */
export function parse(input: Uint8Array | string): SipMessage | undefined {
  try {
    return parseMessage(input);
  } catch (e) {
    if (isSipParseError(e)) return undefined;
    throw e;
  }
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
    maxHeaderBytes: maxBytesHeaders || 60480,
    maxContentLength: maxContentLength || 604800,
  };
  let framer: StreamFramer;
  const fresh = (): StreamFramer =>
    new StreamFramer({
      ...options,
      onMessage,
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
