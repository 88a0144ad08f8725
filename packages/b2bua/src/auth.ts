// A-leg authentication with @sipts/digest: a ready-made `authenticate` hook that verifies the
// INVITE's credentials with a DigestServer (RFC 3261 §22, RFC 7616) and answers a challenge (401,
// or 407 for a B2BUA acting as a proxy towards its callers) or 403 when the limiter blocks.
import type { DigestServer } from '@sipts/digest';
import { makeResponse } from '@sipts/message';
import type { Remote, SipRequest, SipResponse } from '@sipts/message';
import type { AuthenticateHook } from './types.js';

export interface DigestAuthenticatorOptions {
  /** Challenge with 407 Proxy-Authenticate (the server must be made with `proxy: true`). Default 401. */
  proxy?: boolean | undefined;
}

/**
 * An `authenticate` hook on `server`: true for valid credentials; otherwise the challenge
 * (`stale=true` when the nonce only expired), 403 + Retry-After for a blocked user or source, 500
 * when the account lookup or a store fails.
 */
export function digestAuthenticator(server: DigestServer, options: DigestAuthenticatorOptions = {}): AuthenticateHook {
  const status = options.proxy === true ? 407 : 401;
  return async (request: SipRequest, remote: Remote): Promise<true | SipResponse> => {
    let result: Awaited<ReturnType<DigestServer['verify']>>;
    try {
      result = await server.verify(request, { source: `${remote.protocol.toLowerCase()}:${remote.address}` });
    } catch {
      return makeResponse(request, 500);
    }
    if (result.ok) return true;
    if (result.reason === 'blocked') {
      return makeResponse(request, 403, undefined, result.retryAfter === undefined ? undefined : { headers: { 'retry-after': String(result.retryAfter) } });
    }
    return server.challenge(makeResponse(request, status), result);
  };
}
