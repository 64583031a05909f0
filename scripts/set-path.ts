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
 * in one round do not count. Cross-file calls are not measured: coverage counts calls per
 * function, not who called whom.
 */
import { Session } from 'node:inspector/promises';
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
const VARIABLE = '\u2601 path';

interface ScriptCoverage {
  url: string;
  functions: { functionName: string; ranges: { startOffset: number; count: number }[] }[];
}

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

/** Counts since the last take (a take resets V8's counters), by file and function. */
async function takeCounts(): Promise<Map<string, Map<string, number>>> {
  const { result } = (await inspector.post('Profiler.takePreciseCoverage')) as { result: ScriptCoverage[] };
  const files = new Map<string, Map<string, number>>();
  for (const script of result) {
    if (!script.url.startsWith('file://')) continue;
    const path = relative(ROOT, fileURLToPath(script.url));
    if (path.startsWith('..') || path.split(sep).includes('node_modules') || path.startsWith(`scripts${sep}`)) continue;
    for (const fn of script.functions) {
      const range = fn.ranges[0];
      if (range === undefined || range.count === 0) continue;
      const functions = files.get(path) ?? new Map<string, number>();
      const name = fn.functionName === '' ? `(anonymous @${range.startOffset})` : fn.functionName;
      functions.set(name, (functions.get(name) ?? 0) + range.count);
      files.set(path, functions);
    }
  }
  return files;
}

/** What ran in every round, with its smallest count. */
function inEveryRound(rounds: Map<string, Map<string, number>>[]): Map<string, Map<string, number>> {
  const [first, ...rest] = rounds;
  const kept = new Map<string, Map<string, number>>();
  for (const [file, functions] of first ?? []) {
    for (const [name, count] of functions) {
      const counts = rest.map((round) => round.get(file)?.get(name) ?? 0);
      const least = Math.min(count, ...counts);
      if (least === 0) continue;
      const keptFunctions = kept.get(file) ?? new Map<string, number>();
      keptFunctions.set(name, least);
      kept.set(file, keptFunctions);
    }
  }
  return kept;
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
async function measure(makeEngine: (config: Config) => RoomEngine): Promise<Map<string, Map<string, number>>> {
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
  const rounds: Map<string, Map<string, number>>[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    await spaced();
    const frame = nextSet();
    await takeCounts();
    await oneSet(frame);
    rounds.push(await takeCounts());
  }
  for (const client of clients) client.socket.close();
  await gateway.app.close();
  await engine.close();
  return inEveryRound(rounds);
}

function print(title: string, files: Map<string, Map<string, number>>): void {
  const rows = [...files].sort(([a], [b]) => a.localeCompare(b));
  const gatewayFiles = rows.filter(([file]) => file.startsWith(`services${sep}`)).length;
  let functions = 0;
  let calls = 0;
  console.log(`\n${title}: ${rows.length} files (gateway ${gatewayFiles}, packages ${rows.length - gatewayFiles})`);
  console.log('| file | functions | calls | functions run (calls) |\n|---|---|---|---|');
  for (const [file, ran] of rows) {
    const fileCalls = [...ran.values()].reduce((sum, count) => sum + count, 0);
    functions += ran.size;
    calls += fileCalls;
    const names = [...ran].map(([name, count]) => `${name} ${count}`).join(', ');
    console.log(`| ${file} | ${ran.size} | ${fileCalls} | ${names} |`);
  }
  console.log(`| total | ${functions} | ${calls} | |`);
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
}
await redis?.destroy();
inspector.disconnect();
