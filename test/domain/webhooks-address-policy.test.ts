import { classifyAddress, decideTarget, parseAllowList, validateWebhookUrl } from '../../src/domain/webhooks';

const none = parseAllowList([]);

describe('address classification', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'linkLocal'],
    ['169.254.0.1', 'linkLocal'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['100.127.255.254', 'carrierGradeNat'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'linkLocal'],
    ['febf::1', 'linkLocal'],
    ['fc00::1', 'uniqueLocal'],
    ['fd12:3456::1', 'uniqueLocal'],
    ['ff02::1', 'multicast'],
    ['[::1]', 'loopback'],
    ['fe80::1%eth0', 'linkLocal'],
  ])('%s is %s and refused', (ip, range) => {
    expect(classifyAddress(ip)).toMatchObject({ range, public: false });
  });

  it.each([
    ['::ffff:127.0.0.1', '127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', '127.0.0.1', 'loopback'],
    ['::ffff:169.254.169.254', '169.254.169.254', 'linkLocal'],
    ['::ffff:10.0.0.1', '10.0.0.1', 'private'],
    ['0:0:0:0:0:ffff:c0a8:0101', '192.168.1.1', 'private'],
  ])('IPv4-mapped %s is judged as %s', (ip, address, range) => {
    expect(classifyAddress(ip)).toEqual({ address, range, public: false });
  });

  it.each([['::127.0.0.1'], ['::7f00:1'], ['::a00:1']])('IPv4-compatible %s is refused', (ip) => {
    expect(classifyAddress(ip)).toMatchObject({ public: false });
  });

  it.each([
    ['2130706433', '127.0.0.1'],
    ['0177.0.0.1', '127.0.0.1'],
    ['0x7f.0.0.1', '127.0.0.1'],
    ['017700000001', '127.0.0.1'],
    ['3232235777', '192.168.1.1'],
  ])('legacy numeric form %s is read as %s', (ip, address) => {
    expect(classifyAddress(ip)).toMatchObject({ address, public: false });
  });

  it.each([['64:ff9b::7f00:1', 'rfc6052'], ['2002:7f00:1::1', '6to4'], ['2001:0:4136:e378::1', 'teredo']])(
    'translation/tunnel address %s (%s) is refused',
    (ip, range) => {
      expect(classifyAddress(ip)).toMatchObject({ range, public: false });
    },
  );

  it.each([['93.184.216.34'], ['8.8.8.8'], ['1.1.1.1'], ['2606:4700:4700::1111'], ['2a00:1450:4001::200e']])('%s is public', (ip) => {
    expect(classifyAddress(ip)).toMatchObject({ range: 'unicast', public: true });
  });

  it('returns null for host names', () => {
    expect(classifyAddress('example.com')).toBeNull();
    expect(classifyAddress('localhost')).toBeNull();
  });
});

describe('target decision and allow list', () => {
  it('refuses private addresses by default, with a reason naming the address', () => {
    expect(decideTarget('evil.example', '169.254.169.254', none)).toEqual({
      allowed: false,
      reason: expect.stringContaining('169.254.169.254 (linkLocal)'),
    });
    expect(decideTarget('ok.example', '93.184.216.34', none)).toEqual({ allowed: true });
  });

  it('admits allow-listed CIDRs, addresses and host names only', () => {
    const allow = parseAllowList(['127.0.0.0/8', '::1/128', '10.9.8.7', 'receiver.internal']);
    expect(decideTarget('x', '127.0.0.5', allow).allowed).toBe(true);
    expect(decideTarget('x', '::ffff:127.0.0.5', allow).allowed).toBe(true);
    expect(decideTarget('x', '::1', allow).allowed).toBe(true);
    expect(decideTarget('x', '10.9.8.7', allow).allowed).toBe(true);
    expect(decideTarget('x', '10.9.8.8', allow).allowed).toBe(false);
    expect(decideTarget('Receiver.Internal.', '192.168.7.7', allow).allowed).toBe(true);
    expect(decideTarget('other.internal', '192.168.7.7', allow).allowed).toBe(false);
  });

  it('rejects a malformed CIDR in configuration', () => {
    expect(() => parseAllowList(['10.0.0.0/99'])).toThrow(/CIDR/);
  });
});

describe('subscription URL rules', () => {
  const prod = { allowHttp: false, allow: none };
  const dev = { allowHttp: true, allow: parseAllowList(['127.0.0.0/8']) };

  it('accepts https and returns the normalised URL', () => {
    expect(validateWebhookUrl('https://Hooks.Example.com/in?x=1', prod)).toEqual({ ok: true, url: 'https://hooks.example.com/in?x=1' });
  });

  it('requires https in production, allows http only when configured', () => {
    expect(validateWebhookUrl('http://hooks.example.com/', prod)).toEqual({ ok: false, message: 'url must use https' });
    expect(validateWebhookUrl('http://hooks.example.com/', dev)).toMatchObject({ ok: true });
    expect(validateWebhookUrl('ftp://hooks.example.com/', dev)).toMatchObject({ ok: false });
  });

  it('rejects relative URLs, credentials and over-long URLs', () => {
    expect(validateWebhookUrl('/hook', prod)).toMatchObject({ ok: false });
    expect(validateWebhookUrl('https://user:pw@hooks.example.com/', prod)).toMatchObject({ ok: false, message: expect.stringContaining('credentials') });
    expect(validateWebhookUrl(`https://hooks.example.com/${'a'.repeat(2100)}`, prod)).toMatchObject({ ok: false });
  });

  it.each([
    ['https://127.0.0.1/'],
    ['https://2130706433/'],
    ['https://0177.0.0.1/'],
    ['https://0x7f000001/'],
    ['https://[::1]/'],
    ['https://[::ffff:169.254.169.254]/'],
    ['https://169.254.169.254/latest/meta-data'],
    ['https://10.0.0.1/'],
    ['https://localhost/'],
    ['https://api.localhost/'],
  ])('rejects the non-public literal or localhost target %s', (url) => {
    expect(validateWebhookUrl(url, prod)).toMatchObject({ ok: false });
  });

  it('accepts a loopback literal that is allow-listed (development)', () => {
    expect(validateWebhookUrl('http://2130706433:8080/in', dev)).toEqual({ ok: true, url: 'http://127.0.0.1:8080/in' });
  });
});
