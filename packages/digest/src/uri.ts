// The digest-uri of a request: the Request-URI exactly as it goes on the wire (RFC 3261 §22.4).
import type { SipUri } from '@sipts/message';
import { stringifyUri } from '@sipts/message';

export function requestUriText(uri: string | SipUri): string {
  return typeof uri === 'string' ? uri : stringifyUri(uri);
}
