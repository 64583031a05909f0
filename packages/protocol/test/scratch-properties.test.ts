import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CLOUD_PREFIX,
  DEFAULT_LIMITS,
  dialects,
  encodeClientSet,
  encodeHandshake,
  encodeScratchCreate,
  encodeScratchDelete,
  encodeScratchRename,
  encodeSet,
  joinFrame,
  parseFrameMessages,
  parseHandshakeFrame,
  parseServerFrame,
  projectIdToRoom,
  readStoredValue,
  storeValue,
} from '../src/index.ts';
import type { ClientMessage, FrameMessages, ProtocolError } from '../src/index.ts';

const { scratch } = dialects;

/** Names as today's clients write them: either prefix, then any well-formed unicode. */
const name = fc
  .tuple(fc.constantFrom(CLOUD_PREFIX, ':cloud: '), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }))
  .map(([prefix, rest]) => prefix + rest);
const numberText = fc.stringMatching(/^-?(?:[0-9]{1,12}(?:\.[0-9]{0,6})?|\.[0-9]{1,6})(?:[eE][+-]?[0-9]{1,3})?$/);
const finite = fc.double({ noNaN: true, noDefaultInfinity: true });

/** A line of a scratch frame: well-formed messages of every method, and junk. Never a raw newline. */
const line = fc
  .oneof(
    fc.record({ method: fc.constantFrom('set', 'create'), name, value: fc.oneof(numberText, finite, fc.string(), fc.boolean()) }),
    fc.record({ method: fc.constant('rename'), name, new_name: fc.oneof(name, fc.string()) }),
    fc.record({ method: fc.constant('delete'), name }),
    fc.record({ method: fc.oneof(fc.string(), fc.anything()), name: fc.anything(), value: fc.anything() }, { requiredKeys: [] }),
  )
  .map((message) => JSON.stringify(message))
  .chain((json) => fc.oneof({ weight: 8, arbitrary: fc.constant(json) }, fc.constantFrom('', ' ', '\r', 'nope', '[]', '42')));

const anyText = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.json(),
  fc.array(line, { maxLength: 5 }).map((lines) => lines.join('\n')),
  fc
    .record(
      {
        method: fc.oneof(fc.constantFrom('handshake', 'set', 'create', 'rename', 'delete'), fc.anything()),
        project_id: fc.oneof(fc.string(), fc.integer(), fc.double(), fc.anything()),
        user: fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]{0,22}$/), fc.anything()),
        name: fc.oneof(name, fc.anything()),
        new_name: fc.oneof(name, fc.anything()),
        value: fc.oneof(numberText, finite, fc.anything()),
      },
      { requiredKeys: [] },
    )
    .map((record) => JSON.stringify(record)),
);

function codeOf(error: ProtocolError | null): number | 'ok' {
  return error === null ? 'ok' : error.code;
}

/** What a frame of these lines must give: each non-blank line read alone, up to the first error. */
function lineByLine(lines: readonly string[]): FrameMessages {
  const messages: ClientMessage[] = [];
  let any = false;
  for (const text of lines) {
    if (/^[ \t\r]*$/.test(text)) continue;
    any = true;
    const alone = parseFrameMessages(text, scratch);
    messages.push(...alone.messages);
    if (alone.error !== null) return { messages, error: alone.error };
  }
  return { messages, error: any ? null : { code: 4000, reason: 'empty-frame' } };
}

describe('scratch dialect properties', () => {
  it("never throws on any text, and refuses only with 4000 (4002 for a first frame's user)", () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const first = parseHandshakeFrame(text, DEFAULT_LIMITS);
        expect([4000, 4002, 'ok']).toContain(first.ok ? 'ok' : first.error.code);
        expect([4000, 'ok']).toContain(codeOf(parseFrameMessages(text, scratch).error));
      }),
      { numRuns: 3000 },
    );
  });

  it('reads a frame of several lines as each line alone, in order, up to the first error', () => {
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 8 }), fc.boolean(), (lines, finalNewline) => {
        const frame = lines.join('\n') + (finalNewline ? '\n' : '');
        expect(parseFrameMessages(frame, scratch)).toEqual(lineByLine(lines));
      }),
      { numRuns: 2000 },
    );
  });

  it('returns the lines after a first-frame handshake unread, and they read as the next frame would', () => {
    fc.assert(
      fc.property(fc.array(line, { maxLength: 5 }), (lines) => {
        const frame = [encodeHandshake('scratch', '1', 'alice', []), ...lines].join('\n');
        const result = parseHandshakeFrame(frame, DEFAULT_LIMITS);
        expect(result.ok).toBe(true);
        if (!result.ok) return;
        const rest = result.value.rest;
        if (lines.every((text) => /^[ \t\r]*$/.test(text))) expect(rest).toBe('');
        else expect(parseFrameMessages(rest, scratch)).toEqual(lineByLine(lines));
      }),
      { numRuns: 1000 },
    );
  });

  it('round-trips client messages: set, create, rename, delete', () => {
    fc.assert(
      fc.property(name, numberText, name, (variable, value, newName) => {
        const frame = joinFrame([
          encodeClientSet('scratch', variable, value),
          encodeScratchCreate(variable, value),
          encodeScratchRename(variable, newName),
          encodeScratchDelete(variable),
        ]);
        expect(parseFrameMessages(frame, scratch)).toEqual({
          messages: [
            // A string of number text stays a string: it is stored marked.
            { kind: 'set', variable, value: storeValue(value), valid: true },
            { kind: 'set', variable, value: storeValue(value), valid: true },
            { kind: 'rename', variable, newName },
            { kind: 'delete', variable },
          ],
          error: null,
        });
      }),
      { numRuns: 1000 },
    );
  });

  it('reads every finite number value as String(n), a valid value', () => {
    fc.assert(
      fc.property(name, finite, (variable, n) => {
        const text = `{"method":"set","name":${JSON.stringify(variable)},"value":${JSON.stringify(n)}}`;
        expect(parseFrameMessages(text, scratch).messages).toEqual([{ kind: 'set', variable, value: String(n), valid: true }]);
      }),
      { numRuns: 2000 },
    );
  });

  it('round-trips a handshake: any project id becomes its room id, the username stays', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', minLength: 1, maxLength: 100 }), fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/), (projectId, username) => {
        const result = parseHandshakeFrame(encodeHandshake('scratch', projectId, username, [['☁ a', '1']]), DEFAULT_LIMITS);
        expect(result.ok).toBe(true);
        if (!result.ok) return;
        expect(result.value.dialect.name).toBe('scratch');
        expect(result.value.handshake).toEqual({
          kind: 'handshake',
          room: projectIdToRoom(projectId, DEFAULT_LIMITS),
          username,
          variables: null,
          replaced: [],
        });
      }),
      { numRuns: 1000 },
    );
  });

  it('round-trips server sets of any names and values, batched in one frame', () => {
    const text = fc.string({
      unit: fc.oneof(fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), fc.constantFrom('\n', '\u2028', '\u2029', '\u0085', '\ud800')),
    });
    fc.assert(
      fc.property(fc.array(fc.tuple(text, text), { minLength: 1, maxLength: 5 }), (sets) => {
        const frame = joinFrame(sets.map(([variable, value]) => encodeSet(scratch, variable, value)));
        expect(frame).not.toMatch(/[\u0085\u2028\u2029]/);
        // Each stored value goes out with its type; the client-side reader gives it as text.
        expect(parseServerFrame(frame, 'scratch')).toEqual(
          sets.map(([variable, stored]) => ({ kind: 'set', variable, value: String(readStoredValue(stored)), received: readStoredValue(stored) })),
        );
        expect(frame.split('\n').map((line) => (JSON.parse(line) as { value: unknown }).value)).toEqual(sets.map(([, stored]) => readStoredValue(stored)));
      }),
      { numRuns: 1000 },
    );
  });

  it('relays what a Scratch 3 client sent with its type: a number as a number, a string as a string', () => {
    fc.assert(
      fc.property(name, fc.oneof(finite, numberText, fc.string()), (variable, value) => {
        const parsed = parseFrameMessages(encodeClientSet('scratch', variable, value), scratch, { ...DEFAULT_LIMITS, allowTextValues: true }).messages[0];
        if (parsed?.kind !== 'set' || !parsed.valid) return;
        const relayed = JSON.parse(encodeSet(scratch, variable, parsed.value)) as { value: unknown };
        expect(relayed.value).toBe(value === 0 ? 0 : value);
      }),
      { numRuns: 2000 },
    );
  });
});
