// RFC 5627 GRUUs. The public GRUU is the AOR with `gr=<instance URN>` (§3.1). A temporary GRUU
// must not reveal the AOR or the instance and must differ on every REGISTER (§3.2), yet stay
// valid until the instance registers with another Call-ID: it is the AOR, the instance and a
// hash of the Call-ID, sealed with AES-256-GCM under the registrar's secret and a fresh IV, so
// nothing is stored per temporary GRUU and every node sharing the secret can read it.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { SipUri } from '@sipts/message';

/** The user part prefix of our temporary GRUUs. */
export const TEMP_GRUU_PREFIX = 'tgruu.';
const maxTokenLength = 1024;

export interface TempGruuContent {
  aor: string;
  instance: string;
  /** 12 base64url characters of SHA-256(Call-ID): the registration the GRUU was issued for. */
  callIdTag: string;
}

/** The tag of a Call-ID a temporary GRUU carries. */
export function callIdTag(callId: string): string {
  return createHash('sha256').update(callId).digest().subarray(0, 9).toString('base64url');
}

/** `urn:uuid:...` of `<urn:uuid:...>`. */
export function instanceUrn(instance: string): string {
  return instance.slice(1, -1);
}

export class GruuCodec {
  readonly #key: Buffer;

  /** `secret`: share it across the nodes of a cluster; default 32 random bytes per process. */
  constructor(secret?: string | Uint8Array) {
    const material = secret === undefined ? randomBytes(32) : typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
    this.#key = createHash('sha256').update('sipts-registrar-gruu').update(material).digest();
  }

  /** §3.1: the AOR URI (scheme, user, host, port) with `gr=<urn>`. */
  publicGruu(aorUri: SipUri, instance: string): string {
    return `${aorUriText(aorUri)};gr=${instanceUrn(instance)}`;
  }

  /** §3.2: a new opaque temporary GRUU in the AOR's domain. */
  temporaryGruu(aorUri: SipUri, content: TempGruuContent): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const plain = Buffer.from(`${content.aor}\n${content.instance}\n${content.callIdTag}`, 'utf8');
    const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    const scheme = aorUri.schema.toLowerCase() === 'sips' ? 'sips' : 'sip';
    return `${scheme}:${TEMP_GRUU_PREFIX}${sealed.toString('base64url')}@${aorUri.host}${aorUri.port !== undefined ? `:${aorUri.port}` : ''};gr`;
  }

  /** The content of a temporary GRUU's user part, or undefined when it is not one of ours. */
  readTemporary(user: string | undefined): TempGruuContent | undefined {
    if (typeof user !== 'string' || !user.startsWith(TEMP_GRUU_PREFIX) || user.length > maxTokenLength) return undefined;
    const sealed = Buffer.from(user.slice(TEMP_GRUU_PREFIX.length), 'base64url');
    if (sealed.length < 12 + 16 + 5) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, sealed.subarray(0, 12));
      decipher.setAuthTag(sealed.subarray(sealed.length - 16));
      const plain = Buffer.concat([decipher.update(sealed.subarray(12, sealed.length - 16)), decipher.final()]).toString('utf8');
      const [aor, instance, tag] = plain.split('\n');
      if (aor === undefined || instance === undefined || tag === undefined) return undefined;
      return { aor, instance, callIdTag: tag };
    } catch {
      return undefined; // forged, altered or sealed under another secret
    }
  }
}

/** `sip:user@host[:port]` of a URI, without parameters. */
export function aorUriText(uri: SipUri): string {
  const scheme = uri.schema.toLowerCase() === 'sips' ? 'sips' : 'sip';
  return `${scheme}:${uri.user !== undefined ? `${uri.user}@` : ''}${uri.host}${uri.port !== undefined ? `:${uri.port}` : ''}`;
}
