// RTP payload formats: a=rtpmap and a=fmtp (RFC 8866 §6.6, §6.15), the static payload types of
// RFC 3551 §6, the codecs a media section offers, and when two descriptions are the same codec
// for offer/answer (RFC 3264 §6.1). Readers return undefined for malformed values.
import { decimal, splitBlank } from './attributes.js';
import type { SdpMedia } from './types.js';

/** `a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>]`. */
export interface SdpRtpmap {
  payloadType: number;
  encodingName: string;
  clockRate: number;
  /** For audio, the number of channels. */
  encodingParameters?: number | undefined;
}

/** `a=fmtp:<format> <format specific parameters>`. */
export interface SdpFmtp {
  format: string;
  parameters: string;
}

/** One codec of a media section, resolved from its format, a=rtpmap (or the static table) and a=fmtp. */
export interface SdpCodec {
  payloadType: number;
  name: string;
  clockRate: number;
  /** Audio channels (rtpmap encoding parameters), 1 when not written. */
  channels: number;
  /** The a=fmtp parameters for this payload type, when there is one. */
  fmtp?: string | undefined;
}

/** A codec the application can send and receive, for createOffer / createAnswer. */
export interface LocalCodec {
  /** Encoding name as in a=rtpmap (`PCMU`, `opus`, `telephone-event`); compared case-insensitively. */
  name: string;
  clockRate: number;
  /** Audio channels; default 1. */
  channels?: number | undefined;
  /** Payload type in offers; default its RFC 3551 static type, else the next free one from 96. */
  payloadType?: number | undefined;
  /** The a=fmtp parameters to write for it (what we receive), e.g. `0-16`, `minptime=10;useinbandfec=1`. */
  fmtp?: string | undefined;
  /** Replaces the built-in fmtp comparison (see codecMatches) for this codec. */
  match?: ((offered: SdpCodec) => boolean) | undefined;
}

/** RFC 3551 §6 table 4 and 5: the static payload types, [name, clock rate, channels]. */
export const STATIC_PAYLOAD_TYPES: Readonly<Record<number, readonly [string, number, number]>> = {
  0: ['PCMU', 8000, 1],
  3: ['GSM', 8000, 1],
  4: ['G723', 8000, 1],
  5: ['DVI4', 8000, 1],
  6: ['DVI4', 16000, 1],
  7: ['LPC', 8000, 1],
  8: ['PCMA', 8000, 1],
  9: ['G722', 8000, 1],
  10: ['L16', 44100, 2],
  11: ['L16', 44100, 1],
  12: ['QCELP', 8000, 1],
  13: ['CN', 8000, 1],
  14: ['MPA', 90000, 1],
  15: ['G728', 8000, 1],
  16: ['DVI4', 11025, 1],
  17: ['DVI4', 22050, 1],
  18: ['G729', 8000, 1],
  25: ['CelB', 90000, 1],
  26: ['JPEG', 90000, 1],
  28: ['nv', 90000, 1],
  31: ['H261', 90000, 1],
  32: ['MPV', 90000, 1],
  33: ['MP2T', 90000, 1],
  34: ['H263', 90000, 1],
};

/** The static payload type of a codec, if RFC 3551 assigns one. */
export function staticPayloadType(name: string, clockRate: number, channels = 1): number | undefined {
  for (const key of Object.keys(STATIC_PAYLOAD_TYPES)) {
    const [n, rate, ch] = STATIC_PAYLOAD_TYPES[Number(key)] as readonly [string, number, number];
    if (rate === clockRate && ch === channels && n.toLowerCase() === name.toLowerCase()) return Number(key);
  }
  return undefined;
}

/** Reads an a=rtpmap value. */
export function parseRtpmap(value: string | undefined): SdpRtpmap | undefined {
  if (value === undefined) return undefined;
  const f = splitBlank(value);
  if (f.length !== 2) return undefined;
  const payloadType = decimal(f[0], 3);
  const parts = (f[1] as string).split('/');
  if (payloadType < 0 || payloadType > 127 || parts.length < 2 || parts.length > 3 || parts[0] === '') return undefined;
  const clockRate = decimal(parts[1], 10);
  if (clockRate <= 0) return undefined;
  const rtpmap: SdpRtpmap = { payloadType, encodingName: parts[0] as string, clockRate };
  if (parts.length === 3) {
    const p = decimal(parts[2], 3);
    if (p < 0) return undefined;
    rtpmap.encodingParameters = p;
  }
  return rtpmap;
}

/** Writes an a=rtpmap value. */
export function formatRtpmap(rtpmap: SdpRtpmap): string {
  const base = `${rtpmap.payloadType} ${rtpmap.encodingName}/${rtpmap.clockRate}`;
  return rtpmap.encodingParameters === undefined ? base : `${base}/${rtpmap.encodingParameters}`;
}

/** Reads an a=fmtp value: the format, and the parameters after the first run of spaces. */
export function parseFmtp(value: string | undefined): SdpFmtp | undefined {
  if (value === undefined) return undefined;
  let i = 0;
  while (i < value.length && value.charCodeAt(i) !== 0x20 && value.charCodeAt(i) !== 0x09) i++;
  if (i === 0) return undefined;
  let j = i;
  while (j < value.length && (value.charCodeAt(j) === 0x20 || value.charCodeAt(j) === 0x09)) j++;
  return { format: value.slice(0, i), parameters: value.slice(j) };
}

/** Writes an a=fmtp value. */
export function formatFmtp(fmtp: SdpFmtp): string {
  return `${fmtp.format} ${fmtp.parameters}`;
}

/**
 * The `;`-separated parameters of an fmtp, names lower-cased (they compare case-insensitively
 * for the common codecs), values trimmed; a parameter without `=` (`0-15`) maps to ''.
 */
export function parseFmtpParameters(parameters: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of parameters.split(';')) {
    const eq = part.indexOf('=');
    const name = (eq >= 0 ? part.slice(0, eq) : part).trim().toLowerCase();
    if (name === '') continue;
    out.set(name, eq >= 0 ? part.slice(eq + 1).trim() : '');
  }
  return out;
}

/** Writes fmtp parameters: `name=value` joined by `;` (a '' value writes the name alone). */
export function formatFmtpParameters(parameters: ReadonlyMap<string, string> | Readonly<Record<string, string>>): string {
  const entries = parameters instanceof Map ? [...parameters] : Object.entries(parameters);
  return entries.map(([k, v]) => (v === '' ? k : `${k}=${v}`)).join(';');
}

/**
 * The codecs of a media section in the order of its formats: each numeric format resolved by
 * its a=rtpmap, else by the static table; formats that resolve to nothing are left out.
 */
export function getCodecs(media: SdpMedia): SdpCodec[] {
  const rtpmaps = new Map<number, SdpRtpmap>();
  const fmtps = new Map<string, string>();
  for (const line of media.lines) {
    if (line.type !== 'a') continue;
    if (line.name === 'rtpmap') {
      const r = parseRtpmap(line.value);
      if (r !== undefined && !rtpmaps.has(r.payloadType)) rtpmaps.set(r.payloadType, r);
    } else if (line.name === 'fmtp') {
      const f = parseFmtp(line.value);
      if (f !== undefined && !fmtps.has(f.format)) fmtps.set(f.format, f.parameters);
    }
  }
  const out: SdpCodec[] = [];
  for (const format of media.formats) {
    const payloadType = decimal(format, 3);
    if (payloadType < 0 || payloadType > 127) continue;
    const r = rtpmaps.get(payloadType);
    const fmtp = fmtps.get(format);
    let codec: SdpCodec;
    if (r !== undefined) {
      codec = { payloadType, name: r.encodingName, clockRate: r.clockRate, channels: r.encodingParameters ?? 1 };
    } else {
      const known = STATIC_PAYLOAD_TYPES[payloadType];
      if (known === undefined) continue;
      codec = { payloadType, name: known[0], clockRate: known[1], channels: known[2] };
    }
    if (fmtp !== undefined) codec.fmtp = fmtp;
    out.push(codec);
  }
  return out;
}

/**
 * fmtp parameters that must agree for two descriptions to be the same codec, with their
 * defaults: H.264 packetization-mode and profile_idc (RFC 6184 §8.1, §8.2.2), H.265 profile-id
 * (RFC 7798 §7.1), VP9 profile-id, AV1 profile, AMR/AMR-WB octet-align, crc and
 * robust-sorting (RFC 4867 §8.3.1). Other parameters (levels, bit rates, ptime) are declarative.
 */
const MUST_MATCH: Readonly<Record<string, ReadonlyArray<readonly [string, string]>>> = {
  h264: [
    ['packetization-mode', '0'],
    ['profile-level-id', '42'],
  ],
  h265: [['profile-id', '1']],
  vp9: [['profile-id', '0']],
  av1: [['profile', '0']],
  amr: [
    ['octet-align', '0'],
    ['crc', '0'],
    ['robust-sorting', '0'],
  ],
  'amr-wb': [
    ['octet-align', '0'],
    ['crc', '0'],
    ['robust-sorting', '0'],
  ],
};

function fmtpValue(params: Map<string, string>, name: string, fallback: string): string {
  const v = (params.get(name) ?? fallback).toLowerCase();
  // profile-level-id: only profile_idc (its first byte) decides the codec; the level may differ
  return name === 'profile-level-id' ? v.slice(0, 2) : v;
}

/**
 * True when an offered codec and a local one are the same codec: same encoding name (case-
 * insensitive), clock rate and channels, and the same values for the fmtp parameters that
 * define the payload format (MUST_MATCH above). `local.match` replaces the fmtp check.
 */
export function codecMatches(offered: SdpCodec, local: LocalCodec): boolean {
  if (offered.clockRate !== local.clockRate || offered.channels !== (local.channels ?? 1)) return false;
  const name = offered.name.toLowerCase();
  if (name !== local.name.toLowerCase()) return false;
  if (local.match !== undefined) return local.match(offered);
  const rules = MUST_MATCH[name];
  if (rules === undefined) return true;
  const a = parseFmtpParameters(offered.fmtp ?? '');
  const b = parseFmtpParameters(local.fmtp ?? '');
  return rules.every(([param, fallback]) => fmtpValue(a, param, fallback) === fmtpValue(b, param, fallback));
}

/** Codecs that do not make a stream usable on their own (DTMF, comfort noise, redundancy, FEC). */
const AUXILIARY = new Set(['telephone-event', 'cn', 'red', 'rtx', 'ulpfec', 'flexfec', 'flexfec-03']);

export function isAuxiliaryCodec(name: string): boolean {
  return AUXILIARY.has(name.toLowerCase());
}
