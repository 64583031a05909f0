import { describe, expect, it } from 'vitest';
import { addressForLogs } from '../src/address.ts';

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
