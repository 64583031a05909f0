/**
 * Who connects where: the deterministic layout of clients, rooms, gateways and workers.
 *
 * Client c belongs to room c % rooms, as member floor(c / rooms). Members of one room are
 * spread round-robin over the gateway URLs (so with two gateways every room spans both and
 * fan-out crosses Redis). A whole room lives in one worker process: latency stamps use that
 * process's monotonic clock, so sender and receiver must share it.
 */

import type { DialectName } from '@cloudvars/protocol';
import type { StampFormat } from './ledger.ts';
import { DIALECTS, type ValueKind } from './wire.ts';

export type LoadMode = 'load' | 'idle' | 'join-storm';

export interface LoadOptions {
  readonly mode: LoadMode;
  /**
   * The protocol the clients speak: seed or legacy (2020, variables declared at the
   * handshake) or scratch (Scratch 3: none declared, the first set creates a variable).
   */
  readonly dialect: DialectName;
  /** Set values as JSON strings, or (scratch only) as JSON numbers, as Scratch 3's VM sends them. */
  readonly values: ValueKind;
  /** Gateway WebSocket URLs; clients are spread over them round-robin within each room. */
  readonly urls: readonly string[];
  readonly clients: number;
  readonly rooms: number;
  /** Sets per second per client (load mode). */
  readonly rate: number;
  /** Variables per room, 1..10 (scratch: 1..128); client member m writes variable m % variables. */
  readonly variables: number;
  readonly warmupSeconds: number;
  readonly durationSeconds: number;
  /** After the window closes, how long to wait for in-flight deliveries. */
  readonly drainSeconds: number;
  /** Worker processes; 0 runs every client in the calling process. */
  readonly workers: number;
  /** Connections being opened at once, per worker. */
  readonly connectConcurrency: number;
  /** How long a client may wait for its join acknowledgement before it counts as failed. */
  readonly joinTimeoutMs: number;
  readonly gatewayPids: readonly number[];
  readonly redisPids: readonly number[];
  /** Prefix of every room id, unique per run so stored rooms from earlier runs never collide. */
  readonly runId: string;
  /** Progress lines on stderr. */
  readonly verbose: boolean;
  /**
   * Idle mode: after the settle period, send this signal to the gateway pids (a server that
   * runs a full GC on it: bench/gc-on-signal.ts) and sample RSS again; null: no such sample.
   */
  readonly gcSignal: NodeJS.Signals | null;
}

export const DEFAULT_OPTIONS: Omit<LoadOptions, 'urls'> = {
  mode: 'load',
  dialect: 'seed',
  values: 'text',
  clients: 100,
  rooms: 10,
  rate: 5,
  variables: 10,
  warmupSeconds: 3,
  durationSeconds: 20,
  drainSeconds: 5,
  workers: 0,
  connectConcurrency: 200,
  joinTimeoutMs: 15_000,
  gatewayPids: [],
  redisPids: [],
  runId: `lg${Date.now().toString(36)}`,
  verbose: true,
  gcSignal: null,
};

export interface ClientSpec {
  /** Global client index; also the sender id in stamps. */
  readonly index: number;
  readonly room: string;
  readonly roomIndex: number;
  readonly member: number;
  readonly url: string;
  readonly username: string;
  /** The one variable this client writes. */
  readonly variable: string;
}

export function variableName(i: number): string {
  return `☁ v${i}`;
}

export function roomName(runId: string, roomIndex: number): string {
  return `${runId}-r${roomIndex}`;
}

export function workerOfRoom(roomIndex: number, workers: number): number {
  return workers <= 1 ? 0 : roomIndex % workers;
}

/** The clients that worker `worker` of `workers` runs (workers 0 or 1: everyone). */
export function clientsForWorker(opts: LoadOptions, worker: number, workers: number): ClientSpec[] {
  const out: ClientSpec[] = [];
  for (let c = 0; c < opts.clients; c++) {
    const roomIndex = c % opts.rooms;
    if (workerOfRoom(roomIndex, workers) !== worker) continue;
    const member = Math.floor(c / opts.rooms);
    out.push({
      index: c,
      room: roomName(opts.runId, roomIndex),
      roomIndex,
      member,
      url: opts.urls[(roomIndex + member) % opts.urls.length] ?? '',
      username: `user${c}`,
      variable: variableName(member % opts.variables),
    });
  }
  return out;
}

/** How the values of a run are stamped: numbers must fit a JavaScript number exactly. */
export function stampFormat(values: ValueKind): StampFormat {
  return values === 'number' ? 'compact' : 'full';
}

/** Most variables a room may have in a run: 2020 handshakes declare them all; scratch rooms take 128 (TurboWarp's limit, and ours). */
export function maxVariables(dialect: DialectName): number {
  return dialect === 'scratch' ? 128 : 10;
}

/**
 * The handshake variables (2020 dialects; a scratch handshake declares none, and neither
 * server answers a join to a room without variables: a scratch join is acknowledged by the
 * pong to a ping sent right behind the handshake, see client.ts). The first holds an invalid value on purpose: a client that
 * creates the room is answered with a correction to "0" (PROTOCOL.md), one that joins an
 * existing room with its snapshot. Either way every successful join gets one frame back,
 * which is the join acknowledgement the protocol otherwise lacks.
 */
export function handshakeVariables(count: number): Record<string, string> {
  const vars: Record<string, string> = {};
  for (let i = 0; i < count; i++) vars[variableName(i)] = i === 0 ? 'x' : '0';
  return vars;
}

export class OptionsError extends Error {
  readonly code = 'CV_ERR_LOADGEN_OPTIONS';
}

export function validateOptions(o: LoadOptions): void {
  const fail = (m: string): never => {
    throw new OptionsError(m);
  };
  if (o.urls.length === 0) fail('at least one --url is required');
  if (!Number.isInteger(o.clients) || o.clients < 1) fail('--clients must be a positive integer');
  if (!Number.isInteger(o.rooms) || o.rooms < 1 || o.rooms > o.clients) fail('--rooms must be 1..clients');
  if (!DIALECTS.includes(o.dialect)) fail(`--dialect must be one of ${DIALECTS.join(', ')}`);
  if (o.values !== 'text' && o.values !== 'number') fail('--values must be text or number');
  if (o.values === 'number' && o.dialect !== 'scratch') fail('--values number needs --dialect scratch: the 2020 dialects carry values as strings');
  const most = maxVariables(o.dialect);
  if (!Number.isInteger(o.variables) || o.variables < 1 || o.variables > most) fail(`--variables must be 1..${most} in the ${o.dialect} dialect`);
  if (!(o.rate > 0) || o.rate > 30) fail('--rate must be in (0, 30]: the gateway closes clients above 30 msg/s');
  if (!(o.durationSeconds > 0)) fail('--duration must be positive');
  if (!(o.warmupSeconds >= 0)) fail('--warmup must be >= 0');
  if (!Number.isInteger(o.workers) || o.workers < 0) fail('--workers must be >= 0');
  if (o.workers > o.rooms) fail('--workers must not exceed --rooms: a room never spans workers');
}
