import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  contains,
  formatCidr,
  formatIp,
  isHostAddress,
  networkOf,
  nth,
  parseCidr,
  parseIp,
  parsePortSpec,
  size,
} from '../../src/util/ip.js';

describe('IP addresses', () => {
  it('reads and writes IPv4', () => {
    expect(parseIp('10.47.0.5')).toEqual({ family: 4, value: 0x0a2f0005n });
    expect(formatIp(parseIp('192.168.1.254')!)).toBe('192.168.1.254');
    for (const bad of ['10.47.0', '10.47.0.256', '10.047.0.1', '1.2.3.4.5', 'a.b.c.d', '', '10.0.0.1 ']) {
      expect(parseIp(bad), bad).toBeUndefined();
    }
  });

  it('reads IPv6 in every short form and writes the canonical one', () => {
    const cases: [string, string][] = [
      ['fd47::5', 'fd47::5'],
      ['FD47:0:0:0:0:0:0:5', 'fd47::5'],
      ['::', '::'],
      ['::1', '::1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['fe80::', 'fe80::'],
      ['1:0:2:0:3:0:4:0', '1:0:2:0:3:0:4:0'],
      ['::ffff:10.1.2.3', '::ffff:a01:203'],
    ];
    for (const [input, out] of cases) expect(formatIp(parseIp(input)!), input).toBe(out);
    for (const bad of ['fd47:::5', '1::2::3', '12345::', '1:2:3:4:5:6:7:8:9', ':1', 'g::1', '1:2:3:4:5:6:7']) {
      expect(parseIp(bad), bad).toBeUndefined();
    }
  });

  it('writes back any IPv6 address it read, and reads back what it wrote', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), (value) => {
        const text = formatIp({ family: 6, value });
        expect(parseIp(text)).toEqual({ family: 6, value });
      }),
    );
    fc.assert(
      fc.property(fc.ipV6(), (text) => {
        expect(parseIp(text)?.family).toBe(6);
      }),
    );
  });

  it('handles prefixes, subnets and host addresses', () => {
    const pool = parseCidr('10.47.0.0/16')!;
    expect(formatCidr(networkOf(parseCidr('10.47.3.9/16')!))).toBe('10.47.0.0/16');
    expect(contains(pool, parseIp('10.47.255.1')!)).toBe(true);
    expect(contains(pool, parseIp('10.48.0.1')!)).toBe(false);
    expect(contains(pool, parseIp('fd47::1')!)).toBe(false);
    expect(size(pool)).toBe(65536n);
    expect(formatIp(nth(pool, 100n))).toBe('10.47.0.100');
    expect(isHostAddress(pool, parseIp('10.47.0.0')!)).toBe(false);
    expect(isHostAddress(pool, parseIp('10.47.255.255')!)).toBe(false);
    expect(isHostAddress(pool, parseIp('10.47.255.254')!)).toBe(true);
    expect(parseCidr('10.47.0.5')).toMatchObject({ prefix: 32 });
    expect(parseCidr('10.47.0.5', 16)).toMatchObject({ prefix: 16 });
    expect(parseCidr('fd47::5/64')).toMatchObject({ family: 6, prefix: 64 });
    for (const bad of ['10.0.0.1/33', 'fd47::/129', '10.0.0.1/', '10.0.0.1/x', '10.0.0.1/024']) expect(parseCidr(bad), bad).toBeUndefined();
  });

  it('reads port forwards', () => {
    expect(parsePortSpec('8080:80')).toEqual({ hostPort: 8080, guestPort: 80, proto: 'tcp' });
    expect(parsePortSpec('53/udp')).toEqual({ hostPort: 53, guestPort: 53, proto: 'udp' });
    expect(parsePortSpec('8443:443/tcp')).toEqual({ hostPort: 8443, guestPort: 443, proto: 'tcp' });
    for (const bad of ['0:80', '70000', '80:0', '80/sctp', 'http', '80:', ':80']) expect(parsePortSpec(bad), bad).toBeUndefined();
  });
});
