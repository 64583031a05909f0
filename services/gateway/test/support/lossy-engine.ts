/**
 * A real in-memory engine whose bus the test can make lose events, report a reconnect, or
 * inject a foreign event: the faults a Redis bus has, on demand, to test the gateway's
 * self-healing (DESIGN.md invariant 4). The store underneath is real; a test may delay a
 * join's answer or turn it into a failure after the store applied it (a timed-out call), or
 * fail the window counters.
 */
import {
  createMemoryEngine,
  type BusListener,
  type EngineLimits,
  type JoinRequest,
  type JoinResult,
  type RoomEngine,
  type RoomEvent,
  type RoomStore,
} from '@cloudvars/rooms';

export interface BusFaults {
  /** Events for which this returns true never reach the gateway. */
  drop: (event: RoomEvent) => boolean;
  /** As if the bus had reconnected: the gateway must re-read every room. */
  reconnect(): void;
  /** Delivers an event the store never applied (e.g. from another epoch). */
  inject(event: RoomEvent): void;
  /** Runs right after each subscribe resolves, before the gateway goes on (e.g. to join). */
  afterSubscribe: (rooms: readonly string[]) => void;
  /** Runs once the store applied a join, before the gateway gets the answer: may wait, or throw. */
  afterJoin: (request: JoinRequest, result: JoinResult) => Promise<JoinResult>;
  /** Runs before each window counter hit (room creations, handshakes): may throw, as a Redis timeout would. */
  beforeHit: (key: string) => Promise<void>;
  /** How many times the gateway subscribed to each room. */
  readonly subscribes: Map<string, number>;
  readonly unsubscribes: Map<string, number>;
}

export function lossyEngine(limits: EngineLimits): { engine: RoomEngine; faults: BusFaults } {
  const inner = createMemoryEngine({ limits });
  let gateway: BusListener | null = null;
  const count = (map: Map<string, number>, rooms: readonly string[]) => {
    for (const room of rooms) map.set(room, (map.get(room) ?? 0) + 1);
  };
  const faults: BusFaults = {
    drop: () => false,
    afterSubscribe: () => undefined,
    afterJoin: async (_request, result) => result,
    beforeHit: async () => undefined,
    reconnect: () => gateway?.onResync(),
    inject: (event) => gateway?.onEvent(event),
    subscribes: new Map(),
    unsubscribes: new Map(),
  };
  const engine: RoomEngine = {
    kind: inner.kind,
    store: new Proxy(inner.store, {
      get(target, property, receiver): unknown {
        if (property === 'join') {
          return async (request: JoinRequest) => faults.afterJoin(request, await target.join(request));
        }
        const value: unknown = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    }) satisfies RoomStore,
    counters: {
      hit: async (key, windowMs, max) => {
        await faults.beforeHit(key);
        return inner.counters.hit(key, windowMs, max);
      },
      refund: (key) => inner.counters.refund(key),
    },
    moderation: inner.moderation,
    policies: inner.policies,
    bus: {
      listen(listener) {
        gateway = listener;
        inner.bus.listen({
          onEvent: (event) => {
            if (!faults.drop(event)) listener.onEvent(event);
          },
          onResync: () => listener.onResync(),
        });
      },
      subscribe: async (rooms) => {
        count(faults.subscribes, rooms);
        await inner.bus.subscribe(rooms);
        faults.afterSubscribe(rooms);
      },
      unsubscribe: (rooms) => {
        count(faults.unsubscribes, rooms);
        return inner.bus.unsubscribe(rooms);
      },
      probe: (timeoutMs) => inner.bus.probe(timeoutMs),
    },
    isConnected: () => inner.isConnected(),
    close: () => inner.close(),
  };
  return { engine, faults };
}
