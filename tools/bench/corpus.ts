// Realistic SIP messages for the parser benchmark, as they appear on the wire (CRLF line ends,
// Content-Length exact). Modelled on SIPp's default uac/uas scenarios and common UA traffic.
// tools/ is CommonJS for TypeScript (no "type": "module" here), hence `export =`.

const crlf = (lines: string[]): string => lines.join('\r\n');

function withBody(headLines: string[], body: string): string {
  return crlf([...headLines, 'Content-Length: ' + Buffer.byteLength(body), '', body]);
}

const SDP = crlf([
  'v=0',
  'o=user1 53655765 2353687637 IN IP4 127.0.1.1',
  's=-',
  'c=IN IP4 127.0.1.1',
  't=0 0',
  'm=audio 6000 RTP/AVP 0',
  'a=rtpmap:0 PCMU/8000',
  '',
]);

const SDP_ANSWER = crlf([
  'v=0',
  'o=user1 53655765 2353687637 IN IP4 10.0.0.20',
  's=-',
  'c=IN IP4 10.0.0.20',
  't=0 0',
  'm=audio 16384 RTP/AVP 0 8 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-15',
  'a=ptime:20',
  'a=sendrecv',
  '',
]);

/** SIPp uac INVITE (sipp -sn uac). */
const SIPP_INVITE = withBody(
  [
    'INVITE sip:service@127.0.0.1:5060 SIP/2.0',
    'Via: SIP/2.0/UDP 127.0.1.1:5061;branch=z9hG4bK-1075-1-0',
    'From: sipp <sip:sipp@127.0.1.1:5061>;tag=1075SIPpTag001',
    'To: service <sip:service@127.0.0.1:5060>',
    'Call-ID: 1-1075@127.0.1.1',
    'CSeq: 1 INVITE',
    'Contact: sip:sipp@127.0.1.1:5061',
    'Max-Forwards: 70',
    'Subject: Performance Test',
    'Content-Type: application/sdp',
  ],
  SDP,
);

/** A 200 OK to an INVITE that went through two record-routing proxies. */
const OK_WITH_RECORD_ROUTE = withBody(
  [
    'SIP/2.0 200 OK',
    'Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK.a7f3c1e2;rport=5060;received=10.0.0.1',
    'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-524287-1---8c1d2b0e1a7e3f44;rport=5060',
    'Record-Route: <sip:10.0.0.1;lr;ftag=as1a2b3c4d>',
    'Record-Route: <sip:proxy.example.com;transport=udp;lr>',
    'From: "Alice Example" <sip:alice@example.com>;tag=as1a2b3c4d',
    'To: <sip:bob@example.net>;tag=9fxced76sl',
    'Call-ID: 3848276298220188511@192.0.2.10',
    'CSeq: 102 INVITE',
    'Contact: <sip:bob@10.0.0.20:5060;transport=udp>',
    'Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY, MESSAGE, SUBSCRIBE, INFO, UPDATE',
    'Supported: replaces, timer',
    'Session-Expires: 1800;refresher=uas',
    'User-Agent: ExamplePhone/4.2.1',
    'Content-Type: application/sdp',
  ],
  SDP_ANSWER,
);

/** A REGISTER carrying digest credentials (RFC 3261 §22.4). */
const REGISTER_WITH_AUTH = withBody(
  [
    'REGISTER sip:example.com SIP/2.0',
    'Via: SIP/2.0/UDP 192.0.2.55:5060;branch=z9hG4bK-d8754z-1f8e2c9a0b1d3e4f;rport',
    'Max-Forwards: 70',
    'Contact: <sip:alice@192.0.2.55:5060;rinstance=8a7b6c5d4e3f2a1b>;expires=3600;+sip.instance="<urn:uuid:00000000-0000-1000-8000-000A95A0E128>"',
    'To: "Alice" <sip:alice@example.com>',
    'From: "Alice" <sip:alice@example.com>;tag=5c7b2a9d',
    'Call-ID: NjU0ZmM3ODE2YTYwYmE0ZDQ0YjQ1OTZmZGI2ZjY1YjA',
    'CSeq: 2 REGISTER',
    'Expires: 3600',
    'Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO, SUBSCRIBE',
    'Supported: replaces, outbound, path',
    'User-Agent: ExamplePhone/4.2.1',
    'Authorization: Digest username="alice",realm="example.com",nonce="5f0b2a1c3d4e5f60718293a4b5c6d7e8",uri="sip:example.com",response="6629fae49393a05397450978507c4ef1",algorithm=MD5,cnonce="0a4f113b",qop=auth,nc=00000001',
  ],
  '',
);

/** A 180 Ringing back to SIPp. */
const RINGING = withBody(
  [
    'SIP/2.0 180 Ringing',
    'Via: SIP/2.0/UDP 127.0.1.1:5061;branch=z9hG4bK-1075-1-0;received=127.0.1.1',
    'From: sipp <sip:sipp@127.0.1.1:5061>;tag=1075SIPpTag001',
    'To: service <sip:service@127.0.0.1:5060>;tag=1076SIPpTag011',
    'Call-ID: 1-1075@127.0.1.1',
    'CSeq: 1 INVITE',
    'Contact: <sip:127.0.0.1:5060;transport=UDP>',
  ],
  '',
);

/** An INVITE that crossed ten proxies, five of which record-routed. */
const INVITE_10_VIA = withBody(
  [
    'INVITE sip:bob@10.0.0.20:5060 SIP/2.0',
    ...Array.from({ length: 10 }, (_, i) => `Via: SIP/2.0/UDP proxy${10 - i}.example.com:5060;branch=z9hG4bK${(0x5a17c0 + i * 7919).toString(16)}.${i};rport=5060;received=10.0.${i}.1`),
    'Max-Forwards: 60',
    ...Array.from({ length: 5 }, (_, i) => `Record-Route: <sip:proxy${5 - i}.example.com;lr;ftag=as1a2b3c4d;did=${i}f3.b1c2>`),
    'From: "Alice Example" <sip:alice@example.com>;tag=as1a2b3c4d',
    'To: <sip:bob@example.net>',
    'Call-ID: 3848276298220188511@192.0.2.10',
    'CSeq: 102 INVITE',
    'Contact: <sip:alice@192.0.2.10:5060;transport=udp>',
    'Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY',
    'Content-Type: application/sdp',
  ],
  SDP,
);

const CORPUS: ReadonlyArray<{ name: string; text: string }> = [
  { name: 'SIPp INVITE + SDP', text: SIPP_INVITE },
  { name: '200 OK + Record-Route + SDP', text: OK_WITH_RECORD_ROUTE },
  { name: 'REGISTER + Authorization', text: REGISTER_WITH_AUTH },
  { name: '180 Ringing', text: RINGING },
  { name: 'INVITE, 10 Via, 5 Record-Route', text: INVITE_10_VIA },
];

export = { CORPUS };
