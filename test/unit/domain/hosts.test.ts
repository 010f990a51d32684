import { describe, expect, it } from 'vitest';
import {
  addressRefusal,
  checkHost,
  type HostPolicy,
  parseAddress,
  parseHostPattern,
  resolvedRefusal,
} from '../../../lib/domain/hosts.js';

const policy = (allow: string[], allowLoopback = false): HostPolicy => ({
  allow: allow.map(parseHostPattern),
  allowLoopback,
});

describe('parseAddress', () => {
  it.each([
    ['10.0.0.1', 4, 0x0a000001n],
    ['::1', 6, 1n],
    ['[fe80::1%eth0]', 6, 0xfe80_0000_0000_0000_0000_0000_0000_0001n],
    ['::ffff:169.254.169.254', 4, 0xa9fea9fen],
    ['::ffff:a9fe:a9fe', 4, 0xa9fea9fen],
    ['64:ff9b::a9fe:a9fe', 4, 0xa9fea9fen],
    ['fd00:ec2::254', 6, 0xfd00_0ec2_0000_0000_0000_0000_0000_0254n],
    ['1:2:3:4:5:6:7:8', 6, 0x0001_0002_0003_0004_0005_0006_0007_0008n],
  ])('reads %s', (text, version, value) => {
    // Act / Assess
    expect(parseAddress(text)).toEqual({ version, value });
  });

  it.each(['256.0.0.1', '1.2.3', 'example.com', '1::2::3', '1:2:3:4:5:6:7:8:9', '::g', ''])(
    'refuses %s',
    (text) => {
      // Act / Assess
      expect(parseAddress(text)).toBeUndefined();
    },
  );
});

describe('parseHostPattern', () => {
  it.each([
    ['API.Example.com', { kind: 'name', name: 'api.example.com' }],
    ['*.eks.amazonaws.com', { kind: 'suffix', suffix: 'eks.amazonaws.com' }],
    ['10.1.2.3/16', { kind: 'cidr', version: 4, base: 0x0a010000n, bits: 16 }],
    ['10.1.2.3', { kind: 'cidr', version: 4, base: 0x0a010203n, bits: 32 }],
    ['fd12::/16', { kind: 'cidr', version: 6, base: 0xfd12n << 112n, bits: 16 }],
  ])('reads %s', (text, pattern) => {
    // Act / Assess
    expect(parseHostPattern(text)).toEqual(pattern);
  });

  it.each([
    ['10.0.0.0/33', '"10.0.0.0/33" is not a CIDR such as 10.0.0.0/16'],
    ['*', '"*" is not a hostname, *.suffix or CIDR'],
    ['https://x.example.com', '"https://x.example.com" is a URL: give its hostname only'],
    ['a.*.example.com', '"a.*.example.com" is not a hostname, *.suffix or CIDR'],
  ])('refuses %s with the reason', (text, message) => {
    // Act / Assess
    expect(() => parseHostPattern(text)).toThrow(message);
  });
});

describe('addressRefusal', () => {
  it.each([
    ['169.254.169.254', 'the instance metadata address'],
    ['fd00:ec2::254', 'the instance metadata address'],
    ['169.254.170.2', 'a link-local address'],
    ['fe80::1', 'a link-local address'],
    ['febf::1', 'a link-local address'],
    ['0.0.0.0', 'an unspecified address (the local host)'],
    ['::', 'an unspecified address (the local host)'],
  ])('always refuses %s (%s), loopback switch or not', (address, what) => {
    // Act / Assess
    expect(addressRefusal(policy([], true), address)).toBe(`${address} is ${what}`);
    expect(addressRefusal(policy([]), address)).toBe(`${address} is ${what}`);
  });

  it.each(['127.0.0.1', '127.8.9.10', '::1'])('refuses loopback %s unless the switch is set', (address) => {
    // Act / Assess
    expect(addressRefusal(policy([]), address)).toMatch(/is a loopback address/);
    expect(addressRefusal(policy([], true), address)).toBeUndefined();
  });

  it.each(['10.0.0.1', '203.0.113.7', 'fec0::1', '2001:db8::1'])('lets %s through', (address) => {
    // Act / Assess
    expect(addressRefusal(policy([]), address)).toBeUndefined();
  });
});

describe('checkHost', () => {
  it('allows any host but the refused ones when the allowlist is empty, resolving names', () => {
    // Act / Assess
    expect(checkHost(policy([]), '203.0.113.7')).toEqual({ resolve: false, byName: false });
    expect(checkHost(policy([]), 'api.example.com')).toEqual({ resolve: true, byName: false });
    expect(checkHost(policy([]), '169.254.169.254')).toEqual({
      refused: '169.254.169.254 is the instance metadata address',
    });
  });

  it('matches names exactly or below a wildcard suffix, never the suffix itself', () => {
    // Prepare
    const allow = policy(['api.example.com', '*.eks.amazonaws.com']);

    // Act / Assess
    expect(checkHost(allow, 'API.example.com.')).toEqual({ resolve: true, byName: true });
    expect(checkHost(allow, 'x.y.eks.amazonaws.com')).toEqual({ resolve: true, byName: true });
    expect(checkHost(allow, 'eks.amazonaws.com')).toEqual({
      refused: 'eks.amazonaws.com is not in the allowed cluster hosts',
    });
    expect(checkHost(allow, 'evil-eks.amazonaws.com')).toEqual({
      refused: 'evil-eks.amazonaws.com is not in the allowed cluster hosts',
    });
    expect(checkHost(allow, '10.0.0.1')).toEqual({ refused: '10.0.0.1 is not in the allowed cluster hosts' });
  });

  it('sends a name to resolution when only CIDRs could allow it', () => {
    // Act / Assess
    expect(checkHost(policy(['10.0.0.0/8']), 'api.internal')).toEqual({ resolve: true, byName: false });
    expect(checkHost(policy(['10.0.0.0/8']), '10.20.30.40')).toEqual({ resolve: false, byName: false });
  });

  it('refuses localhost names without the switch', () => {
    // Act / Assess
    expect(checkHost(policy([]), 'localhost')).toHaveProperty('refused');
    expect(checkHost(policy([]), 'api.localhost')).toHaveProperty('refused');
    expect(checkHost(policy([], true), 'localhost')).toEqual({ resolve: true, byName: false });
  });
});

describe('resolvedRefusal', () => {
  it('refuses a name if any address is refused, even when the name is allowed', () => {
    // Act / Assess
    expect(
      resolvedRefusal(policy(['*.example.com']), 'a.example.com', true, ['10.0.0.1', '169.254.169.254']),
    ).toBe('a.example.com resolves to 169.254.169.254 is the instance metadata address');
    expect(resolvedRefusal(policy([]), 'a.example.com', false, ['127.0.0.1'])).toMatch(/loopback/);
    expect(resolvedRefusal(policy([]), 'a.example.com', false, [])).toBe(
      'a.example.com resolves to no address',
    );
  });

  it('allows a name by CIDR only when all its addresses are inside', () => {
    // Prepare
    const allow = policy(['10.0.0.0/8']);

    // Act / Assess
    expect(resolvedRefusal(allow, 'api.internal', false, ['10.1.1.1', '10.2.2.2'])).toBeUndefined();
    expect(resolvedRefusal(allow, 'api.internal', false, ['10.1.1.1', '192.0.2.1'])).toBe(
      'api.internal resolves to 192.0.2.1, outside the allowed cluster hosts',
    );
    expect(resolvedRefusal(allow, 'api.internal', true, ['192.0.2.1'])).toBeUndefined();
  });
});
