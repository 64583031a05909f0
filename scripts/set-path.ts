/**
 * Which of our source files one `set` runs code in, measured rather than read: an in-process
 * gateway (the memory engine, then a Redis engine when REDIS_URL is set or `redis-server` is on
 * PATH), three Scratch 3 clients in one room, and V8's precise coverage with call counts taken
 * around exactly one set from one client, until every other member received it. Prints, per
 * engine, each file of the repository (not node_modules) whose functions ran, with the functions
 * and their calls. docs/DESIGN.md ("The path of one set") quotes its counts.
 *
 *   node --conditions=source --import tsx scripts/set-path.ts
 *
 * The set is measured ROUNDS times after a warm-up; a function counts only when it ran in every
 * round, with its smallest count, so the pod's timers (lease renewal, sweeps) that happen to fire
 * in one round do not count. Then the calls between files: coverage counts calls per function,
 * not who called whom, so a worker thread debugs this one (inspector connectToMainThread), sets a
 * breakpoint at the start of each function that ran, and reads the caller's file at each pause,
 * around CALL_ROUNDS more sets (the smallest count of each pair of files is kept). A call from a
 * file of ours to another is a cross-file call; a call from outside (ws, a timer, a promise's
 * continuation) is an entry.
 */
import { Session } from 'node:inspector/promises';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { relative, sep } from 'node:path';
import { WebSocket } from 'ws';
// Types only (erased): the modules themselves load once coverage has started, below.
import type { RoomEngine } from '../packages/rooms/src/index.ts';
import type { Config } from '../services/gateway/src/config.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLIENTS = 3;
const WARM_UP_SETS = 20;
const ROUNDS = 5;
const CALL_ROUNDS = 3;
const VARIABLE = '\u2601 path';

interface ScriptCoverage {
  url: string;
  functions: { functionName: string; ranges: { startOffset: number; count: number }[] }[];
}

/** Per file, the functions that ran (by where they start in the script V8 runs): name and calls. */
type Counts = Map<string, Map<number, { readonly name: string; readonly count: number }>>;

/** Calls by `from` file (an empty string: from outside our files) and `to` file. */
type Calls = Map<string, number>;

/** A function of ours to stop at: its script and where it starts. */
interface Target {
  readonly url: string;
  readonly offset: number;
}

/** The call counter, run in a worker: the main thread cannot debug itself while it is paused. */
const CALL_COUNTER = `
const { parentPort, workerData } = require('node:worker_threads');
const { Session } = require('node:inspector');
const session = new Session();
session.connectToMainThread();
const post = (method, params) => new Promise((resolve, reject) => session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))));
const scripts = new Map();
const urls = new Map();
session.on('Debugger.scriptParsed', ({ params }) => {
  scripts.set(params.url, params.scriptId);
  urls.set(params.scriptId, params.url);
});
// A frame's file when it is one of ours, else '' (node_modules, Node's own code).
const ours = (frame) => {
  const url = frame === undefined ? '' : (urls.get(frame.location.scriptId) ?? '');
  return url.startsWith(workerData.root) && !url.includes('/node_modules/') ? url.slice(workerData.root.length) : '';
};
let calls = null;
session.on('Debugger.paused', ({ params }) => {
  const [callee, caller] = params.callFrames;
  if (calls !== null && callee !== undefined) {
    const key = ours(caller) + '\\t' + ours(callee);
    calls.set(key, (calls.get(key) ?? 0) + 1);
  }
  session.post('Debugger.resume');
});
const breakpoints = [];
parentPort.on('message', async (message) => {
  if (message.type === 'arm') {
    await post('Debugger.enable');
    const sources = new Map();
    for (const { url, offset } of message.targets) {
      const scriptId = scripts.get(url);
      if (scriptId === undefined) continue;
      if (!sources.has(scriptId)) sources.set(scriptId, (await post('Debugger.getScriptSource', { scriptId })).scriptSource);
      const before = sources.get(scriptId).slice(0, offset).split('\\n');
      const start = { scriptId, lineNumber: before.length - 1, columnNumber: before[before.length - 1].length };
      // The first place the function itself can stop (not a function nested in it).
      const { locations } = await post('Debugger.getPossibleBreakpoints', { start, restrictToFunction: true });
      if (locations.length === 0) continue;
      breakpoints.push((await post('Debugger.setBreakpoint', { location: locations[0] })).breakpointId);
    }
    calls = new Map();
    parentPort.postMessage({ type: 'armed' });
  } else if (message.type === 'take') {
    parentPort.postMessage({ type: 'calls', calls: [...calls] });
    calls = new Map();
  } else if (message.type === 'disarm') {
    calls = null;
    for (const breakpointId of breakpoints.splice(0)) await post('Debugger.removeBreakpoint', { breakpointId });
    await post('Debugger.disable');
    parentPort.postMessage({ type: 'disarmed' });
  }
});
`;

const inspector = new Session();
inspector.connect();
await inspector.post('Profiler.enable');
// Started before the gateway's modules load, so that every function of theirs is counted.
await inspector.post('Profiler.startPreciseCoverage', { callCount: true, detailed: false });

const { createMemoryEngine, createRedisEngine } = await import('../packages/rooms/src/index.ts');
const { encodeClientSet, encodeHandshake } = await import('../packages/protocol/src/index.ts');
const { buildApp } = await import('../services/gateway/src/app.ts');
const { loadConfig, makeInstanceId } = await import('../services/gateway/src/config.ts');
const { engineLimits } = await import('../services/gateway/src/engine.ts');
const { hasBinary, startRedisProcess } = await import('@cloudvars/test-support/redis-server');
const { deletePrefix } = await import('@cloudvars/test-support/redis-engines');

/** Counts since the last take (a take resets V8's counters), by file and function. */
async function takeCounts(): Promise<{ counts: Counts; urls: Map<string, string> }> {
  const { result } = (await inspector.post('Profiler.takePreciseCoverage')) as { result: ScriptCoverage[] };
  const counts: Counts = new Map();
  const urls = new Map<string, string>();
  for (const script of result) {
    if (!script.url.startsWith('file://')) continue;
    const path = relative(ROOT, fileURLToPath(script.url));
    if (path.startsWith('..') || path.split(sep).includes('node_modules') || path.startsWith(`scripts${sep}`)) continue;
    for (const fn of script.functions) {
      const range = fn.ranges[0];
      if (range === undefined || range.count === 0) continue;
      const functions = counts.get(path) ?? new Map<number, { name: string; count: number }>();
      const name = fn.functionName === '' ? `(anonymous @${range.startOffset})` : fn.functionName;
      functions.set(range.startOffset, { name, count: (functions.get(range.startOffset)?.count ?? 0) + range.count });
      counts.set(path, functions);
      urls.set(path, script.url);
    }
  }
  return { counts, urls };
}

/** What ran in every round, with its smallest count. */
function inEveryRound(rounds: readonly Counts[]): Counts {
  const [first, ...rest] = rounds;
  const kept: Counts = new Map();
  for (const [file, functions] of first ?? []) {
    for (const [offset, { name, count }] of functions) {
      const counts = rest.map((round) => round.get(file)?.get(offset)?.count ?? 0);
      const least = Math.min(count, ...counts);
      if (least === 0) continue;
      const keptFunctions = kept.get(file) ?? new Map<number, { name: string; count: number }>();
      keptFunctions.set(offset, { name, count: least });
      kept.set(file, keptFunctions);
    }
  }
  return kept;
}

/** The pairs of files called in every round, with their smallest count. */
function callsInEveryRound(rounds: readonly Calls[]): Calls {
  const [first, ...rest] = rounds;
  const kept: Calls = new Map();
  for (const [pair, count] of first ?? []) {
    const least = Math.min(count, ...rest.map((round) => round.get(pair) ?? 0));
    if (least > 0) kept.set(pair, least);
  }
  return kept;
}

/** Talks to the call counter's worker. */
class CallCounter {
  private readonly worker = new Worker(CALL_COUNTER, { eval: true, workerData: { root: new URL('..', import.meta.url).href } });

  private ask<T>(message: object, answer: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const onMessage = (reply: { type: string } & T): void => {
        if (reply.type !== answer) return;
        this.worker.off('message', onMessage);
        this.worker.off('error', reject);
        resolve(reply);
      };
      this.worker.on('message', onMessage);
      this.worker.once('error', reject);
      this.worker.postMessage(message);
    });
  }

  async arm(targets: readonly Target[]): Promise<void> {
    await this.ask({ type: 'arm', targets }, 'armed');
  }

  async take(): Promise<Calls> {
    return new Map((await this.ask<{ calls: [string, number][] }>({ type: 'take' }, 'calls')).calls);
  }

  async close(): Promise<void> {
    await this.ask({ type: 'disarm' }, 'disarmed');
    await this.worker.terminate();
  }
}

class Client {
  private readonly received: string[] = [];
  private readonly waiters: (() => void)[] = [];
  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => {
      this.received.push(String(data));
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  static async open(url: string, room: string, user: string): Promise<Client> {
    const socket = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    const client = new Client(socket);
    socket.send(encodeHandshake('scratch', room, user, {}));
    return client;
  }

  /** Resolves once a frame that sets the variable to `value` came (Scratch 3 frames carry the value as JSON). */
  async receives(value: number): Promise<void> {
    const wanted = `"value":${value}`;
    while (!this.received.some((frame) => frame.includes(wanted))) await new Promise<void>((wake) => this.waiters.push(wake));
    this.received.length = 0;
  }
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let tries = 0; tries < 500; tries += 1) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The measured rounds of one engine: the clients joined, warmed up, then one set per round. */
async function measure(makeEngine: (config: Config) => RoomEngine): Promise<{ counts: Counts; calls: Calls }> {
  const config = loadConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'silent',
    DRAIN_DELAY_MS: '0',
    MAX_HANDSHAKES_PER_ADDRESS_PER_SECOND: '1000000',
    MAX_NEW_ROOMS_PER_ADDRESS_PER_MINUTE: '1000000',
  });
  const engine = makeEngine(config);
  const gateway = await buildApp({ config, engine, instanceId: makeInstanceId('set-path'), logger: false });
  const url = (await gateway.app.listen({ port: 0, host: '127.0.0.1' })).replace(/^http/, 'ws') + '/';
  const room = '100';
  const clients: Client[] = [];
  for (let index = 0; index < CLIENTS; index += 1) {
    clients.push(await Client.open(url, room, `member${index}`));
    await until(async () => (await engine.store.memberCount(room)) === index + 1, `${index + 1} members`);
  }
  const [writer, ...readers] = clients as [Client, ...Client[]];
  let value = 0;
  // Encoded before the measured window: the clients' protocol code is not the gateway's.
  const nextSet = (): string => encodeClientSet('scratch', VARIABLE, value + 1);
  const oneSet = async (frame: string): Promise<void> => {
    value += 1;
    writer.socket.send(frame);
    await Promise.all(readers.map((reader) => reader.receives(value)));
  };
  // Spaced like a project's sets (the rate and the outbox's busy-client tick stay out of it).
  const spaced = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 100));
  for (let index = 0; index < WARM_UP_SETS; index += 1) {
    await oneSet(nextSet());
    await spaced();
  }
  const rounds: Counts[] = [];
  const urls = new Map<string, string>();
  for (let round = 0; round < ROUNDS; round += 1) {
    await spaced();
    const frame = nextSet();
    await takeCounts();
    await oneSet(frame);
    const taken = await takeCounts();
    rounds.push(taken.counts);
    for (const [file, url] of taken.urls) urls.set(file, url);
  }
  const counts = inEveryRound(rounds);
  const counter = new CallCounter();
  const targets = [...counts].flatMap(([file, functions]) => [...functions.keys()].map((offset) => ({ url: urls.get(file) ?? '', offset })));
  await counter.arm(targets);
  const callRounds: Calls[] = [];
  for (let round = 0; round < CALL_ROUNDS; round += 1) {
    await spaced();
    const frame = nextSet();
    await counter.take();
    await oneSet(frame);
    callRounds.push(await counter.take());
  }
  await counter.close();
  for (const client of clients) client.socket.close();
  await gateway.app.close();
  await engine.close();
  return { counts, calls: callsInEveryRound(callRounds) };
}

function print(title: string, { counts, calls }: { counts: Counts; calls: Calls }): void {
  const rows = [...counts].sort(([a], [b]) => a.localeCompare(b));
  const gatewayFiles = rows.filter(([file]) => file.startsWith(`services${sep}`)).length;
  let functions = 0;
  let total = 0;
  console.log(`\n${title}: ${rows.length} files (gateway ${gatewayFiles}, packages ${rows.length - gatewayFiles})`);
  console.log('| file | functions | calls | functions run (calls) |\n|---|---|---|---|');
  for (const [file, ran] of rows) {
    const fileCalls = [...ran.values()].reduce((sum, { count }) => sum + count, 0);
    functions += ran.size;
    total += fileCalls;
    const names = [...ran.values()].map(({ name, count }) => `${name} ${count}`).join(', ');
    console.log(`| ${file} | ${ran.size} | ${fileCalls} | ${names} |`);
  }
  console.log(`| total | ${functions} | ${total} | |`);
  const pairs = [...calls].map(([pair, count]) => [...pair.split('\t'), count] as [string, string, number]);
  const across = pairs.filter(([from, to]) => from !== '' && from !== to);
  const sum = (list: [string, string, number][]): number => list.reduce((all, [, , count]) => all + count, 0);
  const counters = across.filter(([, to]) => to === 'services/gateway/src/metrics.ts');
  const inGateway = across.filter(([from, to]) => from.startsWith('services/') && to.startsWith('services/'));
  console.log(
    `\n${title}: ${sum(across)} cross-file calls (${sum(inGateway)} between gateway files; ${sum(counters)} counter increments, metrics.ts), ` +
      `${sum(pairs.filter(([from]) => from === ''))} entries from outside, ${sum(pairs.filter(([from, to]) => from === to))} calls within a file`,
  );
  console.log('| from | to | calls |\n|---|---|---|');
  for (const [from, to, count] of pairs.sort(([a, b], [c, d]) => a.localeCompare(c) || b.localeCompare(d))) {
    if (from !== to) console.log(`| ${from === '' ? '(outside)' : from} | ${to} | ${count} |`);
  }
}

print('memory engine', await measure((config) => createMemoryEngine({ limits: engineLimits(config) })));

const redisUrl = process.env.REDIS_URL;
const redis = redisUrl === undefined && hasBinary('redis-server') ? await startRedisProcess() : null;
const url = redisUrl ?? redis?.url;
if (url === undefined) {
  console.log('\nRedis engine: skipped (no REDIS_URL, no redis-server on PATH)');
} else {
  const keyPrefix = `set-path-${process.pid}:`;
  print('Redis engine', await measure((config) => createRedisEngine({ url, keyPrefix, limits: engineLimits(config) })));
  // A Redis of the operator's (REDIS_URL) keeps nothing of the run; ours is deleted whole.
  if (redis === null && (url.startsWith('redis://') || url.startsWith('rediss://'))) await deletePrefix(url, keyPrefix);
}
await redis?.destroy();
inspector.disconnect();
