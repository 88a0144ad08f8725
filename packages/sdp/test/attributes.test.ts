// Line and attribute helpers: accessors, direction, rtcp, rtpmap, fmtp, candidates, codecs.
import {
  addAttribute,
  codecMatches,
  formatCandidate,
  formatFmtpParameters,
  formatRtcp,
  formatRtpmap,
  getAttribute,
  getAttributes,
  getCandidates,
  getCodecs,
  getConnection,
  getDirection,
  getLine,
  getLines,
  getOrigin,
  hasAttribute,
  parseCandidate,
  parseFmtp,
  parseFmtpParameters,
  parseRtcp,
  parseRtpmap,
  parseSdp,
  removeAttributes,
  setAttribute,
  setDirection,
  staticPayloadType,
  stringifySdp,
  type SdpCodec,
} from '@sipts/sdp';
import { MULTI_STREAM_OFFER, PHONE_OFFER, RFC8866_EXAMPLE, SESSION_LEVEL_ODDITIES, WEBRTC_OFFER } from './corpus.js';

describe('accessors', () => {
  test('getLine, getLines, getOrigin, getConnection (media-level first)', () => {
    const s = parseSdp(RFC8866_EXAMPLE);
    expect(getOrigin(s)?.sessionVersion).toBe('3724394405');
    expect(getLine(s, 's')?.value).toBe('Call to John Smith');
    expect(getLines(s, 'c')).toHaveLength(1);
    expect(getConnection(s)?.address).toBe('198.51.100.1');
    expect(getConnection(s, s.media[0])?.address).toBe('198.51.100.1');
    expect(getConnection(s, s.media[2])).toEqual({ type: 'c', netType: 'IN', addrType: 'IP6', address: '2001:db8::2' });
    expect(getLine(s, 'k')).toBeUndefined();
  });

  test('attributes: get, has, add, set (in place, duplicates removed), remove', () => {
    const s = parseSdp(PHONE_OFFER);
    const m = s.media[0]!;
    expect(getAttributes(m, 'rtpmap').map((a) => a.value)).toEqual(['0 PCMU/8000', '8 PCMA/8000', '18 G729/8000', '101 telephone-event/8000']);
    expect(getAttributes(m)).toHaveLength(8);
    expect(getAttribute(m, 'ptime')?.value).toBe('20');
    expect(hasAttribute(m, 'sendrecv')).toBe(true);
    expect(hasAttribute(s, 'sendrecv')).toBe(false);
    addAttribute(m, 'ptime', '30');
    setAttribute(m, 'ptime', '40');
    expect(getAttributes(m, 'ptime').map((a) => a.value)).toEqual(['40']);
    expect(m.lines.findIndex((l) => l.type === 'a' && l.name === 'ptime')).toBe(6);
    expect(removeAttributes(m, 'rtpmap')).toBe(4);
    expect(removeAttributes(m, (a) => a.name === 'fmtp' && a.value?.startsWith('18 ') === true)).toBe(1);
    setAttribute(m, 'rtcp-mux');
    expect(stringifySdp(s).split('\r\n').slice(5)).toEqual(['m=audio 16384 RTP/AVP 0 8 18 101', 'a=fmtp:101 0-15', 'a=ptime:40', 'a=sendrecv', 'a=rtcp-mux', '']);
  });

  test('setAttribute on a line kept with raw writes the new value', () => {
    const s = parseSdp('v=0\r\na= ptime :20\r\n');
    expect(getAttribute(s, 'ptime')).toMatchObject({ value: '20', raw: 'a= ptime :20' });
    setAttribute(s, 'ptime', '30');
    expect(stringifySdp(s)).toBe('v=0\r\na=ptime:30\r\n');
  });
});

describe('direction', () => {
  test('media-level, else session-level, else sendrecv', () => {
    const s = parseSdp(SESSION_LEVEL_ODDITIES);
    expect(getDirection(s)).toBe('recvonly');
    expect(getDirection(s, s.media[0])).toBe('recvonly');
    const multi = parseSdp(MULTI_STREAM_OFFER);
    expect(multi.media.map((m) => getDirection(multi, m))).toEqual(['sendrecv', 'recvonly', 'sendonly', 'sendrecv']);
    // a direction name with a value is not a direction attribute
    expect(getDirection(parseSdp('v=0\r\na=sendonly:x\r\n'))).toBe('sendrecv');
  });

  test('setDirection replaces in place and removes duplicates', () => {
    const s = parseSdp('v=0\r\nm=audio 1 RTP/AVP 0\r\na=sendonly\r\na=ptime:20\r\na=inactive\r\n');
    setDirection(s.media[0]!, 'recvonly');
    expect(stringifySdp(s)).toBe('v=0\r\nm=audio 1 RTP/AVP 0\r\na=recvonly\r\na=ptime:20\r\n');
    setDirection(s, 'inactive');
    expect(stringifySdp(s)).toBe('v=0\r\na=inactive\r\nm=audio 1 RTP/AVP 0\r\na=recvonly\r\na=ptime:20\r\n');
    expect(() => setDirection(s, 'both' as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }) as Error);
  });
});

describe('a=rtcp', () => {
  test('read and write', () => {
    expect(parseRtcp('9 IN IP4 0.0.0.0')).toEqual({ port: 9, netType: 'IN', addrType: 'IP4', address: '0.0.0.0' });
    expect(parseRtcp('53020')).toEqual({ port: 53020 });
    for (const bad of [undefined, '', 'x', '70000', '9 IN IP4', '9 IN IP4 a b']) expect(parseRtcp(bad)).toBeUndefined();
    expect(formatRtcp({ port: 9, address: '2001:db8::1' })).toBe('9 IN IP6 2001:db8::1');
    expect(formatRtcp({ port: 53020 })).toBe('53020');
  });
});

describe('a=rtpmap and a=fmtp', () => {
  test('rtpmap', () => {
    expect(parseRtpmap('96 opus/48000/2')).toEqual({ payloadType: 96, encodingName: 'opus', clockRate: 48000, encodingParameters: 2 });
    expect(parseRtpmap('0 PCMU/8000 ')).toEqual({ payloadType: 0, encodingName: 'PCMU', clockRate: 8000 });
    for (const bad of [undefined, '', '96', '128 x/8000', '96 opus', '96 opus/0', '96 /8000', '96 opus/48000/2/1', '96 opus/48000/x', 'x opus/8000']) {
      expect(parseRtpmap(bad)).toBeUndefined();
    }
    expect(formatRtpmap({ payloadType: 96, encodingName: 'opus', clockRate: 48000, encodingParameters: 2 })).toBe('96 opus/48000/2');
  });

  test('fmtp and its parameters', () => {
    expect(parseFmtp('111 minptime=10;useinbandfec=1')).toEqual({ format: '111', parameters: 'minptime=10;useinbandfec=1' });
    expect(parseFmtp('101 0-15')).toEqual({ format: '101', parameters: '0-15' });
    expect(parseFmtp('101')).toEqual({ format: '101', parameters: '' });
    expect(parseFmtp(' 101')).toBeUndefined();
    const p = parseFmtpParameters('Profile-Level-Id=42e01f; packetization-mode=1;;0-15');
    expect([...p]).toEqual([['profile-level-id', '42e01f'], ['packetization-mode', '1'], ['0-15', '']]);
    expect(formatFmtpParameters(p)).toBe('profile-level-id=42e01f;packetization-mode=1;0-15');
    expect(formatFmtpParameters({ minptime: '10', useinbandfec: '1' })).toBe('minptime=10;useinbandfec=1');
  });

  test('static payload types (RFC 3551)', () => {
    expect(staticPayloadType('pcmu', 8000)).toBe(0);
    expect(staticPayloadType('G722', 8000)).toBe(9);
    expect(staticPayloadType('L16', 44100, 2)).toBe(10);
    expect(staticPayloadType('opus', 48000, 2)).toBeUndefined();
  });

  test('getCodecs resolves formats by rtpmap, then the static table', () => {
    const s = parseSdp('v=0\r\nm=audio 1 RTP/AVP 0 8 96 99 101\r\na=rtpmap:96 opus/48000/2\r\na=fmtp:96 useinbandfec=1\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n');
    expect(getCodecs(s.media[0]!)).toEqual([
      { payloadType: 0, name: 'PCMU', clockRate: 8000, channels: 1 },
      { payloadType: 8, name: 'PCMA', clockRate: 8000, channels: 1 },
      { payloadType: 96, name: 'opus', clockRate: 48000, channels: 2, fmtp: 'useinbandfec=1' },
      { payloadType: 101, name: 'telephone-event', clockRate: 8000, channels: 1, fmtp: '0-16' },
    ]);
    const webrtc = parseSdp(WEBRTC_OFFER);
    expect(getCodecs(webrtc.media[1]!).map((c) => `${c.payloadType} ${c.name}`)).toEqual(['96 VP8', '97 rtx', '102 H264', '103 rtx']);
  });

  test('codecMatches: name, rate, channels, and the fmtp parameters that define the format', () => {
    const offered = (name: string, clockRate: number, fmtp?: string, channels = 1): SdpCodec => ({ payloadType: 96, name, clockRate, channels, fmtp });
    expect(codecMatches(offered('PCMU', 8000), { name: 'pcmu', clockRate: 8000 })).toBe(true);
    expect(codecMatches(offered('opus', 48000, undefined, 2), { name: 'opus', clockRate: 48000 })).toBe(false);
    expect(codecMatches(offered('opus', 48000, 'useinbandfec=1', 2), { name: 'opus', clockRate: 48000, channels: 2, fmtp: 'minptime=10' })).toBe(true);
    expect(codecMatches(offered('telephone-event', 48000), { name: 'telephone-event', clockRate: 8000 })).toBe(false);
    const h264 = (fmtp: string): SdpCodec => offered('H264', 90000, fmtp);
    expect(codecMatches(h264('profile-level-id=42e01f;packetization-mode=1'), { name: 'H264', clockRate: 90000, fmtp: 'packetization-mode=1;profile-level-id=42001f' })).toBe(true);
    expect(codecMatches(h264('profile-level-id=42e01f;packetization-mode=1'), { name: 'H264', clockRate: 90000, fmtp: 'profile-level-id=42e01f' })).toBe(false);
    expect(codecMatches(h264('profile-level-id=640c1f;packetization-mode=1'), { name: 'H264', clockRate: 90000, fmtp: 'profile-level-id=42e01f;packetization-mode=1' })).toBe(false);
    expect(codecMatches(h264(''), { name: 'H264', clockRate: 90000, fmtp: 'profile-level-id=420015' })).toBe(true);
    expect(codecMatches(offered('AMR-WB', 16000, 'octet-align=1'), { name: 'AMR-WB', clockRate: 16000 })).toBe(false);
    expect(codecMatches(offered('AMR-WB', 16000, 'octet-align=1; mode-set=0,1,2'), { name: 'AMR-WB', clockRate: 16000, fmtp: 'octet-align=1' })).toBe(true);
    expect(codecMatches(offered('VP9', 90000, 'profile-id=2'), { name: 'VP9', clockRate: 90000 })).toBe(false);
    expect(codecMatches(offered('G729', 8000, 'annexb=yes'), { name: 'G729', clockRate: 8000, match: (c) => c.fmtp !== 'annexb=yes' })).toBe(false);
  });
});

describe('a=candidate', () => {
  test('every candidate of a browser offer reads and writes back as it came', () => {
    const s = parseSdp(WEBRTC_OFFER);
    const m = s.media[0]!;
    const values = getAttributes(m, 'candidate').map((a) => a.value);
    expect(values).toHaveLength(5);
    expect(getCandidates(m).map(formatCandidate)).toEqual(values);
  });

  test('fields', () => {
    expect(parseCandidate('candidate:3352353590 1 udp 1686052607 203.0.113.5 50704 typ srflx raddr 192.0.2.33 rport 50704 generation 0 network-id 1')).toEqual({
      foundation: '3352353590',
      component: 1,
      transport: 'udp',
      priority: 1686052607,
      address: '203.0.113.5',
      port: 50704,
      type: 'srflx',
      relatedAddress: '192.0.2.33',
      relatedPort: 50704,
      extensions: [['generation', '0'], ['network-id', '1']],
    });
    expect(parseCandidate('1 1 tcp 1518280447 192.0.2.33 9 typ host tcptype active')?.extensions).toEqual([['tcptype', 'active']]);
    for (const bad of [undefined, '', '1 1 udp 1 192.0.2.1 5000 host', '1 0 udp 1 192.0.2.1 5000 typ host', '1 1 udp x 192.0.2.1 5000 typ host', '1 1 udp 1 192.0.2.1 99999 typ host', '1 1 udp 1 192.0.2.1 5000 typ host generation', '1 1 udp 1 192.0.2.1 5000 typ srflx raddr 192.0.2.2 rport x']) {
      expect(parseCandidate(bad)).toBeUndefined();
    }
  });
});
