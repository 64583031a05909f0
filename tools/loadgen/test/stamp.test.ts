import { describe, expect, it } from 'vitest';
import { decodeStamp, encodeStamp, MAX_SENDER, nowUs } from '../src/stamp.ts';

// The gateway's value rule (PROTOCOL.md): optional '-', digits with at most one '.', optional exponent.
const VALID_VALUE = /^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

describe('stamps', () => {
  it('round-trips send time and sender through a valid cloud value', () => {
    const t = nowUs();
    const value = encodeStamp(t, 4217);
    expect(value).toMatch(VALID_VALUE);
    expect(decodeStamp(value)).toEqual({ sentUs: Math.floor(t), sender: 4217 });
  });

  it('keeps sender 0 and the largest sender distinct from the time digits', () => {
    expect(decodeStamp(encodeStamp(5, 0))).toEqual({ sentUs: 5, sender: 0 });
    expect(decodeStamp(encodeStamp(0, MAX_SENDER))).toEqual({ sentUs: 0, sender: MAX_SENDER });
  });

  it('rejects senders that do not fit in the sender digits', () => {
    expect(() => encodeStamp(1, MAX_SENDER + 1)).toThrow(RangeError);
    expect(() => encodeStamp(1, -1)).toThrow(RangeError);
  });

  it('does not decode values it did not make', () => {
    for (const v of ['0', 'x', '123456', '1.5', '-1234567', '1e+21', '']) expect(decodeStamp(v)).toBeUndefined();
  });
});
