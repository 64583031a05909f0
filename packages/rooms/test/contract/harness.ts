import { afterEach } from 'vitest';
import type {
  BusListener,
  EngineLimits,
  EngineStatusEvent,
  JoinRequest,
  Lease,
  Moderation,
  ProjectPolicies,
  RoomBus,
  RoomEngine,
  RoomEvent,
  RoomSnapshot,
  RoomStore,
  SetEvent,
  VariableEntry,
  WindowCounters,
} from '../../src/ports.ts';

/** Two "pods" on one backend; for a single-process engine both entries are the same engine. */
export interface RoomEngineUnderTest {
  readonly engines: readonly [RoomEngine, RoomEngine];
  /** Everything the engines reported through their `onStatus` callback, in order. */
  readonly statuses: readonly EngineStatusEvent[];
  cleanup(): Promise<void>;
}

export type RoomEngineFactory = (options: { limits: EngineLimits; now: () => number }) => Promise<RoomEngineUnderTest>;

/** Generous limits so that only the limit a test lowers can refuse a join. */
export const roomyLimits: EngineLimits = {
  maxClientsPerRoom: 50,
  maxVariables: 20,
  maxRoomBytes: 1_000_000,
  maxRooms: 1_000,
  maxConnectionsPerAddress: 500,
  leaseTtlMs: 15_000,
  roomTtlMs: 3_600_000,
  untouchedRoomTtlMs: 0,
};

/** Records what one bus delivers. One per engine: a bus takes a single listener. */
export class Recorder implements BusListener {
  readonly events: RoomEvent[] = [];
  resyncs = 0;
  onEvent(event: RoomEvent): void {
    this.events.push(event);
  }
  onResync(): void {
    this.resyncs += 1;
  }
  /** Every event of the room, in delivery order. */
  all(room: string): RoomEvent[] {
    return this.events.filter((event) => event.room === room);
  }
  /** The room's set events, in delivery order. */
  of(room: string): SetEvent[] {
    return this.events.filter((event): event is SetEvent => event.room === room && event.type === 'set');
  }
}

export interface Pod {
  readonly store: RoomStore;
  readonly bus: RoomBus;
  readonly counters: WindowCounters;
  readonly moderation: Moderation;
  readonly policies: ProjectPolicies;
  readonly recorder: Recorder;
}

/**
 * A test's world: two pods and a clock only the test moves. The clock starts at the
 * real time, so an engine that also sets real expiries (Redis PEXPIRE) sees sane values;
 * ttls in tests are long enough that real time never reaches them.
 */
export interface World {
  readonly pods: readonly [Pod, Pod];
  readonly limits: EngineLimits;
  advance(ms: number): void;
  /**
   * What a restart with other settings does to the rooms the backend keeps (MAX_ROOM_BYTES
   * lowered under rooms filled before): both pods take these limits from their next call.
   */
  relimit(overrides: Partial<EngineLimits>): void;
}

/** Registers cleanup and returns the per-test world builder. Call inside a describe. */
export function useWorld(factory: RoomEngineFactory): (limits?: Partial<EngineLimits>) => Promise<World> {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });
  return async (overrides = {}) => {
    const limits = { ...roomyLimits, ...overrides };
    let time = Date.now();
    const underTest = await factory({ limits, now: () => time });
    cleanups.push(() => underTest.cleanup());
    const recorders = new Map<RoomEngine, Recorder>();
    const pod = (engine: RoomEngine): Pod => {
      let recorder = recorders.get(engine);
      if (recorder === undefined) {
        recorder = new Recorder();
        engine.bus.listen(recorder);
        recorders.set(engine, recorder);
      }
      return { store: engine.store, bus: engine.bus, counters: engine.counters, moderation: engine.moderation, policies: engine.policies, recorder };
    };
    return {
      pods: [pod(underTest.engines[0]), pod(underTest.engines[1])],
      limits,
      advance: (ms) => {
        time += ms;
      },
      // Every engine reads its limits at each call, from the object it was given.
      relimit: (changed) => {
        Object.assign(limits, changed);
      },
    };
  };
}

let roomCounter = 0;
/** A room name no other test uses (engines may share one backend across tests). */
export function freshRoom(label = 'room'): string {
  roomCounter += 1;
  return `${label}-${roomCounter}-${Math.random().toString(36).slice(2, 8)}`;
}

export function joinRequest(
  room: string,
  connectionId: string,
  username: string,
  variables: readonly VariableEntry[] | null = [['x', '0']],
  address = '10.0.0.1',
): JoinRequest {
  return { room, connectionId, username, claimUsername: true, variables, address };
}

export function leaseOf(request: JoinRequest): Lease {
  const usernameKey = request.claimUsername ? request.username.toLowerCase() : null;
  return { room: request.room, connectionId: request.connectionId, address: request.address, usernameKey };
}

/** Order-free comparison form: stores need not keep variable order. */
export function sorted(variables: readonly VariableEntry[]): VariableEntry[] {
  return [...variables].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
}

/** A snapshot in order-free form, or null. */
export function normalized(snapshot: RoomSnapshot | null): RoomSnapshot | null {
  return snapshot === null ? null : { epoch: snapshot.epoch, seq: snapshot.seq, variables: sorted(snapshot.variables) };
}
