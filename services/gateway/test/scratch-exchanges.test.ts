/**
 * The shared script of Scratch 3 protocol exchanges (test-support's scratch-exchanges.ts)
 * run against TurboWarp's cloud-server, the incumbent: its answers must be the ones its
 * doc/protocol.md and src/ say (expectations written from them, cited below, not recorded
 * from a run). This fixes what "answers as the peer does" means before our gateway is
 * compared with it.
 *
 * Comparing our gateway: add it to OTHER_TARGETS (one node, and two gateways sharing Redis,
 * see scratch-real-client.test.ts for a cluster target); each is run through the same
 * script and must answer as the peer did, except the exchanges listed in
 * KNOWN_GATEWAY_DIFFERENCES (scratch-exchanges.ts), each with its reason.
 */
import {
  KNOWN_GATEWAY_DIFFERENCES,
  SCRATCH_EXCHANGES,
  comparable,
  compareAnswers,
  runExchanges,
  setLine,
  type ExchangeAnswer,
} from '@cloudvars/test-support/scratch-exchanges';
import { peerPresent } from '@cloudvars/test-support/peer';
import { PEER_TARGET, type ScratchServer, type ScratchTarget } from '@cloudvars/test-support/scratch/target';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayTargets } from './support/scratch-targets.ts';

/** Servers compared with the peer: our gateway, on one node and as two pods sharing Redis. */
const OTHER_TARGETS: readonly ScratchTarget[] = gatewayTargets();

type Expected = Readonly<Record<string, { lines?: readonly string[]; frames?: readonly (readonly string[])[]; close: number | null }>>;

const OPEN = null;
const NOTHING: readonly string[] = [];
/** A's refused message closed it before its next set; B saw nothing. */
const A_CLOSED = (code: number): Expected => ({ B: { lines: NOTHING, close: OPEN }, A: { lines: NOTHING, close: code } });
/** A's message was ignored: A stayed open and B saw A's next set (☁ z). */
const A_IGNORED: Expected = { B: { lines: [setLine('☁ z', '99')], close: OPEN }, A: { lines: NOTHING, close: OPEN } };

/**
 * What the peer answers, from its doc/protocol.md ("doc") and src/ (file:function).
 * Close codes: 4000 generic error, 4002 username error, 4005 closed for security (doc).
 */
const PEER_EXPECTED: Readonly<Record<string, Expected>> = {
  // doc "Handshake": no response; server.js performHandshake: an existing room's variables
  // go to the joiner as set messages joined by "\n" in one send.
  'join an existing room': {
    A: { lines: NOTHING, close: OPEN },
    B: { frames: [[setLine('☁ a', '1'), setLine('☁ b', '2')]], close: OPEN },
  },
  // server.js processMessage: performHandshake('' + message.project_id, …): a number joins
  // the room of its decimal string.
  'numeric project_id': { A: { lines: NOTHING, close: OPEN }, B: { lines: [setLine('☁ a', '5')], close: OPEN } },
  // doc "set"/"create": a missing variable is created, create is treated as set; value may
  // be a string or a number, relayed as it came (createSetMessage keeps the type); the
  // sender gets no echo (performSet sends to the other clients).
  'set and create new variables, a number value': {
    A: { lines: NOTHING, close: OPEN },
    B: { lines: [setLine('☁ a', '10'), setLine('☁ b', '20'), setLine('☁ c', 30)], close: OPEN },
  },
  // validators.js isValidVariableValue: an optional leading "-", digits and at most one ".";
  // only "." and "-" alone are refused, so "" passes; numbers pass when finite.
  'accepted edge values': {
    A: { lines: NOTHING, close: OPEN },
    B: {
      lines: [setLine('☁ e1', ''), setLine('☁ e2', '-5'), setLine('☁ e3', '1.'), setLine('☁ e4', '.5'), setLine('☁ e5', '007'), setLine('☁ e6', -2.5)],
      close: OPEN,
    },
  },
  // doc "set": an invalid value is ignored (performSet returns silently).
  'invalid values': { A: { lines: NOTHING, close: OPEN }, B: { lines: [setLine('☁ b', '7')], close: OPEN } },
  // JSON.parse reads each literal as a double (1000, -0, 12345678901234567000, 1e21); every
  // one is finite, so isValidVariableValue passes it; createSetMessage's JSON.stringify
  // writes it back (-0 as 0).
  'number edges': {
    A: { lines: NOTHING, close: OPEN },
    B: { lines: [setLine('☁ n1', 1000), setLine('☁ n2', 0), setLine('☁ n3', 12345678901234567000), setLine('☁ n4', 1e21)], close: OPEN },
  },
  // validators.js isValidVariableValue: a number must be finite; 1e400 parses to Infinity.
  'a number beyond a double': A_IGNORED,
  // isValidVariableValue: a string of anything but "-", digits and one "." is refused.
  'number-like strings': { A: { lines: NOTHING, close: OPEN }, B: { lines: [setLine('☁ b', '7')], close: OPEN } },
  // validators.js VALUE_MAX_LENGTH = 100000: longer is an invalid value, ignored.
  'long values': { A: { lines: NOTHING, close: OPEN }, B: { lines: [setLine('☁ a', '1'.repeat(1024)), setLine('☁ b', '3')], close: OPEN } },
  // performSet: an undefined value is not a valid value: ignored.
  'set without a value': A_IGNORED,
  // performSet checks the value, not the name: the value is stored under an undefined name
  // and relayed as a set with no name (JSON.stringify drops undefined).
  'set without a name': {
    B: { lines: ['{"method":"set","value":"1"}', setLine('☁ z', '99')], close: OPEN },
    A: { lines: NOTHING, close: OPEN },
  },
  // performSet does not check names (only rename checks the cloud prefix).
  'variable names': {
    A: { lines: NOTHING, close: OPEN },
    B: { lines: [setLine('plain', '1'), setLine(':cloud: b', '2'), setLine('☁ c', '3')], close: OPEN },
  },
  // Room.js maxVariables = 128.
  'eleven variables': {
    A: { lines: NOTHING, close: OPEN },
    B: { lines: Array.from({ length: 11 }, (_, i) => setLine(`☁ v${i + 1}`, String(i + 1))), close: OPEN },
  },
  // parseMessage: JSON.parse of the whole frame: two objects are not JSON -> 4000 (the doc
  // says messages are JSON objects in text frames; only server -> client frames hold several).
  'two messages in one frame': A_CLOSED(4000),
  // JSON.parse accepts trailing whitespace: one message and "\n" is one message.
  'one message and a trailing newline': {
    A: { lines: NOTHING, close: OPEN },
    B: { lines: [setLine('☁ a', '1'), setLine('☁ b', '2')], close: OPEN },
  },
  'two messages and a trailing newline': A_CLOSED(4000),
  // doc "user and project_id": ignored except on handshake; relayed sets carry neither.
  'user and project_id on later messages': { A: { lines: NOTHING, close: OPEN }, B: { lines: [setLine('☁ a', '3')], close: OPEN } },
  // config.js enableRename/enableDelete false: performRename/performDelete return at once,
  // so ☁ a keeps its name and ☁ b stays; nothing is sent for them.
  'rename and delete': {
    A: { lines: NOTHING, close: OPEN },
    B: { lines: [setLine('☁ a', '1'), setLine('☁ b', '2'), setLine('☁ d', '4')], close: OPEN },
    C: { frames: [[setLine('☁ a', '1'), setLine('☁ b', '2'), setLine('☁ d', '4')]], close: OPEN },
  },
  // performHandshake: "Already performed handshake" -> 4000.
  'second handshake': A_CLOSED(4000),
  // parseMessage throws -> 4000.
  'bad JSON': A_CLOSED(4000),
  // isValidMessage: method must be a string -> 4000.
  'JSON without a method': A_CLOSED(4000),
  // processMessage default: "Unknown message method" -> 4000.
  'unknown method': A_CLOSED(4000),
  // validators.js USERNAME_REGEX /^[a-z0-9_-]+$/i -> 4002 (doc: a username problem).
  'username with invalid characters': A_CLOSED(4002),
  // USERNAME_MAX_LENGTH = 20 -> 4002.
  'username of 21 characters': A_CLOSED(4002),
  // USERNAME_MIN_LENGTH = 1: two characters are fine.
  'username of 2 characters': A_IGNORED,
  // isValidUsername(undefined) is false -> 4002.
  'handshake without user': A_CLOSED(4002),
  // Nothing checks that usernames are unique in a room.
  'same username twice in a room': {
    A: { lines: [setLine('☁ b', '2')], close: OPEN },
    B: { lines: [setLine('☁ a', '1')], close: OPEN },
  },
  // ws.on('message'): binary frames are ignored.
  'binary frame': A_IGNORED,
  // performSet: "No room setup yet" -> 4000.
  'frame before the handshake': A_CLOSED(4000),
  // server.js: a Cookie header starting with "scratchsessionsid=" gets a text frame (a
  // warning for the library's user) and 4005, before anything else.
  'Scratch session cookie': { B: { lines: NOTHING, close: OPEN }, A: { lines: ['<text>'], close: 4005 } },
  // The check is startsWith: the same cookie after another one is not caught.
  'Scratch session cookie not first': A_IGNORED,
};

describe.skipIf(!peerPresent())("the Scratch 3 exchanges against TurboWarp's cloud-server (the peer)", () => {
  let peer: ScratchServer;
  let answers: Map<string, ExchangeAnswer>;

  beforeAll(async () => {
    peer = await PEER_TARGET.start();
    answers = await runExchanges(SCRATCH_EXCHANGES, peer);
  });

  afterAll(async () => {
    await peer?.stop();
  });

  it('has an expectation for every exchange in the script', () => {
    expect(Object.keys(PEER_EXPECTED).sort()).toEqual(SCRATCH_EXCHANGES.map((exchange) => exchange.name).sort());
  });

  it.each(SCRATCH_EXCHANGES.map((exchange) => [exchange.name, exchange] as const))('%s', (name, exchange) => {
    const answer = answers.get(name);
    if (!answer) throw new Error(`no answer for ${name}`);
    expect(comparable(exchange, answer)).toEqual({ clients: PEER_EXPECTED[name], stalled: [] });
  });

  for (const target of OTHER_TARGETS) {
    describe(`${target.name} answers as the peer does, except the known differences`, () => {
      let server: ScratchServer;
      let theirs: Map<string, ExchangeAnswer>;

      beforeAll(async () => {
        server = await target.start();
        theirs = await runExchanges(SCRATCH_EXCHANGES, server);
      });

      afterAll(async () => {
        await server?.stop();
      });

      it('matches the peer on every exchange not listed as a known difference', () => {
        const { mismatches, staleKnown } = compareAnswers(SCRATCH_EXCHANGES, answers, theirs, KNOWN_GATEWAY_DIFFERENCES);
        expect(mismatches).toEqual([]);
        expect(staleKnown).toEqual([]);
      });
    });
  }
});
