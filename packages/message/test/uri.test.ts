import { parseUri, stringifyUri, type SipUri } from '@sipts/message';

describe('parseUri', () => {
  it('parses user, password, host, port, params and headers', () => {
    expect(parseUri('sips:alice:secret@atlanta.com:5061;transport=tcp;lr?subject=project%20x&priority=urgent')).toStrictEqual({
      schema: 'sips',
      user: 'alice',
      password: 'secret',
      host: 'atlanta.com',
      port: 5061,
      params: { transport: 'tcp', lr: null },
      headers: { subject: 'project%20x', priority: 'urgent' },
    });
  });

  it('keeps IPv6 brackets in host', () => {
    const u = parseUri('sip:[2001:db8::10]:5070;maddr=[2001:db8::9]') as SipUri;
    expect(u.host).toBe('[2001:db8::10]');
    expect(u.port).toBe(5070);
    expect(u.params).toEqual({ maddr: '[2001:db8::9]' });
    expect(parseUri('sip:[2001:db8::10]')!.port).toBeUndefined();
  });

  it('keeps %-escapes as written (RFC 4475 §3.1.1.3, §3.1.1.4)', () => {
    const u = parseUri('sip:%75se%72@example.com') as SipUri;
    expect(u.user).toBe('%75se%72');
    expect(decodeURIComponent(u.user!)).toBe('user');
    expect(parseUri('sip:null-%00-null@example.com')!.user).toBe('null-%00-null');
  });

  it('splits userinfo at the first "@": ";", "?", "," and ":" may be in the user part (RFC 4475 §3.1.1.2, §3.1.1.9)', () => {
    expect(parseUri('sip:user;par=u%40example.net@example.com')).toMatchObject({ user: 'user;par=u%40example.net', host: 'example.com', params: {} });
    const odd = parseUri("sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com") as SipUri;
    expect(odd.user).toBe("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    expect(odd.password).toBe("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
    expect(odd.host).toBe('example.com');
  });

  it('parses tel: URIs with the number as user', () => {
    expect(parseUri('tel:+1-201-555-0123;phone-context=example.com')).toStrictEqual({
      schema: 'tel',
      user: '+1-201-555-0123',
      password: undefined,
      host: '',
      port: undefined,
      params: { 'phone-context': 'example.com' },
      headers: {},
    });
  });

  it('keeps other absolute URIs opaque', () => {
    const u = parseUri('http://www.example.com/x?y') as SipUri;
    expect(u).toMatchObject({ schema: 'http', host: '', opaque: '//www.example.com/x?y' });
    expect(stringifyUri(u)).toBe('http://www.example.com/x?y');
    expect(parseUri('nobodyKnowsThisScheme:totallyopaquecontent')!.opaque).toBe('totallyopaquecontent');
  });

  it.each(['', 'sip:', 'sip:@host', 'sip:host:99999', 'sip:host:', 'sip:a b@host', 'sip:host;=x', 'sip:host;x=', 'sip:host?a', 'sip:host?a=1&', '<sip:a@b>', '1sip:host', 'sip:[::1', 'sip:host>'])(
    'returns undefined for %j',
    (s) => {
      expect(parseUri(s)).toBeUndefined();
    },
  );

  it('returns an object unchanged and undefined for non-strings', () => {
    const u = parseUri('sip:a@b') as SipUri;
    expect(parseUri(u)).toBe(u);
    expect(parseUri(undefined as unknown as string)).toBeUndefined();
  });
});

describe('stringifyUri', () => {
  it.each([
    'sip:alice@atlanta.com',
    'sips:alice:secret@atlanta.com:5061;transport=tcp;lr?subject=project%20x&priority=urgent',
    'sip:[2001:db8::10]:5070;maddr=[2001:db8::9]',
    'sip:%75se%72@example.com',
    'tel:+1-201-555-0123;phone-context=example.com',
    'sip:host',
  ])('round-trips %s', (s) => {
    expect(stringifyUri(parseUri(s)!)).toBe(s);
  });

  it('returns strings unchanged and fills defaults like sip', () => {
    expect(stringifyUri('sip:x')).toBe('sip:x');
    expect(stringifyUri({ host: 'example.com', params: {}, headers: {} } as unknown as SipUri)).toBe('sip:example.com');
    // sip's parseUri leaves port NaN when absent: written as no port
    expect(stringifyUri({ schema: 'sip', host: 'h', port: NaN, params: {}, headers: {} })).toBe('sip:h');
    // a bare IPv6 address gets its brackets
    expect(stringifyUri({ schema: 'sip', user: 'u', host: '::1', port: 5060, params: { lr: null }, headers: {} })).toBe('sip:u@[::1]:5060;lr');
  });
});
