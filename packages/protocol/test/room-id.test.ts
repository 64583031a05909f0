import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, isValidRoom, projectIdToRoom } from '../src/index.ts';
import type { ProtocolLimits } from '../src/index.ts';

/** Long enough for any generated id; the length bound has its own tests. */
const roomy: ProtocolLimits = { ...DEFAULT_LIMITS, maxProjectIdLength: 10_000 };

function room(id: unknown, limits: ProtocolLimits = roomy): string {
  const mapped = projectIdToRoom(id, limits);
  if (mapped === undefined) throw new Error(`expected a room for ${JSON.stringify(id)}`);
  return mapped;
}

/**
 * The inverse of the room-id rule, written independently: `%XX` bytes are WTF-8 (UTF-8 that
 * may encode lone surrogates), everything else is itself. Returns undefined for text the
 * rule can never produce.
 */
function decodeRoom(text: string): string | undefined {
  let out = '';
  let i = 0;
  const byteAt = (at: number): number | undefined => {
    const match = /^%([0-9A-F]{2})/.exec(text.slice(at, at + 3));
    return match === null ? undefined : parseInt(match[1] as string, 16);
  };
  while (i < text.length) {
    if (text[i] !== '%') {
      out += text[i];
      i++;
      continue;
    }
    const lead = byteAt(i);
    if (lead === undefined) return undefined;
    const extra = lead < 0x80 ? 0 : lead >= 0xf0 ? 3 : lead >= 0xe0 ? 2 : lead >= 0xc0 ? 1 : -1;
    if (extra < 0) return undefined;
    let point = extra === 0 ? lead : lead & (0x3f >> extra);
    for (let k = 1; k <= extra; k++) {
      const next = byteAt(i + 3 * k);
      if (next === undefined || (next & 0xc0) !== 0x80) return undefined;
      point = (point << 6) | (next & 0x3f);
    }
    out += String.fromCodePoint(point);
    i += 3 * (extra + 1);
  }
  return out;
}

/** Any UTF-16 string: unicode, lone surrogates, and the characters the rule must escape. */
const anyId = fc.string({
  unit: fc.oneof(
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
    fc.constantFrom('\ud800', '\udbff', '\udc00', '\udfff', '%', '~', '{', '}', ' ', '@', '$', '/', '-', '.', '_'),
  ),
  minLength: 1,
  maxLength: 60,
});

describe('projectIdToRoom', () => {
  it.each(['123', '0', 'abc-DEF_1.2', '__proto__', '.', '-'])('maps the id %j, which fits the room pattern, to itself', (id) => {
    expect(room(id)).toBe(id);
  });

  it.each([
    [' ', '%20'],
    ['%', '%25'],
    ['%41', '%2541'],
    ['~x', '%7Ex'],
    ['{a}', '%7Ba%7D'],
    ['é', '%C3%A9'],
    ['€', '%E2%82%AC'],
    ['😀', '%F0%9F%98%80'],
    ['\ud800', '%ED%A0%80'],
    ['\udc00x', '%ED%B0%80x'],
    ['\udc00\ud800', '%ED%B0%80%ED%A0%80'],
    ['p4-@My Game.sb3', 'p4-%40My%20Game.sb3'],
    ['p4-$https://x.org/p.sb3', 'p4-%24https%3A%2F%2Fx.org%2Fp.sb3'],
  ])('escapes %j as %j', (id, expected) => {
    expect(room(id)).toBe(expected);
  });

  it('reads non-negative safe integers as their decimal string, and refuses other numbers', () => {
    expect(room(123)).toBe('123');
    expect(room(-0)).toBe('0');
    for (const n of [-1, 1.5, 2 ** 53, Number.NaN, Infinity, 1e21]) expect(projectIdToRoom(n, roomy)).toBeUndefined();
  });

  it('refuses anything but a string or a number, and the empty string', () => {
    for (const id of [undefined, null, true, {}, [], ['1'], '']) expect(projectIdToRoom(id, roomy)).toBeUndefined();
  });

  it('bounds the project id by maxProjectIdLength (UTF-16 units as sent; 999 by default)', () => {
    expect(projectIdToRoom('9'.repeat(999), DEFAULT_LIMITS)).toBe('9'.repeat(999));
    expect(projectIdToRoom('9'.repeat(1000), DEFAULT_LIMITS)).toBeUndefined();
    expect(projectIdToRoom('é'.repeat(999), DEFAULT_LIMITS)).toHaveLength(999 * 6);
    expect(projectIdToRoom('12', { ...DEFAULT_LIMITS, maxProjectIdLength: 1 })).toBeUndefined();
  });

  it('is injective: decoding the room id gives back the project id', () => {
    fc.assert(
      fc.property(anyId, (id) => {
        expect(decodeRoom(room(id))).toBe(id);
      }),
      { numRuns: 3000 },
    );
  });

  it('never maps two different ids to one room', () => {
    fc.assert(
      fc.property(anyId, anyId, (a, b) => {
        fc.pre(a !== b);
        expect(room(a)).not.toBe(room(b));
      }),
      { numRuns: 3000 },
    );
  });

  it("agrees with encodeURIComponent on well-formed strings, once !'()*~ are escaped too", () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }), (id) => {
        const uri = encodeURIComponent(id).replace(/[!'()*~]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
        expect(room(id)).toBe(uri);
      }),
      { numRuns: 2000 },
    );
  });

  it('gives ASCII room ids without { } and never starting with ~, at most 9 chars per UTF-16 unit', () => {
    fc.assert(
      fc.property(anyId, (id) => {
        const mapped = room(id);
        expect(mapped).toMatch(/^(?:[A-Za-z0-9_.-]|%[0-9A-F]{2})+$/);
        expect(mapped).not.toMatch(/[{}]/);
        expect(mapped.startsWith('~')).toBe(false);
        expect(mapped.length).toBeLessThanOrEqual(9 * id.length);
      }),
      { numRuns: 2000 },
    );
  });

  it('maps an id to itself exactly when it fits the kind room pattern; otherwise it contains % and no kind room equals it', () => {
    fc.assert(
      fc.property(fc.oneof(anyId, fc.stringMatching(/^[A-Za-z0-9_.-]{1,40}$/)), (id) => {
        const mapped = room(id);
        const fits = /^[A-Za-z0-9_.-]+$/.test(id);
        expect(mapped === id).toBe(fits);
        if (!fits) {
          expect(mapped).toContain('%');
          expect(isValidRoom(mapped, { ...DEFAULT_LIMITS, maxRoomLength: Infinity })).toBe(false);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
