/** The fixed benchmark scenarios (bench/README.md explains each and its target). */
import type { LoadMode } from '../plan.ts';

export interface Target {
  readonly allDelivered?: boolean;
  /** Gateway CPU per delivered update, microseconds. */
  readonly maxCpuUsPerDelivery?: number;
  readonly maxP99Ms?: number;
  /** Gateway RSS growth per idle connection, bytes. */
  readonly maxBytesPerConnection?: number;
  /** CPU per delivery at most this multiple of scenario `relativeTo`'s. */
  readonly maxCpuRatio?: { readonly relativeTo: string; readonly ratio: number };
}

export interface Scenario {
  readonly id: string;
  readonly title: string;
  readonly mode: LoadMode;
  readonly gateways: number;
  readonly redis: boolean;
  readonly rooms: number;
  readonly clientsPerRoom: number;
  readonly rate: number;
  readonly variables: number;
  readonly workers: number;
  readonly target: Target;
}

export const SCENARIOS: readonly Scenario[] = [
  {
    id: 'a',
    title: '100 rooms x 10 clients x 5 sets/s, one gateway, Redis',
    mode: 'load',
    gateways: 1,
    redis: true,
    rooms: 100,
    clientsPerRoom: 10,
    rate: 5,
    variables: 10,
    workers: 1,
    target: { allDelivered: true, maxCpuUsPerDelivery: 6, maxP99Ms: 30 },
  },
  {
    id: 'b',
    title: '20 rooms x 50 clients x 4 sets/s, one gateway, Redis',
    mode: 'load',
    gateways: 1,
    redis: true,
    rooms: 20,
    clientsPerRoom: 50,
    rate: 4,
    variables: 10,
    workers: 2,
    target: { allDelivered: true, maxCpuUsPerDelivery: 2.5, maxP99Ms: 50 },
  },
  {
    id: 'c',
    title: 'idle 10,000 connections (1,000 rooms x 10), one gateway, Redis',
    mode: 'idle',
    gateways: 1,
    redis: true,
    rooms: 1000,
    clientsPerRoom: 10,
    rate: 1,
    variables: 10,
    workers: 1,
    target: { maxBytesPerConnection: 8 * 1024 },
  },
  {
    id: 'd',
    title: 'as (a), two gateways sharing Redis, every room split across both',
    mode: 'load',
    gateways: 2,
    redis: true,
    rooms: 100,
    clientsPerRoom: 10,
    rate: 5,
    variables: 10,
    workers: 1,
    target: { allDelivered: true, maxCpuRatio: { relativeTo: 'a', ratio: 1.2 } },
  },
  {
    id: 'e',
    title: 'as (a), one gateway in memory mode (no Redis), for reference',
    mode: 'load',
    gateways: 1,
    redis: false,
    rooms: 100,
    clientsPerRoom: 10,
    rate: 5,
    variables: 10,
    workers: 1,
    target: { allDelivered: true },
  },
  {
    id: 'f',
    title: 'as (a) at 1 set/s per client: below saturation, for latency and unit costs with headroom',
    mode: 'load',
    gateways: 1,
    redis: true,
    rooms: 100,
    clientsPerRoom: 10,
    rate: 1,
    variables: 10,
    workers: 1,
    target: { allDelivered: true },
  },
];

/** --quick: the same shapes at a fifth of the rooms, for a smoke run. */
export function quick(s: Scenario): Scenario {
  return { ...s, rooms: Math.max(s.workers, Math.ceil(s.rooms / 5)) };
}

/**
 * `pnpm bench --peer`: issue 9's comparison with TurboWarp's server, every target in the
 * Scratch 3 dialect (the only one the peer speaks), values sent as JSON numbers as Scratch
 * 3's VM sends them. Each member writes a variable of its own: TurboWarp's server has no
 * rule for crossing writes of one variable (a writer that receives another's older value
 * after sending its own keeps showing the older one), so with shared variables its rooms
 * need not converge, and the comparison is about cost, not that difference.
 */
export interface CompareScenario {
  readonly id: string;
  readonly title: string;
  readonly mode: Extract<LoadMode, 'load' | 'idle'>;
  readonly rooms: number;
  readonly clientsPerRoom: number;
  readonly rate: number;
  readonly variables: number;
  readonly workers: number;
}

export const COMPARE_SCENARIOS: readonly CompareScenario[] = [
  { id: 'a', title: '100 rooms x 10 clients x 5 sets/s', mode: 'load', rooms: 100, clientsPerRoom: 10, rate: 5, variables: 10, workers: 1 },
  { id: 'b', title: '20 rooms x 50 clients x 4 sets/s', mode: 'load', rooms: 20, clientsPerRoom: 50, rate: 4, variables: 50, workers: 2 },
  { id: 'c', title: '10,000 idle connections (1,000 rooms x 10)', mode: 'idle', rooms: 1000, clientsPerRoom: 10, rate: 1, variables: 10, workers: 2 },
  // Issue 21's light load: below saturation, where a lone update must still leave at once.
  { id: 'l', title: '100 rooms x 10 clients x 0.5 sets/s (light)', mode: 'load', rooms: 100, clientsPerRoom: 10, rate: 0.5, variables: 10, workers: 1 },
];

/** --quick for the comparison: a fifth of the rooms. */
export function quickCompare(s: CompareScenario): CompareScenario {
  return { ...s, rooms: Math.max(s.workers, Math.ceil(s.rooms / 5)) };
}
