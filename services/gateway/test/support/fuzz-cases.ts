/**
 * Random connections for the gateway fuzz test, each with its expected outcome. The oracle
 * is how a case was generated, read off PROTOCOL.md's tables (never the protocol package):
 * a frame JSON.parse rejects closes with 4000; a value is generated either from the
 * documented number grammar (valid) or from a class the grammar can never match (invalid).
 * Every dialect: the 2020 `kind` dialects (seed, legacy), and today's `method` dialect
 * (scratch), whose frames hold several `\n`-separated messages and whose sets create the
 * room's variables. A case may end with a frame the server must close on (protocol error,
 * binary, oversized, invalid UTF-8) and keep sending after it: the close still arrives.
 */
import { MAX_VARIABLE_NAME_LENGTH, type DialectName } from '@cloudvars/protocol';
import fc from 'fast-check';
import { cloud, roomField, serverSet, variableField, type Outgoing } from './conformance.ts';

/**
 * Text frames whose bytes are not UTF-8 (ws closes with 1007). A class, so a frame can be
 * told from the JSON objects the other frames are.
 */
export class InvalidUtf8 {
  constructor(readonly bytes: Uint8Array) {}
}

/** A frame a fuzz case sends: text, bytes (a binary frame), JSON, or text of invalid UTF-8. */
export type FuzzFrame = Outgoing | InvalidUtf8;

/** Frames above this many bytes close with 1009; the fuzz gateway is started with it. */
export const FUZZ_MAX_PAYLOAD = 32 * 1024;
/** Values are held to this (MAX_VALUE_LENGTH) so that an over-long one fits in a fuzz frame. */
export const FUZZ_MAX_VALUE_LENGTH = 1023;
/** Rooms are held to this many variables (MAX_VARIABLES), so a handshake over it stays small. */
export const FUZZ_MAX_VARIABLES = 10;

/** The dialects whose handshake declares variables (the scratch dialect has cases of its own). */
type KindDialect = Exclude<DialectName, 'scratch'>;
const dialect: fc.Arbitrary<KindDialect> = fc.constantFrom('seed', 'legacy');
const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf'] as const;

// --- values -------------------------------------------------------------------------------
/** PROTOCOL.md's grammar, exponent spelled as it documents it (`e+N`/`e-N`). */
const validValue = fc.stringMatching(/^-?(?:[0-9]{1,12}(?:\.[0-9]{0,6})?|\.[0-9]{1,6})(?:e[+-][0-9]{1,3})?$/);
/** A character no number text can contain. */
const foreignChar = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }).filter((c) => !/[0-9.eE+-]/.test(c));
const invalidString = fc.oneof(
  fc.constantFrom('', '.', '-', '1e', '1e+', '--1', '1..2', '+1', ' 1', '1 ', '0x10', 'NaN', 'Infinity', '1'.repeat(FUZZ_MAX_VALUE_LENGTH + 1)),
  fc.tuple(validValue, foreignChar, fc.string({ maxLength: 5 })).map(([a, b, c]) => a + b + c),
);
const nonString = fc.jsonValue({ maxDepth: 2 }).filter((value) => typeof value !== 'string');
const invalidValue: fc.Arbitrary<unknown> = fc.oneof(invalidString, nonString);

// --- names, rooms, usernames ----------------------------------------------------------------
const validName = fc.oneof(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 16 }).map(cloud), fc.constantFrom(...PROTOTYPE_KEYS.map(cloud)));
const invalidName = fc.oneof(
  fc.constantFrom('', '\u2601', '\u2601 ', '\u2601x', 'score', ...PROTOTYPE_KEYS),
  fc.string({ maxLength: 10 }).filter((name) => !name.startsWith('\u2601 ')),
  // With the two-character prefix, one to 89 characters over the name limit.
  fc.integer({ min: MAX_VARIABLE_NAME_LENGTH - 1, max: MAX_VARIABLE_NAME_LENGTH + 87 }).map((n) => cloud('n'.repeat(n))),
);
const validUsername = fc.stringMatching(/^[A-Za-z0-9_-]{3,20}$/);
const invalidUsername = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9_-]{0,2}$/),
  fc.stringMatching(/^[A-Za-z0-9_-]{21,30}$/),
  fc
    .tuple(
      fc.stringMatching(/^[A-Za-z0-9]{2,9}$/),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }).filter((c) => !/[A-Za-z0-9_-]/.test(c)),
    )
    .map(([a, b]) => a + b + 'z'),
);
const invalidRoom = (d: DialectName): fc.Arbitrary<unknown> =>
  fc.oneof(
    fc.constant(''),
    fc.stringMatching(/^[A-Za-z0-9_.-]{129,160}$/),
    fc
      .tuple(
        fc.stringMatching(/^[a-z]{1,5}$/),
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }).filter((c) => !/[A-Za-z0-9_.-]/.test(c)),
      )
      .map(([a, b]) => a + b),
    // A 2020 client's non-negative integer id is a room; every other non-string is not.
    fc.oneof(fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 2 }), fc.constant({}), fc.constant(-1), fc.constant(1.5)),
    ...(d === 'seed' ? [fc.nat()] : []),
  );

// --- cases -----------------------------------------------------------------------------------
/** A first frame that is not a handshake at all. */
export interface RawCase {
  readonly type: 'raw';
  readonly label: string;
  readonly frame: FuzzFrame;
  readonly expect: number;
}

type Mutation =
  | { readonly field: 'room'; readonly value: unknown; readonly expect: 4000 }
  | { readonly field: 'room-in-proto'; readonly expect: 4000 }
  | { readonly field: 'variables'; readonly value: unknown; readonly expect: 4000 }
  | { readonly field: 'name'; readonly value: string; readonly expect: 4000 }
  | { readonly field: 'username'; readonly value: string; readonly expect: 4002 }
  | { readonly field: 'room+username'; readonly value: unknown; readonly username: string; readonly expect: 4000 }
  | { readonly field: 'name+username'; readonly value: string; readonly username: string; readonly expect: 4000 };

/** What a joined connection sends last. */
type Ending =
  | { readonly type: 'marker'; readonly value: string }
  | { readonly type: 'frame'; readonly frame: FuzzFrame; readonly expect: number; readonly afterJoin: boolean }
  | { readonly type: 'unknown-variable'; readonly name: string }
  | { readonly type: 'missing-value' }
  | { readonly type: 'missing-variable' };

export interface HandshakeCase {
  readonly type: 'handshake';
  readonly dialect: DialectName;
  readonly username: string;
  /** name, initial value, whether that value is valid (else the gateway stores "0"). */
  readonly variables: ReadonlyArray<readonly [string, unknown, boolean]>;
  readonly mutation: Mutation | null;
  /** Sets with invalid values, sent after the handshake: ignored silently. */
  readonly ignored: readonly unknown[];
  readonly ending: Ending;
  /** Sent right after a closing frame: the close must still reach the client (no 1006). */
  readonly trailing: readonly FuzzFrame[];
}

export type FuzzCase = RawCase | HandshakeCase | ScratchCase;

const notJson = fc
  .oneof(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.constantFrom('{', '{"kind":"handshake"', "{'kind':'set'}", 'undefined', 'NaN', '{"a":1,}'))
  .filter((text) => {
    try {
      JSON.parse(text);
      return false;
    } catch {
      return true; // the generated text is what we want: not JSON
    }
  });
const nonObject = fc
  .oneof(fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }), fc.jsonValue({ maxDepth: 0 }))
  .filter((v) => typeof v !== 'object' || v === null || Array.isArray(v));
const unknownKind = fc.oneof(
  fc.string({ maxLength: 10 }).filter((k) => k !== 'set' && k !== 'handshake'),
  fc.constantFrom('Set', 'HANDSHAKE', 'set ', 'method', ...PROTOTYPE_KEYS),
);
/** A message hidden in an own "__proto__" key: it must not be read as the frame's fields (4000: no kind). */
const protoWrapped = fc
  .constantFrom(
    { kind: 'handshake', room: 'r', username: 'someone', variables: { [cloud('a')]: '1' } },
    { kind: 'set', variable: cloud('a'), value: '1' },
    { kind: 'set', var: cloud('a'), value: '1' },
  )
  .map((inner) => `{"__proto__":${JSON.stringify(inner)}}`);
const oversized = fc.integer({ min: FUZZ_MAX_PAYLOAD + 1, max: FUZZ_MAX_PAYLOAD + 4096 });
/** Byte sequences no UTF-8 decoder accepts, alone or inside valid text. */
const badUtf8Bytes = fc.constantFrom([0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82], [0xc0, 0xaf]);
const invalidUtf8 = fc
  .tuple(fc.string({ maxLength: 8 }), badUtf8Bytes, fc.string({ maxLength: 8 }))
  .map(([before, bad, after]) => new InvalidUtf8(Uint8Array.from([...Buffer.from(before), ...bad, ...Buffer.from(after)])));
/** Whatever a misbehaving client sends after the frame that closes it. */
const trailingFrames: fc.Arbitrary<FuzzFrame[]> = fc.oneof(
  { weight: 2, arbitrary: fc.constant<FuzzFrame[]>([]) },
  fc.array(
    fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.constantFrom<FuzzFrame>({ kind: 'set', variable: cloud('a'), value: '1' }, { method: 'set', name: cloud('a'), value: '1' }),
      fc.uint8Array({ maxLength: 16 }),
      invalidUtf8,
    ),
    { minLength: 1, maxLength: 40 },
  ),
);
const anyObject = fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 });

const rawCase: fc.Arbitrary<RawCase> = fc.oneof(
  notJson.map((frame) => ({ type: 'raw' as const, label: 'not JSON', frame, expect: 4000 })),
  nonObject.map((value) => ({ type: 'raw' as const, label: 'JSON non-object', frame: JSON.stringify(value), expect: 4000 })),
  fc.tuple(anyObject, fc.oneof(unknownKind, fc.constant('set'), nonString, fc.constant(undefined))).map(([object, kind]) => {
    const frame: Record<string, unknown> = { ...object, kind };
    if (kind === undefined) delete frame['kind'];
    return { type: 'raw' as const, label: 'first frame not a handshake', frame, expect: 4000 };
  }),
  protoWrapped.map((frame) => ({ type: 'raw' as const, label: 'message inside __proto__', frame, expect: 4000 })),
  fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ type: 'raw' as const, label: 'binary', frame: bytes, expect: 4000 })),
  oversized.map((n) => ({ type: 'raw' as const, label: 'oversized', frame: 'x'.repeat(n), expect: 1009 })),
  invalidUtf8.map((frame) => ({ type: 'raw' as const, label: 'invalid UTF-8', frame, expect: 1007 })),
);

const initialVariables = fc.uniqueArray(validName, { minLength: 1, maxLength: 10 }).chain((names) =>
  fc.tuple(
    ...names.map((name) =>
      fc.oneof(
        validValue.map((v) => [name, v, true] as const),
        invalidValue.map((v) => [name, v, false] as const),
      ),
    ),
  ),
);

const mutation = (d: DialectName): fc.Arbitrary<Mutation | null> =>
  fc.oneof(
    { weight: 7, arbitrary: fc.constant(null) },
    invalidRoom(d).map((value) => ({ field: 'room' as const, value, expect: 4000 as const })),
    fc.constant({ field: 'room-in-proto' as const, expect: 4000 as const }),
    fc
      .oneof(
        fc.constantFrom(null, [], {}, 'vars', 7),
        fc
          .uniqueArray(validName, { minLength: FUZZ_MAX_VARIABLES + 1, maxLength: FUZZ_MAX_VARIABLES + 2 })
          .map((names) => Object.fromEntries(names.map((n) => [n, '1']))),
      )
      .map((value) => ({ field: 'variables' as const, value, expect: 4000 as const })),
    invalidName.map((value) => ({ field: 'name' as const, value, expect: 4000 as const })),
    invalidUsername.map((value) => ({ field: 'username' as const, value, expect: 4002 as const })),
    fc.tuple(invalidRoom(d), invalidUsername).map(([value, username]) => ({ field: 'room+username' as const, value, username, expect: 4000 as const })),
    fc.tuple(invalidName, invalidUsername).map(([value, username]) => ({ field: 'name+username' as const, value, username, expect: 4000 as const })),
  );

const ending: fc.Arbitrary<Ending> = fc.oneof(
  { weight: 3, arbitrary: validValue.map((value) => ({ type: 'marker' as const, value })) },
  notJson.map((frame) => ({ type: 'frame' as const, frame, expect: 4000, afterJoin: false })),
  nonObject.map((value) => ({ type: 'frame' as const, frame: JSON.stringify(value), expect: 4000, afterJoin: false })),
  fc.tuple(anyObject, fc.oneof(unknownKind, nonString, fc.constant(undefined))).map(([object, kind]) => {
    const frame: Record<string, unknown> = { ...object, kind };
    if (kind === undefined) delete frame['kind'];
    return { type: 'frame' as const, frame, expect: 4000, afterJoin: false };
  }),
  anyObject.map((object) => ({ type: 'frame' as const, frame: { ...object, kind: 'handshake' }, expect: 4000, afterJoin: false })),
  fc.oneof(validName, fc.constantFrom(...PROTOTYPE_KEYS)).map((name) => ({ type: 'unknown-variable' as const, name })),
  protoWrapped.map((frame) => ({ type: 'frame' as const, frame, expect: 4000, afterJoin: false })),
  fc.constant({ type: 'missing-value' as const }),
  fc.constant({ type: 'missing-variable' as const }),
  fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ type: 'frame' as const, frame: bytes, expect: 4000, afterJoin: true })),
  oversized.map((n) => ({ type: 'frame' as const, frame: 'x'.repeat(n), expect: 1009, afterJoin: true })),
  invalidUtf8.map((frame) => ({ type: 'frame' as const, frame, expect: 1007, afterJoin: true })),
);

// Built once per dialect: building a stringMatching arbitrary parses its regex, too slow per case.
const mutations: Record<KindDialect, fc.Arbitrary<Mutation | null>> = { seed: mutation('seed'), legacy: mutation('legacy') };

const handshakeCase: fc.Arbitrary<HandshakeCase> = dialect.chain((d) =>
  fc.record({
    type: fc.constant('handshake' as const),
    dialect: fc.constant(d),
    username: validUsername,
    variables: initialVariables,
    mutation: mutations[d],
    // Up to 25: with the handshake and the ending, within the rate limit's burst of 30.
    ignored: fc.array(invalidValue, { minLength: 8, maxLength: 25, size: 'max' }),
    ending,
    trailing: trailingFrames,
  }),
);

// --- today's clients (the scratch dialect) ----------------------------------------------------
/** A set or create: its JSON line, and what the store keeps of it (null: an invalid value, ignored). */
interface ScratchSet {
  readonly type: 'set';
  /** Index into the case's names. */
  readonly name: number;
  readonly line: (name: string) => string;
  readonly stored: string | null;
}

/** A line the room ignores: rename or delete (off by default), or a blank line. */
interface ScratchIgnored {
  readonly type: 'ignored';
  readonly line: (name: string) => string;
  readonly name: number;
}

type ScratchMessage = ScratchSet | ScratchIgnored;

/** One frame of messages: `\n`-separated, maybe with blank lines and a final newline (Scratch ends every frame with one). */
interface ScratchFrame {
  readonly messages: readonly ScratchMessage[];
  readonly blankLines: readonly number[];
  readonly finalNewline: boolean;
}

type ScratchMutation =
  | { readonly field: 'project_id'; readonly value: unknown; readonly expect: 4000 }
  | { readonly field: 'user'; readonly value: unknown; readonly expect: 4002 }
  | { readonly field: 'both'; readonly value: unknown; readonly user: unknown; readonly expect: 4000 }
  | { readonly field: 'method'; readonly value: unknown; readonly expect: 4000 };

type ScratchEnding =
  /** A last valid set (on a name the room has, or can still create): the connection stays open. */
  | { readonly type: 'marker' }
  /** A bad line at the end of the last frame, after its good lines: those are applied, then 4000. */
  | { readonly type: 'bad-line'; readonly line: string }
  /** A whole frame the server closes on: empty (4000), binary (4000), oversized (1009), invalid UTF-8 (1007). */
  | { readonly type: 'frame'; readonly frame: FuzzFrame; readonly expect: number };

export interface ScratchCase {
  readonly type: 'scratch';
  /** The project id as sent: a string that is its own room id, or a number. */
  readonly projectId: 'string' | 'number';
  readonly username: string;
  readonly mutation: ScratchMutation | null;
  /** Extra fields in the handshake (scratchattach and the editor send some). */
  readonly extras: Readonly<Record<string, unknown>>;
  /** Names the case's messages use (more than FUZZ_MAX_VARIABLES at times: the rest are refused). */
  readonly names: readonly string[];
  /** Messages in the handshake's own frame, after it. */
  readonly inFirstFrame: readonly ScratchMessage[];
  readonly frames: readonly ScratchFrame[];
  readonly ending: ScratchEnding;
  readonly trailing: readonly FuzzFrame[];
}

/** Frames sent before the join completes; the rest wait for it (a joining socket holds at most 64). */
const SCRATCH_BURST = 16;
/**
 * Stored sets of one variable per connection. The gateway takes 64 writes of one variable
 * in flight for a deaf bus and resyncs the room (member-writes.ts), which sends the client the
 * room: with the rate limit raised, a burst of sets could do that. Beyond this many, a
 * case's sets of that variable go out as deletes (ignored) instead.
 */
const MAX_SETS_PER_VARIABLE = 48;

const scratchName = fc.oneof(
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 16 }).map(cloud),
  fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 12 }).map((name) => `:cloud: ${name}`),
  fc.constantFrom(...PROTOTYPE_KEYS.map(cloud)),
);
/** Valid for today's clients: a number as text (as for 2020 clients), or empty (projects clear data so). */
const scratchValidText = fc.oneof({ weight: 4, arbitrary: validValue }, fc.constant(''));
/** Invalid for today's clients: the 2020 invalid strings but the empty one. */
const scratchInvalidText = invalidString.filter((value) => value !== '');
/** A JSON number: stored as JavaScript writes it (12, -0.5, 1e+21). */
const finiteNumber = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }));
/** Extra fields of Scratch's messages: ignored after the handshake. */
const messageExtras = fc.oneof(
  { weight: 3, arbitrary: fc.constant({}) },
  fc.record({ user: fc.string({ maxLength: 10 }), project_id: fc.oneof(fc.string({ maxLength: 10 }), fc.nat()) }),
);

function json(value: unknown): string {
  return JSON.stringify(value);
}

const scratchSet: fc.Arbitrary<ScratchSet> = fc
  .tuple(
    fc.nat({ max: 13 }),
    fc.constantFrom('set', 'create'),
    messageExtras,
    fc.oneof(
      { weight: 4, arbitrary: scratchValidText.map((value) => ({ value: json(value), stored: value as string | null })) },
      { weight: 2, arbitrary: finiteNumber.map((value) => ({ value: json(value), stored: String(value) as string | null })) },
      scratchInvalidText.map((value) => ({ value: json(value), stored: null })),
      fc.oneof(fc.boolean(), fc.constant(null), fc.constant({}), fc.array(fc.nat(), { maxLength: 2 })).map((value) => ({ value: json(value), stored: null })),
      // Not finite once parsed: 1e999 is Infinity.
      fc.constantFrom('1e999', '-1e999').map((value) => ({ value, stored: null })),
      fc.constant({ value: undefined as string | undefined, stored: null }),
    ),
  )
  .map(([name, method, extras, { value, stored }]) => ({
    type: 'set' as const,
    name,
    stored,
    line: (variable: string) => {
      const head = `{"method":${json(method)},"name":${json(variable)}`;
      const fields = Object.entries(extras)
        .map(([key, field]) => `,${json(key)}:${json(field)}`)
        .join('');
      return `${head}${value === undefined ? '' : `,"value":${value}`}${fields}}`;
    },
  }));

const scratchIgnored: fc.Arbitrary<ScratchIgnored> = fc.oneof(
  fc.tuple(fc.nat({ max: 13 }), scratchName).map(([name, newName]) => ({
    type: 'ignored' as const,
    name,
    line: (variable: string) => json({ method: 'rename', name: variable, new_name: newName }),
  })),
  fc.nat({ max: 13 }).map((name) => ({ type: 'ignored' as const, name, line: (variable: string) => json({ method: 'delete', name: variable }) })),
);

const scratchMessage: fc.Arbitrary<ScratchMessage> = fc.oneof({ weight: 6, arbitrary: scratchSet }, scratchIgnored);

const scratchFrame: fc.Arbitrary<ScratchFrame> = fc.record({
  messages: fc.array(scratchMessage, { minLength: 1, maxLength: 4 }),
  blankLines: fc.oneof({ weight: 4, arbitrary: fc.constant([]) }, fc.array(fc.nat({ max: 4 }), { maxLength: 2 })),
  finalNewline: fc.boolean(),
});

/** A line that closes a joined scratch connection (4000); never blank, never several lines. */
const badScratchLine = fc
  .oneof(
    notJson,
    nonObject.map(json),
    fc
      .oneof(fc.string({ maxLength: 10 }), fc.constantFrom('Set', 'SET', 'get', 'subscribe', 'kind', ...PROTOTYPE_KEYS))
      .filter((m) => !['set', 'create', 'rename', 'delete', 'handshake'].includes(m))
      .map((method) => json({ method, name: cloud('a'), value: '1' })),
    fc.constant(json({ method: 'handshake', project_id: '1', user: 'again' })),
    fc.constant(json({ kind: 'handshake', room: 'r', username: 'someone', variables: { [cloud('a')]: '1' } })),
    fc.oneof(fc.constant(undefined), fc.constant(null), fc.nat(), fc.boolean()).map((method) => json({ method, name: cloud('a'), value: '1' })),
    fc
      .oneof(
        fc.constantFrom('', '\u2601', '\u2601 ', ':cloud: ', ':cloud:x', 'score', '\u2601 \ud800', ...PROTOTYPE_KEYS),
        fc.integer({ min: MAX_VARIABLE_NAME_LENGTH - 1, max: MAX_VARIABLE_NAME_LENGTH + 40 }).map((n) => cloud('n'.repeat(n))),
      )
      .map((name) => json({ method: 'set', name, value: '1' })),
    fc.oneof(fc.nat(), fc.constant(null), fc.constant([])).map((name) => json({ method: 'set', name, value: '1' })),
    fc.constant(json({ method: 'set', value: '1' })),
    fc.constantFrom('', 'score', '\u2601 ', ':cloud: ').map((newName) => json({ method: 'rename', name: cloud('a'), new_name: newName })),
    fc.constant(json({ method: 'rename', new_name: cloud('b') })),
    fc.constant(json({ method: 'delete' })),
  )
  .filter((line) => line.trim() !== '' && !line.includes('\n'));

const scratchEnding: fc.Arbitrary<ScratchEnding> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ type: 'marker' as const }) },
  { weight: 3, arbitrary: badScratchLine.map((line) => ({ type: 'bad-line' as const, line })) },
  fc.constantFrom('', '\n', '\n\n \r\n').map((frame) => ({ type: 'frame' as const, frame, expect: 4000 })),
  fc.uint8Array({ maxLength: 64 }).map((frame) => ({ type: 'frame' as const, frame, expect: 4000 })),
  oversized.map((n) => ({ type: 'frame' as const, frame: `{"method":"set","name":"\u2601 a","value":"${'1'.repeat(n)}"}`, expect: 1009 })),
  invalidUtf8.map((frame) => ({ type: 'frame' as const, frame, expect: 1007 })),
);

const scratchMutation: fc.Arbitrary<ScratchMutation | null> = fc.oneof(
  { weight: 28, arbitrary: fc.constant(null) },
  fc
    .oneof(fc.constant(''), fc.constant('p'.repeat(1000)), fc.constantFrom(-1, 1.5, 2 ** 53, true, null, [], {}), fc.constant(undefined))
    .map((value) => ({ field: 'project_id' as const, value, expect: 4000 as const })),
  fc
    .oneof(fc.constant(''), fc.stringMatching(/^[A-Za-z0-9_-]{21,30}$/), fc.constantFrom('bad name', 'bad!', 'é', 7, null, undefined))
    .map((value) => ({ field: 'user' as const, value, expect: 4002 as const })),
  fc.constant({ field: 'both' as const, value: '', user: '', expect: 4000 as const }),
  fc.constantFrom('set', 'Handshake', 'hello', '').map((value) => ({ field: 'method' as const, value, expect: 4000 as const })),
);

export function scratchCase(): fc.Arbitrary<ScratchCase> {
  return fc.record({
    type: fc.constant('scratch' as const),
    projectId: fc.constantFrom('string' as const, 'number' as const),
    username: fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/),
    mutation: scratchMutation,
    extras: fc.oneof({ weight: 3, arbitrary: fc.constant({}) }, fc.record({ token: fc.string({ maxLength: 8 }), version: fc.nat() })),
    names: fc.uniqueArray(scratchName, { minLength: 1, maxLength: 14 }),
    inFirstFrame: fc.oneof({ weight: 3, arbitrary: fc.constant([]) }, fc.array(scratchMessage, { minLength: 1, maxLength: 4 })),
    // Long streams: most of the run's frames come from today's clients. A count spread evenly
    // over 1-160 (fast-check biases integers towards small ones; a large nat modulo is not).
    frames: fc
      .nat()
      .map((n) => 1 + (n % 160))
      .chain((count) => fc.array(scratchFrame, { minLength: count, maxLength: count })),
    ending: scratchEnding,
    trailing: trailingFrames,
  });
}

/** Stored sets per variable so far in a case: past MAX_SETS_PER_VARIABLE a set goes out as a delete. */
type SetCounts = Map<string, number>;

function lineOf(message: ScratchMessage, names: readonly string[], counts: SetCounts): string {
  const name = names[message.name % names.length] as string;
  if (message.type === 'set' && message.stored !== null) {
    const count = (counts.get(name) ?? 0) + 1;
    counts.set(name, count);
    if (count > MAX_SETS_PER_VARIABLE) return json({ method: 'delete', name });
  }
  return message.line(name);
}

/** The frame's text: its lines with blank lines inserted, `\n`-separated. */
function frameText(frame: ScratchFrame, names: readonly string[], counts: SetCounts, extraLine?: string): string {
  const lines = frame.messages.map((message) => lineOf(message, names, counts));
  for (const at of frame.blankLines) lines.splice(Math.min(at, lines.length), 0, at % 2 === 0 ? '' : ' \r');
  if (extraLine !== undefined) lines.push(extraLine);
  return lines.join('\n') + (frame.finalNewline ? '\n' : '');
}

/** The room as the store must hold it after `messages`, in order: a set creates its name while the room has room. */
function applyScratch(
  messages: readonly ScratchMessage[],
  names: readonly string[],
  into: Map<string, string>,
  counts: SetCounts,
  values: Map<string, Set<string>>,
): number {
  let applied = 0;
  for (const message of messages) {
    if (message.type !== 'set' || message.stored === null) continue;
    const name = names[message.name % names.length] as string;
    const count = (counts.get(name) ?? 0) + 1;
    counts.set(name, count);
    if (count > MAX_SETS_PER_VARIABLE) continue; // sent as a delete
    if (!into.has(name) && into.size >= FUZZ_MAX_VARIABLES) continue; // refused: too many variables
    into.set(name, message.stored);
    let seen = values.get(name);
    if (seen === undefined) values.set(name, (seen = new Set()));
    seen.add(message.stored);
    applied += 1;
  }
  return applied;
}

function scratchHandshake(c: ScratchCase, room: string): string {
  const m = c.mutation;
  const frame: Record<string, unknown> = {
    method: m?.field === 'method' ? m.value : 'handshake',
    project_id: m?.field === 'project_id' || m?.field === 'both' ? m.value : c.projectId === 'number' ? Number(room) : room,
    user: m?.field === 'user' ? m.value : m?.field === 'both' ? m.user : c.username,
    ...c.extras,
  };
  return json(frame);
}

/** A room id of digits only for a number project id, so the case's room is the project's. */
export function scratchRoom(c: ScratchCase, serial: number): string {
  return c.projectId === 'number' ? String(800_000_000 + serial) : `fzs${serial}`;
}

function planScratch(c: ScratchCase, room: string): Plan {
  const hello = scratchHandshake(c, room);
  if (c.mutation !== null) {
    const first = c.inFirstFrame.length > 0 ? [hello, ...c.inFirstFrame.map((message) => message.line(c.names[0] as string))].join('\n') : hello;
    return { burst: [first], afterJoin: [...c.trailing], expect: c.mutation.expect, received: [], stored: null, markerStored: false, allowedEcho: null };
  }
  const { names } = c;
  // Lines and the model count sets alike, each with its own counter.
  const sent: SetCounts = new Map();
  const applied: SetCounts = new Map();
  const first = c.inFirstFrame.length > 0 ? [hello, ...c.inFirstFrame.map((message) => lineOf(message, names, sent))].join('\n') : hello;
  const stored = new Map<string, string>();
  const values = new Map<string, Set<string>>();
  let seq = applyScratch(c.inFirstFrame, names, stored, applied, values);
  const frames: FuzzFrame[] = [];
  const e = c.ending;
  for (const [index, frame] of c.frames.entries()) {
    const last = index === c.frames.length - 1;
    frames.push(frameText(frame, names, sent, last && e.type === 'bad-line' ? e.line : undefined));
    seq += applyScratch(frame.messages, names, stored, applied, values);
  }
  let expect: number | null = null;
  // Frames that close at once (binary, oversized, invalid UTF-8) and what follows them go
  // after the join: while it is in flight they would overtake the frames held before them
  // (frames-during-join.test.ts holds that race to the documented order).
  let afterJoinFrom = Math.min(SCRATCH_BURST, frames.length);
  if (e.type === 'marker') {
    // On a name the room has, or a new one while it has room: always stored, so seq grows.
    const name = stored.size >= FUZZ_MAX_VARIABLES ? ([...stored.keys()][0] as string) : cloud(`marker ${room}`);
    const value = `9${String(seq).padStart(15, '0')}`;
    frames.push(json({ method: 'set', name, value }) + '\n');
    stored.set(name, value);
    values.set(name, new Set([...(values.get(name) ?? []), value]));
    seq += 1;
  } else if (e.type === 'frame') {
    afterJoinFrom = Math.min(afterJoinFrom, frames.length);
    frames.push(e.frame);
    expect = e.expect;
  } else {
    expect = 4000;
  }
  if (expect !== null) {
    afterJoinFrom = Math.min(afterJoinFrom, frames.length);
    frames.push(...c.trailing);
  }
  return {
    burst: [first, ...frames.slice(0, afterJoinFrom)],
    afterJoin: frames.slice(afterJoinFrom),
    expect,
    // The room is new and empty: no snapshot, and no echo of a value never sent to it.
    received: [],
    mayReceive: values,
    stored: [...stored],
    markerStored: false,
    seq,
    allowedEcho: null,
  };
}

/** Cases of the 2020 dialects (and first frames of no dialect at all). */
export const kindFuzzCase: fc.Arbitrary<FuzzCase> = fc.oneof({ weight: 1, arbitrary: rawCase }, { weight: 2, arbitrary: handshakeCase });
/** Cases of every dialect: the 2020 ones, and today's clients with their long streams of frames. */
export const fuzzCase: fc.Arbitrary<FuzzCase> = fc.oneof({ weight: 1, arbitrary: kindFuzzCase }, { weight: 1, arbitrary: scratchCase() });

// --- turning a case into frames and expectations ---------------------------------------------
export interface Plan {
  /** Sent in one burst right after connecting. */
  readonly burst: readonly FuzzFrame[];
  /** Sent once the store counts the connection as a member (frames a joining socket must not race). */
  readonly afterJoin: readonly FuzzFrame[];
  /** The close code, or null: the connection must stay open and its marker set be stored. */
  readonly expect: number | null;
  /** Every frame the server must send (corrections of invalid initial values; never an echo). */
  readonly received: readonly string[];
  /**
   * The closing frame rides in the join's own burst: the gateway closes as soon as it reads
   * it, while the join may still be in flight. Then the corrections may never be sent (all
   * of `received` arrives or none of it), and a join that had not reached the store yet is
   * given up (the room may not exist; if it does, it holds `stored`).
   */
  readonly closesDuringJoin?: boolean;
  /** The room's stored values at the end, or null when the room must not exist. */
  readonly stored: ReadonlyArray<readonly [string, string]> | null;
  /** Whether the marker set must be stored (seq 1) rather than nothing (seq 0). */
  readonly markerStored: boolean;
  /** The room's seq at the end, when it is not 1 or 0 by `markerStored` (today's clients store many sets). */
  readonly seq?: number;
  /**
   * Values that may also arrive, after `received`, in frames of their own: a resync of the
   * room sends a client values it has (a resync that lands during the join counts the join
   * as behind the room, and many writes of one variable in flight make the pod re-read the
   * room). Allowed, as long as each is a value the room held (nothing else is in it).
   */
  readonly mayReceive?: ReadonlyMap<string, ReadonlySet<string>>;
  /**
   * The one echo tolerated after `received`: the marker's stored value, which the gateway
   * may resend because the marker crossed a frame it had sent (the corrections). Null when
   * nothing was sent before the marker, so no echo can be needed. Lenient on purpose: an
   * echo after corrections of other variables only is set.test.ts's finding, not the fuzz's.
   */
  readonly allowedEcho: string | null;
}

function handshakeFrame(c: HandshakeCase, room: string): Record<string, unknown> {
  const entries: Array<readonly [string, unknown]> = c.variables.map(([name, value]) => [name, value]);
  const m = c.mutation;
  let username: unknown = c.username;
  let roomValue: unknown = room;
  let variables: unknown;
  if (m?.field === 'name' || m?.field === 'name+username') entries[0] = [m.value, entries[0]?.[1] ?? '0'];
  if (m?.field === 'username' || m?.field === 'room+username' || m?.field === 'name+username') username = m.field === 'username' ? m.value : m.username;
  if (m?.field === 'room' || m?.field === 'room+username') roomValue = m.value;
  // Object.fromEntries defines own properties: a "__proto__" entry stays a key on the wire.
  if (m?.field === 'variables') variables = m.value;
  else variables = Object.fromEntries(entries);
  const frame: Record<string, unknown> = { kind: 'handshake', username, variables };
  if (m?.field === 'room-in-proto') Object.defineProperty(frame, '__proto__', { value: { [roomField(c.dialect)]: room }, enumerable: true });
  else frame[roomField(c.dialect)] = roomValue;
  return frame;
}

export function plan(c: FuzzCase, room: string): Plan {
  if (c.type === 'scratch') return planScratch(c, room);
  if (c.type === 'raw') return { burst: [c.frame], afterJoin: [], expect: c.expect, received: [], stored: null, markerStored: false, allowedEcho: null };
  const hello = handshakeFrame(c, room);
  if (c.mutation !== null)
    return { burst: [hello], afterJoin: [...c.trailing], expect: c.mutation.expect, received: [], stored: null, markerStored: false, allowedEcho: null };

  const field = variableField(c.dialect);
  const names = c.variables.map(([name]) => name);
  const first = names[0] ?? cloud('a');
  const corrections = c.variables.filter(([, , valid]) => !valid).map(([name]) => serverSet(c.dialect, name, '0'));
  const stored = c.variables.map(([name, value, valid]) => [name, valid ? String(value) : '0'] as [string, string]);
  const mayReceive = new Map(stored.map(([name, value]) => [name, new Set([value])]));
  const sets: Outgoing[] = c.ignored.map((value) => ({ kind: 'set', [field]: first, value }));
  const received = corrections.length > 0 ? [corrections.join('\n')] : [];
  const e = c.ending;
  if (e.type === 'marker') {
    const markerStored = stored.map(([name, value]) => [name, name === first ? e.value : value] as const);
    const allowedEcho = received.length > 0 ? serverSet(c.dialect, first, e.value) : null;
    mayReceive.get(first)?.add(e.value);
    return {
      burst: [hello, ...sets, { kind: 'set', [field]: first, value: e.value }],
      afterJoin: [],
      expect: null,
      received,
      mayReceive,
      stored: markerStored,
      markerStored: true,
      allowedEcho,
    };
  }
  let last: FuzzFrame;
  let expect = 4000;
  if (e.type === 'frame') {
    last = e.frame;
    expect = e.expect;
    if (e.afterJoin)
      return { burst: [hello], afterJoin: [...sets, last, ...c.trailing], expect, received, mayReceive, stored, markerStored: false, allowedEcho: null };
  } else if (e.type === 'unknown-variable') {
    last = { kind: 'set', [field]: names.includes(e.name) ? `${e.name}~` : e.name, value: '1' };
  } else if (e.type === 'missing-value') {
    last = { kind: 'set', [field]: first };
  } else {
    last = { kind: 'set', value: '1' };
  }
  // What follows the closing frame goes once the join is done: a frame that closes at once
  // (binary, invalid UTF-8) must not overtake the frames held while the join is in flight
  // (frames-during-join.test.ts holds that race to the documented order).
  return {
    burst: [hello, ...sets, last],
    afterJoin: [...c.trailing],
    expect,
    received,
    closesDuringJoin: true,
    mayReceive,
    stored,
    markerStored: false,
    allowedEcho: null,
  };
}

/** How many WebSocket frames a plan sends. */
export function frameCount(p: Plan): number {
  return p.burst.length + p.afterJoin.length;
}
