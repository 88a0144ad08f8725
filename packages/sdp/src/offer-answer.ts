// RFC 3264 offer/answer for RTP media: an offer from local capabilities, an answer from an
// offer and local capabilities. Plain RTP only: ICE, DTLS-SRTP and SDES keys are not negotiated
// here (add their attributes through `attributes` when the application handles them).
import { randomBytes } from 'node:crypto';
import { addrTypeOf, answerDirection, getAttribute, getLines, getOrigin, isDirection } from './attributes.js';
import { codecMatches, formatRtpmap, getCodecs, isAuxiliaryCodec, staticPayloadType, type LocalCodec, type SdpCodec } from './codecs.js';
import { SdpError } from './errors.js';
import { stringifySdp } from './parse.js';
import { bumpOriginVersion, getEffectiveDirection } from './session.js';
import type { SdpAttribute, SdpDirection, SdpLine, SdpMedia, SdpOrigin, SdpSession } from './types.js';

/** One kind of stream the application can handle. */
export interface LocalMedia {
  /** `audio`, `video`, ... */
  media: string;
  /** Our RTP port for this stream. */
  port: number;
  /** Codecs in order of preference. */
  codecs: readonly LocalCodec[];
  /** Transport protocols accepted in answers; the first is offered. Default `RTP/AVP`. */
  proto?: string | readonly string[] | undefined;
  /** A media-level c= address, when it differs from the session's `address`. */
  address?: string | undefined;
  /** What we want to do with the stream; default `sendrecv`. */
  direction?: SdpDirection | undefined;
  /** Written as a=ptime. */
  ptime?: number | undefined;
  /** More media-level attributes to write (a=rtcp-mux, a=rtcp:..., a=label:...). */
  attributes?: ReadonlyArray<{ name: string; value?: string | undefined }> | undefined;
}

/** The o= fields for a new session; anything missing is made up (RFC 8866 §5.2). */
export interface LocalOrigin {
  /** Default `-`. */
  username?: string | undefined;
  /** Default 62 random bits in decimal. */
  sessionId?: string | undefined;
  /** Default `1`. */
  sessionVersion?: string | undefined;
  /** Default the session `address`. */
  address?: string | undefined;
}

/** What the application can do, for createOffer and createAnswer. */
export interface LocalDescription {
  /** Our session-level c= address (IP4 or IP6, by the presence of a colon). */
  address: string;
  /** Streams we handle: createOffer offers each in order; createAnswer uses each for at most one offered stream. */
  media: readonly LocalMedia[];
  /**
   * The last description we sent in this session. Its o= username, id and address are kept;
   * the version is bumped when the new description differs from it and kept when it does
   * not (RFC 3264 §8). createOffer keeps its extra m= lines as rejected (port 0), since a
   * re-offer never has fewer m= lines (RFC 3264 §8).
   */
  previous?: SdpSession | undefined;
  /** Origin fields for a new session (ignored with `previous`). */
  origin?: LocalOrigin | undefined;
  /** s= value; default `-`. */
  sessionName?: string | undefined;
  /** More session-level attributes to write. */
  attributes?: ReadonlyArray<{ name: string; value?: string | undefined }> | undefined;
}

export interface AnswerOptions {
  /**
   * Order of the formats in the answer: `offer` (default) keeps the offerer's preference, `local`
   * uses ours (RFC 3264 §6.1 lets the answerer choose).
   */
  codecOrder?: 'offer' | 'local' | undefined;
}

const DEFAULT_PROTO = 'RTP/AVP';

function protosOf(local: LocalMedia): readonly string[] {
  const p = local.proto;
  if (p === undefined) return [DEFAULT_PROTO];
  return typeof p === 'string' ? [p] : p;
}

function randomSessionId(): string {
  // 62 bits: positive and below 2^63 for peers that read it as a signed 64-bit integer
  return (randomBytes(8).readBigUInt64BE() >> 2n).toString();
}

function checkLocal(local: LocalDescription): void {
  if (typeof local !== 'object' || local === null || typeof local.address !== 'string' || !Array.isArray(local.media)) {
    throw new SdpError('ERR_INVALID_OPTION', 'local description needs { address, media: [] }');
  }
  for (const m of local.media) {
    if (typeof m !== 'object' || m === null || !Array.isArray(m.codecs) || !Number.isInteger(m.port) || m.port < 0 || m.port > 65535) {
      throw new SdpError('ERR_INVALID_OPTION', 'each local media needs { media, port (0-65535), codecs: [] }');
    }
    if (m.direction !== undefined && !isDirection(m.direction)) {
      throw new SdpError('ERR_INVALID_OPTION', `not a direction: ${String(m.direction)}`);
    }
  }
}

function connectionLine(address: string): SdpLine {
  return { type: 'c', netType: 'IN', addrType: addrTypeOf(address), address };
}

/** The session-level lines: v, o, s, c, t (timing copied from an offer, RFC 3264 §6), attributes. */
function sessionLines(local: LocalDescription, timing: SdpLine[]): SdpLine[] {
  const previousOrigin = local.previous && getOrigin(local.previous);
  const o = local.origin ?? {};
  const origin: SdpOrigin = previousOrigin
    ? { ...previousOrigin }
    : {
        type: 'o',
        username: o.username ?? '-',
        sessionId: o.sessionId ?? randomSessionId(),
        sessionVersion: o.sessionVersion ?? '1',
        netType: 'IN',
        addrType: addrTypeOf(o.address ?? local.address),
        address: o.address ?? local.address,
      };
  delete origin.raw;
  const lines: SdpLine[] = [{ type: 'v', version: 0 }, origin, { type: 's', value: local.sessionName ?? '-' }, connectionLine(local.address)];
  if (timing.length === 0) lines.push({ type: 't', start: '0', stop: '0' });
  else for (const t of timing) lines.push({ ...t });
  for (const a of local.attributes ?? []) lines.push({ type: 'a', name: a.name, value: a.value });
  return lines;
}

/** RFC 3264 §8: bump the version only when the description changed since `previous`. */
function settleVersion(session: SdpSession, previous: SdpSession | undefined): SdpSession {
  if (previous === undefined) return session;
  const before = stringifySdp(previous);
  if (stringifySdp(session) !== before) bumpOriginVersion(session);
  return session;
}

function rtpmapValue(codec: { payloadType: number; name: string; clockRate: number; channels: number }, media: string): string {
  return formatRtpmap({
    payloadType: codec.payloadType,
    encodingName: codec.name,
    clockRate: codec.clockRate,
    // channels are written for audio when not 1, as RFC 8866 §6.6 allows omitting 1
    encodingParameters: media === 'audio' && codec.channels !== 1 ? codec.channels : undefined,
  });
}

/** The media-level lines of a stream we send: c, rtpmap/fmtp per codec, ptime, extras, direction. */
function mediaLines(
  local: LocalMedia,
  codecs: ReadonlyArray<{ payloadType: number; name: string; clockRate: number; channels: number; fmtp?: string | undefined }>,
  direction: SdpDirection,
  mid: SdpAttribute | undefined,
): SdpLine[] {
  const lines: SdpLine[] = [];
  if (local.address !== undefined) lines.push(connectionLine(local.address));
  if (mid !== undefined) lines.push({ type: 'a', name: 'mid', value: mid.value });
  for (const c of codecs) {
    lines.push({ type: 'a', name: 'rtpmap', value: rtpmapValue(c, local.media) });
    if (c.fmtp !== undefined) lines.push({ type: 'a', name: 'fmtp', value: `${c.payloadType} ${c.fmtp}` });
  }
  if (local.ptime !== undefined) lines.push({ type: 'a', name: 'ptime', value: String(local.ptime) });
  for (const a of local.attributes ?? []) lines.push({ type: 'a', name: a.name, value: a.value });
  lines.push({ type: 'a', name: direction });
  return lines;
}

/** Payload types for our codecs: given, else static (RFC 3551), else free dynamic ones from 96. */
function assignPayloadTypes(codecs: readonly LocalCodec[]): Array<LocalCodec & { payloadType: number; channels: number }> {
  const used = new Set<number>();
  const chosen: Array<number | undefined> = codecs.map((c) => c.payloadType ?? staticPayloadType(c.name, c.clockRate, c.channels ?? 1));
  for (const pt of chosen) if (pt !== undefined) used.add(pt);
  let next = 96;
  return codecs.map((c, i) => {
    let pt = chosen[i];
    if (pt === undefined) {
      while (used.has(next)) next++;
      if (next > 127) throw new SdpError('ERR_INVALID_OPTION', 'more codecs than dynamic payload types (96-127)');
      pt = next;
      used.add(pt);
    }
    if (!Number.isInteger(pt) || pt < 0 || pt > 127) throw new SdpError('ERR_INVALID_OPTION', `payload type ${pt} is not 0-127`);
    return { ...c, payloadType: pt, channels: c.channels ?? 1 };
  });
}

/** A rejected stream (RFC 3264 §6: port 0, the offered formats, nothing else but a=mid). */
function rejected(m: SdpMedia): SdpMedia {
  const mid = getAttribute(m, 'mid');
  return {
    media: m.media,
    port: 0,
    proto: m.proto,
    formats: m.formats.length > 0 ? [...m.formats] : ['0'],
    lines: mid ? [{ type: 'a', name: 'mid', value: mid.value }] : [],
  };
}

/**
 * An offer (RFC 3264 §5) with one m= line per local media, in order: formats from the codecs
 * (static payload types where RFC 3551 has one, else 96 upwards), a=rtpmap for each, a=fmtp
 * where given, a=ptime, extra attributes, and the direction. With `local.previous`, see
 * {@link LocalDescription.previous}.
 */
export function createOffer(local: LocalDescription): SdpSession {
  checkLocal(local);
  const media: SdpMedia[] = local.media.map((m) => {
    const codecs = assignPayloadTypes(m.codecs);
    if (codecs.length === 0) throw new SdpError('ERR_INVALID_OPTION', `no codecs for ${m.media}`);
    return {
      media: m.media,
      port: m.port,
      proto: protosOf(m)[0] ?? DEFAULT_PROTO,
      formats: codecs.map((c) => String(c.payloadType)),
      lines: mediaLines(m, codecs, m.direction ?? 'sendrecv', undefined),
    };
  });
  const previousMedia = local.previous?.media ?? [];
  for (let i = media.length; i < previousMedia.length; i++) media.push(rejected(previousMedia[i] as SdpMedia));
  const session: SdpSession = { lines: sessionLines(local, []), media, lineEnding: '\r\n' };
  return settleVersion(session, local.previous);
}

/** The offered codecs we accept, in the chosen order, each with our fmtp under the offered payload type. */
function negotiateCodecs(offered: SdpCodec[], local: LocalMedia, order: 'offer' | 'local'): SdpCodec[] {
  const out: SdpCodec[] = [];
  const take = (o: SdpCodec, l: LocalCodec): void => {
    if (out.some((c) => c.payloadType === o.payloadType)) return;
    // RFC 3264 §6.1: the offer's payload type number for the codec, our own parameters
    out.push({ payloadType: o.payloadType, name: o.name, clockRate: o.clockRate, channels: o.channels, fmtp: l.fmtp });
  };
  if (order === 'offer') {
    for (const o of offered) {
      const l = local.codecs.find((c) => codecMatches(o, c));
      if (l !== undefined) take(o, l);
    }
  } else {
    for (const l of local.codecs) for (const o of offered) if (codecMatches(o, l)) take(o, l);
  }
  return out.some((c) => !isAuxiliaryCodec(c.name)) ? out : [];
}

/**
 * The answer to `offer` (RFC 3264 §6): one m= line per offered one, in order. An offered stream
 * is accepted by the first unused local media of the same kind whose proto list has the
 * offered proto and that shares at least one codec with it (besides telephone-event, CN, RED,
 * RTX, FEC); the answer lists the common codecs under the offered payload types, with our fmtp.
 * Other streams, and streams offered with port 0, are rejected with port 0. Each accepted
 * stream's direction follows RFC 3264 §6.1 (answerDirection), with a 0.0.0.0 connection
 * counting as not receiving. t= is copied from the offer; a=mid is kept.
 */
export function createAnswer(offer: SdpSession, local: LocalDescription, options: AnswerOptions = {}): SdpSession {
  if (typeof offer !== 'object' || offer === null || !Array.isArray(offer.media) || !Array.isArray(offer.lines)) {
    throw new SdpError('ERR_INVALID_ARGUMENT', 'createAnswer needs the offer as a parsed session');
  }
  checkLocal(local);
  const order = options.codecOrder ?? 'offer';
  if (order !== 'offer' && order !== 'local') throw new SdpError('ERR_INVALID_OPTION', `codecOrder is 'offer' or 'local'`);
  const used = new Set<number>();
  const media = offer.media.map((m): SdpMedia => {
    if (m.port === 0) return rejected(m);
    const offered = getCodecs(m);
    for (let j = 0; j < local.media.length; j++) {
      const l = local.media[j] as LocalMedia;
      if (used.has(j) || l.media !== m.media || !protosOf(l).includes(m.proto)) continue;
      const codecs = negotiateCodecs(offered, l, order);
      if (codecs.length === 0) continue;
      used.add(j);
      const direction = answerDirection(getEffectiveDirection(offer, m), l.direction ?? 'sendrecv');
      return {
        media: m.media,
        port: l.port,
        proto: m.proto,
        formats: codecs.map((c) => String(c.payloadType)),
        lines: mediaLines(l, codecs, direction, getAttribute(m, 'mid')),
      };
    }
    return rejected(m);
  });
  const session: SdpSession = { lines: sessionLines(local, getLines(offer, 't')), media, lineEnding: '\r\n' };
  return settleVersion(session, local.previous);
}
