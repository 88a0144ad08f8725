// RFC 3264 helpers: offers, answers, hold and resume, origin versions, relay rewriting.
import {
  answerDirection,
  bumpOriginVersion,
  cloneSdp,
  createAnswer,
  createHoldOffer,
  createOffer,
  createResumeOffer,
  getAttribute,
  getAttributes,
  getCodecs,
  getConnection,
  getDirection,
  getOrigin,
  getSessionDirection,
  isHold,
  parseSdp,
  rewriteConnection,
  stringifySdp,
  type LocalDescription,
  type SdpDirection,
  type SdpSession,
} from '@sipts/sdp';
import { HOLD_REOFFER, MULTI_STREAM_OFFER, PHONE_OFFER, WEBRTC_OFFER } from './corpus.js';

const phone: LocalDescription = {
  address: '192.0.2.99',
  origin: { username: 'sipts', sessionId: '42', sessionVersion: '7' },
  media: [
    {
      media: 'audio',
      port: 40000,
      codecs: [
        { name: 'PCMA', clockRate: 8000 },
        { name: 'PCMU', clockRate: 8000 },
        { name: 'telephone-event', clockRate: 8000, fmtp: '0-16' },
      ],
      ptime: 20,
    },
  ],
};

function lines(s: SdpSession): string[] {
  return stringifySdp(s).split('\r\n').slice(0, -1);
}

describe('createOffer', () => {
  test('static payload types, dynamic ones from 96, rtpmap/fmtp/ptime/direction, session lines', () => {
    const offer = createOffer({
      ...phone,
      media: [
        {
          media: 'audio',
          port: 40000,
          codecs: [
            { name: 'opus', clockRate: 48000, channels: 2, fmtp: 'useinbandfec=1' },
            { name: 'PCMU', clockRate: 8000 },
            { name: 'telephone-event', clockRate: 8000, fmtp: '0-16' },
          ],
          ptime: 20,
        },
        { media: 'video', port: 40002, address: '2001:db8::9', direction: 'recvonly', codecs: [{ name: 'H264', clockRate: 90000, payloadType: 96, fmtp: 'packetization-mode=1' }, { name: 'VP8', clockRate: 90000 }], attributes: [{ name: 'rtcp-fb', value: '* nack' }] },
      ],
    });
    expect(lines(offer)).toEqual([
      'v=0',
      'o=sipts 42 7 IN IP4 192.0.2.99',
      's=-',
      'c=IN IP4 192.0.2.99',
      't=0 0',
      'm=audio 40000 RTP/AVP 96 0 97',
      'a=rtpmap:96 opus/48000/2',
      'a=fmtp:96 useinbandfec=1',
      'a=rtpmap:0 PCMU/8000',
      'a=rtpmap:97 telephone-event/8000',
      'a=fmtp:97 0-16',
      'a=ptime:20',
      'a=sendrecv',
      'm=video 40002 RTP/AVP 96 97',
      'c=IN IP6 2001:db8::9',
      'a=rtpmap:96 H264/90000',
      'a=fmtp:96 packetization-mode=1',
      'a=rtpmap:97 VP8/90000',
      'a=rtcp-fb:* nack',
      'a=recvonly',
    ]);
    expect(parseSdp(stringifySdp(offer))).toEqual(offer);
  });

  test('a new session gets a random 62-bit session id and version 1', () => {
    const a = getOrigin(createOffer({ address: '::1', media: phone.media }));
    const b = getOrigin(createOffer({ address: '::1', media: phone.media }));
    expect(a).toMatchObject({ username: '-', sessionVersion: '1', addrType: 'IP6', address: '::1' });
    expect(a?.sessionId).toMatch(/^\d{1,19}$/);
    expect(BigInt(a?.sessionId ?? '0') < 2n ** 62n).toBe(true);
    expect(a?.sessionId).not.toBe(b?.sessionId);
  });

  test('with previous: same origin, version bumped only when something changed; m= lines never fewer', () => {
    const first = createOffer({ ...phone, media: [...phone.media, { media: 'video', port: 40002, codecs: [{ name: 'H261', clockRate: 90000 }] }] });
    const same = createOffer({ ...phone, media: [...phone.media, { media: 'video', port: 40002, codecs: [{ name: 'H261', clockRate: 90000 }] }], previous: first });
    expect(stringifySdp(same)).toBe(stringifySdp(first));
    const fewer = createOffer({ ...phone, origin: undefined, previous: first });
    expect(getOrigin(fewer)).toMatchObject({ username: 'sipts', sessionId: '42', sessionVersion: '8' });
    expect(fewer.media.map((m) => `${m.media} ${m.port} ${m.formats.join(',')}`)).toEqual(['audio 40000 8,0,96', 'video 0 31']);
  });

  test('bad local descriptions', () => {
    const bad = [
      null,
      { media: [] },
      { address: '192.0.2.1', media: [{ media: 'audio', port: 70000, codecs: [] }] },
      { address: '192.0.2.1', media: [{ media: 'audio', port: 1, codecs: [] }] },
      { address: '192.0.2.1', media: [{ media: 'audio', port: 1, codecs: [{ name: 'x', clockRate: 1, payloadType: 200 }] }] },
      { address: '192.0.2.1', media: [{ media: 'audio', port: 1, direction: 'up', codecs: [{ name: 'PCMU', clockRate: 8000 }] }] },
      { address: '192.0.2.1', media: [{ media: 'audio', port: 1, codecs: Array.from({ length: 33 }, (_, i) => ({ name: `c${i}`, clockRate: 8000 })) }] },
    ];
    for (const local of bad) expect(() => createOffer(local as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }) as Error);
  });
});

describe('createAnswer', () => {
  test('a phone offer: common codecs under the offered payload types, in the offer order, our fmtp', () => {
    const answer = createAnswer(parseSdp(PHONE_OFFER), phone);
    expect(lines(answer)).toEqual([
      'v=0',
      'o=sipts 42 7 IN IP4 192.0.2.99',
      's=-',
      'c=IN IP4 192.0.2.99',
      't=0 0',
      'm=audio 40000 RTP/AVP 0 8 101',
      'a=rtpmap:0 PCMU/8000',
      'a=rtpmap:8 PCMA/8000',
      'a=rtpmap:101 telephone-event/8000',
      'a=fmtp:101 0-16',
      'a=ptime:20',
      'a=sendrecv',
    ]);
    expect(createAnswer(parseSdp(PHONE_OFFER), phone, { codecOrder: 'local' }).media[0]?.formats).toEqual(['8', '0', '101']);
  });

  test('RFC 3264 §6.1 direction rules', () => {
    const table: Array<[SdpDirection, SdpDirection, SdpDirection]> = [
      ['sendrecv', 'sendrecv', 'sendrecv'],
      ['sendonly', 'sendrecv', 'recvonly'],
      ['recvonly', 'sendrecv', 'sendonly'],
      ['inactive', 'sendrecv', 'inactive'],
      ['sendrecv', 'sendonly', 'sendonly'],
      ['sendrecv', 'recvonly', 'recvonly'],
      ['sendonly', 'sendonly', 'inactive'],
      ['recvonly', 'recvonly', 'inactive'],
      ['sendrecv', 'inactive', 'inactive'],
    ];
    for (const [offered, wanted, answered] of table) {
      expect(answerDirection(offered, wanted)).toBe(answered);
      const offer = parseSdp(PHONE_OFFER.replace('a=sendrecv', `a=${offered}`));
      const answer = createAnswer(offer, { ...phone, media: [{ ...phone.media[0]!, direction: wanted }] });
      expect(getDirection(answer, answer.media[0])).toBe(answered);
    }
    // a hold re-offer gets recvonly; RFC 2543 hold (c=0.0.0.0) counts as the offerer not receiving
    const held = createAnswer(parseSdp(HOLD_REOFFER), phone);
    expect(getDirection(held, held.media[0])).toBe('recvonly');
    const legacy = createAnswer(parseSdp(PHONE_OFFER.replace('c=IN IP4 192.0.2.10', 'c=IN IP4 0.0.0.0')), phone);
    expect(getDirection(legacy, legacy.media[0])).toBe('recvonly');
  });

  test('multi-stream: one local media per stream, others and codec-less ones refused with port 0, formats kept', () => {
    const local: LocalDescription = {
      address: '192.0.2.99',
      origin: { sessionId: '1' },
      media: [
        { media: 'audio', port: 40000, codecs: [{ name: 'opus', clockRate: 48000, channels: 2 }, { name: 'PCMU', clockRate: 8000 }] },
        { media: 'video', port: 40002, codecs: [{ name: 'H264', clockRate: 90000, fmtp: 'profile-level-id=42e01f;packetization-mode=1' }] },
      ],
    };
    const answer = createAnswer(parseSdp(MULTI_STREAM_OFFER), local);
    expect(answer.media.map((m) => `m=${m.media} ${m.port} ${m.proto} ${m.formats.join(' ')} | ${getDirection(answer, m)}`)).toEqual([
      'm=audio 40000 RTP/AVP 0 | sendrecv',
      'm=video 40002 RTP/AVP 98 | sendonly',
      // the first audio media is taken; a second audio stream is refused
      'm=audio 0 RTP/AVP 96 | sendrecv',
      'm=image 0 udptl t38 | sendrecv',
    ]);
    expect(getAttributes(answer.media[1]!, 'fmtp').map((a) => a.value)).toEqual(['98 profile-level-id=42e01f;packetization-mode=1']);
    expect(answer.media[2]?.lines).toEqual([]);
    // with a second audio media both are taken, in order
    const two = createAnswer(parseSdp(MULTI_STREAM_OFFER), { ...local, media: [...local.media, { media: 'audio', port: 40004, codecs: [{ name: 'opus', clockRate: 48000, channels: 2 }] }] });
    expect(two.media.map((m) => m.port)).toEqual([40000, 40002, 40004, 0]);
  });

  test('a stream whose only common codec is telephone-event is refused', () => {
    const answer = createAnswer(parseSdp(PHONE_OFFER), {
      address: '192.0.2.99',
      media: [{ media: 'audio', port: 40000, codecs: [{ name: 'opus', clockRate: 48000, channels: 2 }, { name: 'telephone-event', clockRate: 8000 }] }],
    });
    expect(answer.media[0]).toMatchObject({ port: 0, formats: ['0', '8', '18', '101'] });
  });

  test('an offered port 0 stays refused; proto must be accepted; a=mid kept; t= copied', () => {
    const offer = parseSdp(WEBRTC_OFFER);
    expect(createAnswer(offer, phone).media.map((m) => m.port)).toEqual([0, 0]);
    const answer = createAnswer(offer, {
      address: '192.0.2.99',
      media: [{ media: 'audio', port: 40000, proto: ['RTP/AVP', 'UDP/TLS/RTP/SAVPF'], codecs: [{ name: 'opus', clockRate: 48000, channels: 2, fmtp: 'minptime=10' }, { name: 'telephone-event', clockRate: 48000 }] }],
    });
    expect(lines(answer).slice(4)).toEqual([
      't=0 0',
      'm=audio 40000 UDP/TLS/RTP/SAVPF 111 110',
      'a=mid:0',
      'a=rtpmap:111 opus/48000/2',
      'a=fmtp:111 minptime=10',
      'a=rtpmap:110 telephone-event/48000',
      'a=sendrecv',
      'm=video 0 UDP/TLS/RTP/SAVPF 96 97 102 103',
      'a=mid:1',
    ]);
    const zero = parseSdp(PHONE_OFFER.replace('m=audio 16384', 'm=audio 0').replace('t=0 0', 't=3034423619 3042462419'));
    const refused = createAnswer(zero, phone);
    expect(refused.media[0]?.port).toBe(0);
    expect(lines(refused)[4]).toBe('t=3034423619 3042462419');
  });

  test('with previous: the origin is kept and the version bumped only on change (RFC 3264 §8)', () => {
    const first = createAnswer(parseSdp(PHONE_OFFER), phone);
    const again = createAnswer(parseSdp(PHONE_OFFER), { ...phone, previous: first });
    expect(stringifySdp(again)).toBe(stringifySdp(first));
    const hold = createAnswer(parseSdp(HOLD_REOFFER), { ...phone, previous: first });
    expect(getOrigin(hold)?.sessionVersion).toBe('8');
    expect(getOrigin(first)?.sessionVersion).toBe('7');
  });

  test('bad arguments', () => {
    expect(() => createAnswer(null as never, phone)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }) as Error);
    expect(() => createAnswer(parseSdp(PHONE_OFFER), phone, { codecOrder: 'mine' as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }) as Error);
  });
});

describe('hold and resume', () => {
  test('isHold and getSessionDirection', () => {
    expect(isHold(parseSdp(PHONE_OFFER))).toBe(false);
    expect(isHold(parseSdp(HOLD_REOFFER))).toBe(true);
    expect(getSessionDirection(parseSdp(HOLD_REOFFER))).toBe('sendonly');
    expect(isHold(parseSdp(PHONE_OFFER.replace('a=sendrecv', 'a=inactive')))).toBe(true);
    expect(isHold(parseSdp(PHONE_OFFER.replace('a=sendrecv', 'a=recvonly')))).toBe(false);
    expect(isHold(parseSdp(PHONE_OFFER.replace('c=IN IP4 192.0.2.10', 'c=IN IP4 0.0.0.0')))).toBe(true);
    // rejected streams do not count; no active stream is no hold
    expect(isHold(parseSdp(PHONE_OFFER.replace('m=audio 16384', 'm=audio 0').replace('a=sendrecv', 'a=sendonly')))).toBe(false);
    expect(getSessionDirection(parseSdp('v=0\r\n'))).toBe('inactive');
    const multi = parseSdp(MULTI_STREAM_OFFER);
    expect(getSessionDirection(multi)).toBe('sendrecv');
    expect(isHold(multi)).toBe(false);
  });

  test('createHoldOffer: sendrecv -> sendonly, recvonly -> inactive (RFC 3264 §8.4), version bumped', () => {
    const previous = parseSdp(MULTI_STREAM_OFFER);
    const before = stringifySdp(previous);
    const hold = createHoldOffer(previous);
    expect(stringifySdp(previous)).toBe(before);
    expect(hold.media.map((m) => getDirection(hold, m))).toEqual(['sendonly', 'inactive', 'sendonly', 'sendonly']);
    expect(getOrigin(hold)?.sessionVersion).toBe('2890844527');
    expect(isHold(hold)).toBe(true);
    const inactive = createHoldOffer(previous, { direction: 'inactive' });
    expect(inactive.media.map((m) => getDirection(inactive, m))).toEqual(['inactive', 'inactive', 'inactive', 'inactive']);
    expect(() => createHoldOffer(previous, { direction: 'recvonly' as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }) as Error);
  });

  test('hold of the phone offer equals what the phone sent; resume gives the original back', () => {
    const hold = createHoldOffer(parseSdp(PHONE_OFFER));
    expect(stringifySdp(hold)).toBe(HOLD_REOFFER);
    const resumed = createResumeOffer(hold);
    expect(stringifySdp(resumed)).toBe(PHONE_OFFER.replace('1681226171 1681226171', '1681226171 1681226173'));
    expect(isHold(resumed)).toBe(false);
    const r = createResumeOffer(createHoldOffer(parseSdp(PHONE_OFFER), { direction: 'inactive' }));
    expect(getDirection(r, r.media[0])).toBe('recvonly');
    const forced = createResumeOffer(hold, { direction: 'sendrecv' });
    expect(getDirection(forced, forced.media[0])).toBe('sendrecv');
  });

  test('session-level direction attributes move to the media', () => {
    const hold = createHoldOffer(parseSdp('v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\na=recvonly\r\nm=audio 1 RTP/AVP 0\r\nm=audio 0 RTP/AVP 0\r\n'));
    expect(lines(hold)).toEqual(['v=0', 'o=- 1 2 IN IP4 192.0.2.1', 'm=audio 1 RTP/AVP 0', 'a=inactive', 'm=audio 0 RTP/AVP 0']);
  });
});

describe('bumpOriginVersion', () => {
  test('decimal strings of any length', () => {
    const s = parseSdp('v=0\r\no=- 1 18446744073709551615 IN IP4 192.0.2.1\r\n');
    expect(bumpOriginVersion(s)).toBe('18446744073709551616');
    (s.lines[1] as { sessionVersion: string }).sessionVersion = '999';
    expect(bumpOriginVersion(s)).toBe('1000');
    expect(() => bumpOriginVersion(parseSdp('v=0\r\n'))).toThrow(expect.objectContaining({ code: 'ERR_INVALID_VALUE' }) as Error);
    expect(() => bumpOriginVersion(parseSdp('v=0\r\no=- 1 v2 IN IP4 x\r\n'))).toThrow(expect.objectContaining({ code: 'ERR_INVALID_VALUE' }) as Error);
  });

  test('a non-canonical o= line is written fresh after the bump', () => {
    const s = parseSdp('v=0\r\no=-  1 1 IN IP4 192.0.2.1\r\n');
    bumpOriginVersion(s);
    expect(stringifySdp(s)).toBe('v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\n');
  });
});

describe('rewriteConnection (media relay)', () => {
  test('a browser offer through a relay: c=, o=, ports, rtcp, no ICE; the input is untouched', () => {
    const offer = parseSdp(WEBRTC_OFFER);
    const before = stringifySdp(offer);
    const relayed = rewriteConnection(offer, { address: '198.51.100.50', ports: [30000, 30002], rtcpPorts: [30001] });
    expect(stringifySdp(offer)).toBe(before);
    expect(getOrigin(relayed)?.address).toBe('198.51.100.50');
    expect(getOrigin(relayed)?.sessionVersion).toBe('2');
    expect(relayed.media.map((m) => m.port)).toEqual([30000, 30002]);
    expect(relayed.media.map((m) => getConnection(relayed, m)?.address)).toEqual(['198.51.100.50', '198.51.100.50']);
    expect(getAttributes(relayed.media[0]!, 'rtcp').map((a) => a.value)).toEqual(['30001 IN IP4 198.51.100.50']);
    expect(getAttributes(relayed.media[1]!, 'rtcp')).toEqual([]);
    const text = stringifySdp(relayed);
    for (const gone of ['a=candidate', 'a=ice-ufrag', 'a=ice-pwd', 'a=ice-options', '192.0.2.33', '203.0.113.5']) expect(text).not.toContain(gone);
    // everything else stays, in order
    expect(getAttribute(relayed.media[1]!, 'mid')?.value).toBe('1');
    expect(getCodecs(relayed.media[0]!)).toEqual(getCodecs(offer.media[0]!));
  });

  test('phone offer: session-level c= rewritten, IPv6, rejected streams stay 0, ports kept when not given', () => {
    const offer = parseSdp(MULTI_STREAM_OFFER.replace('m=image 49176', 'm=image 0'));
    const relayed = rewriteConnection(offer, { address: '2001:db8::50', ports: [30000, undefined, 30004, 30006], originAddress: false });
    expect(lines(relayed).slice(0, 4)).toEqual(['v=0', 'o=alice 2890844526 2890844526 IN IP4 198.51.100.7', 's=-', 'c=IN IP6 2001:db8::50']);
    expect(relayed.media.map((m) => m.port)).toEqual([30000, 51372, 30004, 0]);
  });

  test('a media section without any c= gets one; multicast suffixes go; ICE kept on request', () => {
    const s = parseSdp('v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\ni=voice\r\na=candidate:1 1 udp 1 192.0.2.1 5000 typ host\r\na=rtcp:5001 IN IP4 192.0.2.1\r\nm=video 5002 RTP/AVP 31\r\nc=IN IP4 224.2.1.1/127/2\r\n');
    const relayed = rewriteConnection(s, { address: '198.51.100.50', removeIce: false });
    expect(lines(relayed).slice(4)).toEqual([
      'm=audio 5000 RTP/AVP 0',
      'i=voice',
      'c=IN IP4 198.51.100.50',
      'a=candidate:1 1 udp 1 192.0.2.1 5000 typ host',
      'a=rtcp:5001 IN IP4 198.51.100.50',
      'm=video 5002 RTP/AVP 31',
      'c=IN IP4 198.51.100.50',
    ]);
  });

  test('bad options', () => {
    const s = parseSdp(PHONE_OFFER);
    for (const options of [null, {}, { address: '' }, { address: 'x', ports: [0] }, { address: 'x', ports: [70000] }, { address: 'x', rtcpPorts: [1.5] }]) {
      expect(() => rewriteConnection(s, options as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }) as Error);
    }
  });
});

test('cloneSdp is deep and writes the same text', () => {
  const s = parseSdp('v=0\r\no=-  1 1 IN IP4 192.0.2.1\r\nm=audio 1 RTP/AVP 0\r\na=x\r\n');
  const c = cloneSdp(s);
  expect(stringifySdp(c)).toBe(stringifySdp(s));
  c.media[0]!.formats.push('8');
  (c.media[0]!.lines[0] as { name: string }).name = 'y';
  expect(stringifySdp(s)).toBe('v=0\r\no=-  1 1 IN IP4 192.0.2.1\r\nm=audio 1 RTP/AVP 0\r\na=x\r\n');
});
