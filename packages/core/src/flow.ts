// Flow tokens (the basis of RFC 5626 outbound): a URI user part that names the exact connection
// a request arrived on, so a later request can be routed back over it. The token carries the
// flow in clear and an HMAC-SHA256 over it, so only this stack (or a cluster sharing the secret)
// can mint one, and a forged or altered token is simply not a flow.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Remote } from '@sipts/message';

/** A flow: the remote end and, for connections, the local end it is bound to. */
export interface Flow {
  protocol: string;
  address: string;
  port: number;
  local: { address: string; port: number };
}

const macBytes = 16; // HMAC-SHA256 truncated to 128 bits: ample against forgery, short in a URI.
const maxTokenLength = 512;

export class FlowTokenCodec {
  readonly #secret: Buffer;

  /** `secret`: share it across instances of a cluster; default 32 random bytes per process. */
  constructor(secret?: string | Uint8Array) {
    if (secret === undefined) this.#secret = randomBytes(32);
    else this.#secret = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
  }

  encode(flow: Remote): string {
    const local = flow.local ?? { address: '', port: 0 };
    const text = [flow.protocol.toUpperCase(), flow.address, flow.port, local.address, local.port].join(',');
    const payload = Buffer.from(text, 'utf8');
    return this.#mac(payload).toString('base64url') + '.' + payload.toString('base64url');
  }

  /** The flow a token names, or undefined when the token is malformed or not ours. */
  decode(token: string | undefined): Flow | undefined {
    if (typeof token !== 'string' || token.length > maxTokenLength) return undefined;
    const dot = token.indexOf('.');
    if (dot <= 0) return undefined;
    const mac = Buffer.from(token.slice(0, dot), 'base64url');
    const payload = Buffer.from(token.slice(dot + 1), 'base64url');
    if (mac.length !== macBytes || payload.length === 0) return undefined;
    if (!timingSafeEqual(mac, this.#mac(payload))) return undefined;
    const parts = payload.toString('utf8').split(',');
    if (parts.length !== 5) return undefined;
    const [protocol, address, port, localAddress, localPort] = parts as [string, string, string, string, string];
    return {
      protocol,
      address,
      port: Number(port),
      local: { address: localAddress, port: Number(localPort) },
    };
  }

  /**
   * A short keyed MAC of `text` (base64url, 16 characters): how the stack recognises values it
   * made itself, such as the branch of a statelessly forwarded request.
   */
  sign(text: string): string {
    return createHmac('sha256', this.#secret).update(text).digest().subarray(0, 12).toString('base64url');
  }

  #mac(payload: Buffer): Buffer {
    return createHmac('sha256', this.#secret).update(payload).digest().subarray(0, macBytes);
  }
}
