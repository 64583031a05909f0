import { describe, expect, it } from 'vitest';
import { decodeCompactStamp, decodeStamp, encodeCompactStamp, encodeStamp, MAX_COMPACT_SEQ, MAX_SENDER, MAX_SEQ, nowUs } from '../src/stamp.ts';

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

describe('compact stamps (values sent as JSON numbers)', () => {
  it('round-trip sequence and sender through digits that a JavaScript number holds exactly', () => {
    const value = encodeCompactStamp(MAX_COMPACT_SEQ, MAX_SENDER);
    expect(value).toMatch(/^[1-9]\d*$/);
    expect(Number.isSafeInteger(Number(value))).toBe(true);
    expect(String(Number(value))).toBe(value);
    expect(decodeCompactStamp(value)).toEqual({ seq: MAX_COMPACT_SEQ, sender: MAX_SENDER });
    expect(decodeCompactStamp(encodeCompactStamp(0, 0))).toEqual({ seq: 0, sender: 0 });
    expect(decodeCompactStamp(encodeCompactStamp(41, 7))).toEqual({ seq: 41, sender: 7 });
  });

  it('rejects fields that do not fit, and values it did not make', () => {
    expect(() => encodeCompactStamp(MAX_COMPACT_SEQ + 1, 0)).toThrow(RangeError);
    expect(() => encodeCompactStamp(0, MAX_SENDER + 1)).toThrow(RangeError);
    for (const v of ['0', '123456', '0123456', '1234567890123', '1.5', '1e+21', '']) expect(decodeCompactStamp(v)).toBeUndefined();
  });
});
