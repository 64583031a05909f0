import { describe, expect, it } from 'vitest';
import { decodeStamp, encodeStamp, MAX_SENDER, MAX_SEQ, nowUs } from '../src/stamp.ts';

// The gateway's value rule (PROTOCOL.md): optional '-', digits with at most one '.', optional exponent.
const VALID_VALUE = /^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

describe('stamps', () => {
  it('round-trips send time, sequence and sender through a valid cloud value', () => {
    const t = nowUs();
    const value = encodeStamp(t, 17, 4217);
    expect(value).toMatch(VALID_VALUE);
    expect(decodeStamp(value)).toEqual({ sentUs: Math.floor(t), seq: 17, sender: 4217 });
  });

  it('keeps zero and the largest fields distinct from the time digits', () => {
    expect(decodeStamp(encodeStamp(5, 0, 0))).toEqual({ sentUs: 5, seq: 0, sender: 0 });
    expect(decodeStamp(encodeStamp(0, MAX_SEQ, MAX_SENDER))).toEqual({ sentUs: 0, seq: MAX_SEQ, sender: MAX_SENDER });
  });

  it('rejects fields that do not fit in their digits', () => {
    expect(() => encodeStamp(1, 0, MAX_SENDER + 1)).toThrow(RangeError);
    expect(() => encodeStamp(1, -1, 0)).toThrow(RangeError);
    expect(() => encodeStamp(1, MAX_SEQ + 1, 0)).toThrow(RangeError);
  });

  it('does not decode values it did not make', () => {
    for (const v of ['0', 'x', '123456789012', '1.5', '-12345678901234', '1e+21', '']) expect(decodeStamp(v)).toBeUndefined();
  });
});
