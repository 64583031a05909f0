/**
 * The gateway's Prometheus metrics. One registry per app instance (tests run several
 * gateways in one process), exposed by plugins/metrics-route.ts at GET /metrics on METRICS_PORT.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface GatewayMetrics {
  readonly registry: Registry;
  readonly connections: Gauge;
  readonly rooms: Gauge;
  readonly subscriptions: Gauge;
  readonly messagesIn: HotCounter;
  /** Counts `frames` written to clients and the `messages` they carried, once per flush (the flush scheduler's FramesSent): cloudvars_frames_out_total and cloudvars_messages_out_total. */
  readonly sent: (frames: number, messages: number) => void;
  readonly sets: HotCounter;
  readonly readPauses: Counter;
  readonly floodPauses: Counter;
  readonly changes: Counter<'type'>;
  readonly changesIgnored: Counter<'reason'>;
  readonly upgradesRefused: Counter<'reason'>;
  readonly clientErrors: Counter<'code'>;
  readonly leasesLost: Counter;
  readonly closes: Counter<'code'>;
  readonly protocolErrors: Counter<'reason'>;
  readonly joins: Counter<'outcome'>;
  readonly resyncs: Counter;
  readonly engineErrors: Counter<'code'>;
  readonly redisReconnects: Counter;
  readonly fanoutLatency: Histogram;
  stop(): void;
}

/**
 * A counter bumped per message or frame: a plain number until scraped, since prom-client's
 * inc() looks up its label set on every call.
 */
export class HotCounter {
  private pending = 0;
  private readonly counter: Counter;

  constructor(name: string, help: string, registry: Registry) {
    const take = (): number => {
      const value = this.pending;
      this.pending = 0;
      return value;
    };
    this.counter = new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.inc(take());
      },
    });
  }

  inc(by = 1): void {
    this.pending += by;
  }

  /** The counter as a scrape reads it (tests). */
  get(): ReturnType<Counter['get']> {
    return this.counter.get();
  }
}

/** Gauges of values the pod keeps anyway, read when scraped. */
export function observe(registry: Registry, name: string, help: string, read: () => number): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}

/** The event-loop delay's p99 is taken (and its monitor reset) this often. */
const LAG_SAMPLE_MS = 1_000;

/** Codes that get their own label; a client may close with any of ~2,000 codes, which would each become a series. */
const KNOWN_CLOSE_CODES = new Set([1000, 1001, 1005, 1006, 1007, 1008, 1009, 1011, 1012, 1013, 4000, 4001, 4002, 4003, 4004, 4005, 4006, 4010, 4100]);

export function closeCodeLabel(code: number): string {
  return KNOWN_CLOSE_CODES.has(code) ? String(code) : 'other';
}

export function createMetrics(): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const loopDelay = monitorEventLoopDelay({ resolution: 20 });
  loopDelay.enable();
  // Sampled on a timer, never on scrape: a scrape must not change what the next one sees.
  const lag = new Histogram({
    name: 'cloudvars_event_loop_lag_seconds',
    help: 'Event-loop delay p99 of each second, one observation a second.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const sampler = setInterval(() => {
    lag.observe(loopDelay.percentile(99) / 1e9);
    loopDelay.reset();
  }, LAG_SAMPLE_MS);
  sampler.unref();
  const make = { registers: [registry] };
  const messagesOut = new HotCounter('cloudvars_messages_out_total', 'Messages sent to clients (several per frame when batched).', registry);
  const framesOut = new HotCounter('cloudvars_frames_out_total', 'WebSocket frames sent to clients.', registry);
  const metrics: GatewayMetrics = {
    registry,
    connections: new Gauge({ name: 'cloudvars_connections', help: 'Open WebSocket connections on this pod.', ...make }),
    rooms: new Gauge({ name: 'cloudvars_rooms', help: 'Rooms with members on this pod.', ...make }),
    subscriptions: new Gauge({ name: 'cloudvars_subscriptions', help: 'Room channels this pod is subscribed to.', ...make }),
    messagesIn: new HotCounter('cloudvars_messages_in_total', 'Client frames received.', registry),
    sent: (frames, messages) => {
      messagesOut.inc(messages);
      framesOut.inc(frames);
    },
    sets: new HotCounter('cloudvars_sets_total', "Sets accepted from this pod's clients and applied by the store.", registry),
    readPauses: new Counter({
      name: 'cloudvars_read_pauses_total',
      help: 'Connections not read for a while because MAX_STORE_CALLS_IN_FLIGHT store calls were in flight (the store lags).',
      ...make,
    }),
    floodPauses: new Counter({
      name: 'cloudvars_flood_pauses_total',
      help: 'Times a Scratch 3 connection was not read for a while because it sent beyond FLOOD_BURST and FLOOD_LIMIT_PER_SECOND (paced, not closed).',
      ...make,
    }),
    changes: new Counter({
      name: 'cloudvars_changes_total',
      help: "Renames and deletes applied by the store for this pod's clients, by type.",
      labelNames: ['type'],
      ...make,
    }),
    changesIgnored: new Counter({
      name: 'cloudvars_changes_ignored_total',
      help: 'Client sets, renames and deletes ignored, by reason (invalid-value, superseded-while-waiting, too-many-variables, over-budget, address-bytes, rename-disabled, ...).',
      labelNames: ['reason'],
      ...make,
    }),
    upgradesRefused: new Counter({
      name: 'cloudvars_upgrades_refused_total',
      help: 'WebSocket upgrades refused before they happened (HTTP 429/503), by reason.',
      labelNames: ['reason'],
      ...make,
    }),
    leasesLost: new Counter({
      name: 'cloudvars_leases_lost_total',
      help: 'Clients closed (1012) because the store could not renew their lease (a partition longer than a lease, Redis lost the room).',
      ...make,
    }),
    clientErrors: new Counter({
      name: 'cloudvars_client_errors_total',
      help: 'Socket errors caused by clients, live room pages or the network (frames too big, invalid UTF-8, resets), by ws or system code.',
      labelNames: ['code'],
      ...make,
    }),
    closes: new Counter({ name: 'cloudvars_closes_total', help: 'Closed connections by close code.', labelNames: ['code'], ...make }),
    protocolErrors: new Counter({
      name: 'cloudvars_protocol_errors_total',
      help: 'Connections closed for misbehaviour, by reason.',
      labelNames: ['reason'],
      ...make,
    }),
    joins: new Counter({
      name: 'cloudvars_joins_total',
      help: 'Handshakes by outcome (created, joined, migrated, extended, or the refusal).',
      labelNames: ['outcome'],
      ...make,
    }),
    resyncs: new Counter({ name: 'cloudvars_resyncs_total', help: 'Room snapshots re-read after a gap, epoch change or bus reconnect.', ...make }),
    engineErrors: new Counter({
      name: 'cloudvars_engine_errors_total',
      help: 'Errors the room engine reported (Redis connections, bus listener, resubscription), by code.',
      labelNames: ['code'],
      ...make,
    }),
    redisReconnects: new Counter({ name: 'cloudvars_redis_reconnects_total', help: 'Redis reconnections.', ...make }),
    fanoutLatency: new Histogram({
      name: 'cloudvars_fanout_latency_seconds',
      help: "From a set received on this pod to its event coming back from the bus, ready to write to every subscribed pod's sockets.",
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      ...make,
    }),
    stop: () => {
      clearInterval(sampler);
      loopDelay.disable();
    },
  };
  return metrics;
}
