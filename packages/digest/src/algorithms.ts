// Digest algorithms: RFC 2617 (MD5, MD5-sess), RFC 7616 §3.2 and RFC 8760 §2 (SHA-256,
// SHA-512-256 and their -sess variants).
import { createHash } from 'node:crypto';
import { DigestError } from './errors.js';

/** The algorithm names as they appear on the wire, strongest first. */
export const DIGEST_ALGORITHMS = [
  'SHA-512-256',
  'SHA-512-256-sess',
  'SHA-256',
  'SHA-256-sess',
  'MD5',
  'MD5-sess',
] as const;

/** An algorithm token of RFC 7616 §3.3 / RFC 8760 §2.3. */
export type DigestAlgorithm = (typeof DIGEST_ALGORITHMS)[number];

/** The hash an algorithm is built on; a precomputed `hash` (H(user:realm:password)) is per base. */
export type DigestHashAlgorithm = 'MD5' | 'SHA-256' | 'SHA-512-256';

export interface AlgorithmInfo {
  readonly name: DigestAlgorithm;
  readonly base: DigestHashAlgorithm;
  /** Node's crypto name. */
  readonly nodeHash: string;
  /** `-sess`: H(A1) = H(H(user:realm:password):nonce:cnonce) (RFC 7616 §3.4.2). */
  readonly sess: boolean;
  /** Higher is stronger; equal strength keeps the peer's order. */
  readonly strength: number;
  /** Length of a hex digest: a response of another length fails before any comparison. */
  readonly hexLength: number;
}

const NODE_HASH: Record<DigestHashAlgorithm, { nodeHash: string; strength: number; hexLength: number }> = {
  MD5: { nodeHash: 'md5', strength: 1, hexLength: 32 },
  'SHA-256': { nodeHash: 'sha256', strength: 2, hexLength: 64 },
  'SHA-512-256': { nodeHash: 'sha512-256', strength: 3, hexLength: 64 },
};

const BY_LOWER_NAME = new Map<string, AlgorithmInfo>();
for (const name of DIGEST_ALGORITHMS) {
  const sess = name.endsWith('-sess');
  const base = (sess ? name.slice(0, -5) : name) as DigestHashAlgorithm;
  BY_LOWER_NAME.set(name.toLowerCase(), { name, base, sess, ...NODE_HASH[base] });
}

/** RFC 2617 §3.2.1: an absent algorithm means MD5. */
export const DEFAULT_ALGORITHM: AlgorithmInfo = BY_LOWER_NAME.get('md5') as AlgorithmInfo;

/** Case-insensitive lookup (RFC 7616 §3.3: algorithm tokens are case-insensitive). */
export function findAlgorithm(name: string): AlgorithmInfo | undefined {
  return name.length <= 20 ? BY_LOWER_NAME.get(name.toLowerCase()) : undefined;
}

/** Like {@link findAlgorithm}, for names a programmer wrote: unknown names throw. */
export function requireAlgorithm(name: string | undefined): AlgorithmInfo {
  if (name === undefined || name === '') return DEFAULT_ALGORITHM;
  const info = findAlgorithm(name.trim());
  if (info === undefined) {
    throw new DigestError('ERR_UNSUPPORTED_ALGORITHM', `unsupported digest algorithm '${name}'`);
  }
  return info;
}

/**
 * A comma-separated list of algorithm names (session configuration), de-duplicated and sorted
 * strongest first; names of equal strength keep their order.
 */
export function parseAlgorithmList(list: string | undefined, fallback: readonly AlgorithmInfo[]): AlgorithmInfo[] {
  if (list === undefined || list === '') return fallback.slice();
  const out: AlgorithmInfo[] = [];
  for (const part of list.split(',')) {
    const name = part.trim();
    if (name === '') continue;
    const info = requireAlgorithm(name);
    if (!out.includes(info)) out.push(info);
  }
  if (out.length === 0) return fallback.slice();
  // Array.prototype.sort is stable (ES2019), so equal strengths keep the caller's order.
  return out.sort((a, b) => b.strength - a.strength);
}

/** Every algorithm, strongest first. */
export const ALL_ALGORITHMS: readonly AlgorithmInfo[] = DIGEST_ALGORITHMS.map(
  (name) => BY_LOWER_NAME.get(name.toLowerCase()) as AlgorithmInfo,
);

/** Hex digest of UTF-8 text or exact bytes. */
export function hashHex(nodeHash: string, data: string | Uint8Array): string {
  return createHash(nodeHash).update(data).digest('hex');
}
