import { describe, expect, it } from 'vitest';
import { addressForLimits, addressForLogs } from '../src/address.ts';

describe('addressForLogs', () => {
  it('keeps addresses as they are unless anonymization is on', () => {
    expect(addressForLogs('2001:db8::abcd', false)).toBe('2001:db8::abcd');
  });

  it.each([
    ['10.1.2.3', '10.1.2.0'],
    ['::ffff:10.1.2.3', '10.1.2.0'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1::'],
    // `::` stands for the zero groups: the host part (abcd) must not slide into the /48.
    ['2001:db8::abcd', '2001:db8:0::'],
    ['::1', '0:0:0::'],
  ])('cuts %s to %s', (address, logged) => {
    expect(addressForLogs(address, true)).toBe(logged);
  });
});

describe('addressForLimits', () => {
  it.each([
    ['10.1.2.3', 64, '10.1.2.3'],
    ['::ffff:10.1.2.3', 64, '10.1.2.3'],
    ['2001:db8:1:2:3:4:5:6', 64, '2001:db8:1:2:0:0:0:0/64'],
    ['2001:db8:1:2::ffff', 64, '2001:db8:1:2:0:0:0:0/64'],
    ['2001:db8:1:2:3:4:5:6', 48, '2001:db8:1:0:0:0:0:0/48'],
    ['2001:db8:1:2ff:3:4:5:6', 56, '2001:db8:1:200:0:0:0:0/56'],
    ['2001:db8::1', 128, '2001:db8:0:0:0:0:0:1/128'],
  ])('counts %s with a /%i prefix as %s', (address, bits, key) => {
    expect(addressForLimits(address, bits)).toBe(key);
  });

  it('puts every address of one /64 under one key, and another /64 under another', () => {
    const keys = ['2001:db8:a:b::1', '2001:db8:a:b:ffff:ffff:ffff:ffff', '2001:db8:a:b:1234::9'].map((a) => addressForLimits(a, 64));
    expect(new Set(keys).size).toBe(1);
    expect(addressForLimits('2001:db8:a:c::1', 64)).not.toBe(keys[0]);
  });
});
