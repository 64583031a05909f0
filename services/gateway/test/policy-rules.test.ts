/**
 * A range rule reads a value's number as the store's "only increases" does (valueNumber of
 * @cloudvars/rooms): one reading of what a number is, so a leaderboard with both rules never
 * accepts by one what the other refuses as no number.
 */
import { describe, expect, it } from 'vitest';
import { breaksRange, type ProjectPolicy } from '../src/policy/policy.ts';

const SCORE = '☁ score';
const policy: ProjectPolicy = { rules: { [SCORE]: { min: 1, max: 100 } } };
/** How a Scratch 3 client's JSON string "50" is stored (the protocol's string mark). */
const marked = (text: string): string => `\u0001${text}`;

describe('range rules', () => {
  it('keeps a decimal number inside the range, as a number or as a marked string', () => {
    expect(['1', '50', '100', '5e1', '99.5', marked('50')].map((value) => breaksRange(policy, SCORE, value))).toEqual([
      false,
      false,
      false,
      false,
      false,
      false,
    ]);
  });

  it('breaks on a number outside it', () => {
    expect(['0', '101', '-5', marked('1000')].map((value) => breaksRange(policy, SCORE, value))).toEqual([true, true, true, true]);
  });

  it('breaks on what the store reads as no number: hex, spaces, Infinity, empty text, words', () => {
    expect(['0x10', ' 5', '5 ', 'Infinity', '', 'abc', marked(marked('5'))].map((value) => breaksRange(policy, SCORE, value))).toEqual([
      true,
      true,
      true,
      true,
      true,
      true,
      true,
    ]);
  });

  it('leaves variables no rule names alone', () => {
    expect(breaksRange(policy, '☁ other', 'abc')).toBe(false);
  });
});
