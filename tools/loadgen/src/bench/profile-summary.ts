/**
 * Where a server spent its CPU, from a V8 .cpuprofile (node --cpu-prof): self time per
 * function, per module and per category of work (categoryOf: socket writes to clients or to
 * Redis, the Redis client, ws, the gateway's files, ...), and the inclusive time of the
 * application's own functions, so a results file can say what the profile shows.
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly hitCount?: number;
  readonly children?: readonly number[];
  readonly callFrame: CallFrame;
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  /** Monotonic microseconds (the clock of process.hrtime in any process on the host). */
  readonly startTime: number;
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
}

/** Samples per node id, only those taken inside [from, to] when a window is given. */
function hitsPerNode(profile: CpuProfile, window?: readonly [number, number]): Map<number, number> {
  const hits = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  if (!window || samples.length === 0) {
    for (const node of profile.nodes) hits.set(node.id, node.hitCount ?? 0);
    return hits;
  }
  let t = profile.startTime;
  for (let i = 0; i < samples.length; i++) {
    t += deltas[i] ?? 0;
    const id = samples[i];
    if (id === undefined || t < window[0] || t > window[1]) continue;
    hits.set(id, (hits.get(id) ?? 0) + 1);
  }
  return hits;
}

export interface ProfileRow {
  readonly name: string;
  readonly share: number;
}

export interface ProfileSummary {
  readonly samples: number;
  /** Self time. */
  readonly functions: readonly ProfileRow[];
  readonly modules: readonly ProfileRow[];
  /** Every sample by what the code does (categoryOf), largest first. */
  readonly categories: readonly ProfileRow[];
  /** Inclusive time of the application's own functions (gateway, engine, protocol; the peer's src). */
  readonly inclusive: readonly ProfileRow[];
}

/** A short module label: the npm package, a workspace path, the peer's file, node internals, or V8's pseudo-frames. */
export function moduleOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node internals';
  const nm = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm?.[1]) return nm[1];
  const ws = /\/((?:packages|services|tools)\/[^/]+\/(?:src|dist)\/.+)$/.exec(url);
  if (ws?.[1]) return ws[1];
  // The peer runs from a temporary copy: cloudvars-peer-XXXX/src/server.js.
  const peer = /\/cloudvars-peer-[^/]+\/(src\/.+)$/.exec(url);
  return peer?.[1] ? `peer ${peer[1]}` : url;
}

const SOCKET_WRITES: ReadonlySet<string> = new Set([
  'writev',
  'writeUtf8String',
  'writeBuffer',
  'writeBuffers',
  'writeLatin1String',
  'writeAsciiString',
  'writeUcs2String',
]);
/** node's stream functions a socket write goes through. */
const WRITE_PATH: ReadonlySet<string> = new Set([
  'Writable.write',
  'Writable.end',
  'Writable.uncork',
  'Socket._writeGeneric',
  'writeGeneric',
  'writevGeneric',
  'clearBuffer',
  'afterWriteDispatched',
]);
const REDIS_CLIENT: ReadonlySet<string> = new Set(['ioredis', 'redis-parser', 'redis-errors', 'standard-as-callback', 'denque', 'cluster-key-slot']);
const HTTP_AND_LOGS: ReadonlySet<string> = new Set([
  'fastify',
  'pino',
  'avvio',
  'find-my-way',
  'light-my-request',
  'sonic-boom',
  'thread-stream',
  '@fastify/websocket',
  'winston',
  'winston-transport',
  'logform',
  'winston-daily-rotate-file',
  'readable-stream',
  'file-stream-rotator',
  'finalhandler',
  'serve-static',
  'send',
]);

/** The stack from the sampled frame up: [self, caller, caller's caller, ...]. */
export type Stack = readonly CallFrame[];

/**
 * What the sampled frame's time is spent on. A system call or node's stream code is
 * charged to the connection it serves: under the Redis client it is Redis's, else the clients'.
 */
export function categoryOf(stack: Stack): string {
  const self = stack[0];
  if (!self) return 'other';
  const mod = moduleOf(self.url, self.functionName);
  const underRedis = stack.some((f) => REDIS_CLIENT.has(moduleOf(f.url, f.functionName)));
  if (mod === '(garbage collector)') return 'garbage collection';
  if (mod === '(program)') return 'V8 and libuv outside JavaScript ((program))';
  if (mod === '(native)' && SOCKET_WRITES.has(self.functionName)) return underRedis ? 'Redis socket: write system calls' : 'client sockets: write system calls';
  if (mod === '(native)' && self.functionName === 'runMicrotasks') return 'promise jobs (runMicrotasks)';
  if (REDIS_CLIENT.has(mod) || ((mod === 'node internals' || mod === '(native)') && underRedis)) return 'Redis client (ioredis, its stream calls included)';
  if (mod === 'node internals' || mod === '(native)') {
    if (stack.some((f) => WRITE_PATH.has(f.functionName))) return 'client sockets: node stream write path';
    if (stack.some((f) => f.functionName === 'onStreamRead')) return 'client sockets: node read path';
    return 'node internals: event loop, timers, other';
  }
  if (mod === 'ws') return 'ws (WebSocket framing and parsing)';
  if (mod === 'prom-client') return 'metrics (prom-client)';
  if (HTTP_AND_LOGS.has(mod)) return 'HTTP framework and logging';
  const gateway = /^services\/gateway\/(?:src|dist)\/(.+)\.[jt]s$/.exec(mod);
  if (gateway?.[1]) return `gateway ${gateway[1]}`;
  if (/^packages\/rooms\//.test(mod)) return 'rooms engine (packages/rooms)';
  if (/^packages\/protocol\//.test(mod)) return 'protocol (packages/protocol)';
  if (mod.startsWith('peer ')) return mod;
  return mod;
}

function isApplication(mod: string): boolean {
  return /^(?:services|packages)\//.test(mod) || mod.startsWith('peer ');
}

function top(map: Map<string, number>, total: number, n: number): ProfileRow[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, hits]) => ({ name, share: total === 0 ? 0 : hits / total }));
}

function label(frame: CallFrame): string {
  const mod = moduleOf(frame.url, frame.functionName);
  return `${frame.functionName || '(anonymous)'} ${mod}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
}

/** Summary of a parsed profile; with `window` (monotonic us), only samples inside it. */
export function summarize(profile: CpuProfile, window?: readonly [number, number], n = 12): ProfileSummary {
  const nodeHits = hitsPerNode(profile, window);
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const stackOf = (id: number): CallFrame[] => {
    const frames: CallFrame[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const node = byId.get(at);
      if (node) frames.push(node.callFrame);
    }
    return frames;
  };
  const byFunction = new Map<string, number>();
  const byModule = new Map<string, number>();
  const byCategory = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const hits = nodeHits.get(node.id) ?? 0;
    const { functionName, url } = node.callFrame;
    // Idle time is the process waiting for work, not a cost.
    if (hits === 0 || functionName === '(idle)') continue;
    total += hits;
    const mod = moduleOf(url, functionName);
    const fn = label(node.callFrame);
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + hits);
    byModule.set(mod, (byModule.get(mod) ?? 0) + hits);
    const stack = stackOf(node.id);
    const category = categoryOf(stack);
    byCategory.set(category, (byCategory.get(category) ?? 0) + hits);
    // Each application function once per sample, however deep it recurses.
    const seen = new Set<string>();
    for (const frame of stack) {
      if (!isApplication(moduleOf(frame.url, frame.functionName))) continue;
      const key = label(frame);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + hits);
    }
  }
  return {
    samples: total,
    functions: top(byFunction, total, n),
    modules: top(byModule, total, n),
    categories: top(byCategory, total, byCategory.size),
    inclusive: top(inclusive, total, n),
  };
}

/** Summary of a .cpuprofile file; with `window` (monotonic us), only samples inside it. */
export function summarizeProfile(path: string, window?: readonly [number, number], n = 12): ProfileSummary {
  return summarize(JSON.parse(readFileSync(path, 'utf8')) as CpuProfile, window, n);
}
