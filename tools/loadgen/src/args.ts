/** Command-line flags to LoadOptions. */
import { constants } from 'node:os';
import { parseArgs } from 'node:util';
import type { DialectName } from '@cloudvars/protocol';
import type { ValueKind } from './wire.ts';
import { DEFAULT_OPTIONS, OptionsError, type LoadMode, type LoadOptions } from './plan.ts';

export const USAGE = `usage: node tools/loadgen/dist/main.js (after pnpm build) --url ws://127.0.0.1:9080/ [flags]
  --mode load|idle|join-storm   load: open-loop sets; idle: RSS per connection; join-storm: handshakes/s
  --dialect seed|legacy|scratch the clients' protocol (default seed); scratch = Scratch 3 / TurboWarp,
                                which TurboWarp's cloud-server speaks too
  --values text|number          set values as JSON strings (default) or, scratch only, JSON numbers
  --url URL                     gateway WebSocket URL (repeat or comma-separate for several gateways)
  --clients N --rooms R         clients, spread evenly over rooms (default 100, 10)
  --rate S                      sets per second per client (default 5, at most 30)
  --variables V                 variables per room, 1..10, scratch 1..128 (default 10)
  --warmup S --duration S       seconds before and of the measured window (default 3, 20)
  --drain S                     seconds to wait for in-flight deliveries after the window (default 5)
  --workers W                   forked worker processes (0 = in this process; default 0; ~19,000 sockets each)
  --concurrency C               connections opened at once per worker (default 200)
  --gateway-pid P --redis-pid P processes whose CPU and RSS are reported (repeat or comma-separate)
  --run-id ID                   room id prefix (default: unique per run)
  --gc-signal SIG               idle: after the settle, send SIG to the gateway pids (a full GC on it:
                                src/bench/gc-on-signal.ts) and report RSS per connection again
  --quiet                       no progress on stderr
Output: the first stdout line is the JSON report; a readable table follows.`;

const list = (values: readonly string[] | undefined): string[] =>
  (values ?? [])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v.length > 0);

function num(flag: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new OptionsError(`--${flag} must be a number, got ${raw}`);
  return n;
}

const MODES: readonly LoadMode[] = ['load', 'idle', 'join-storm'];

function gcSignal(raw: string | undefined): NodeJS.Signals | null {
  if (raw === undefined) return null;
  if (!/^SIG[A-Z0-9]+$/.test(raw) || !(raw in constants.signals)) throw new OptionsError(`--gc-signal must be a signal name (SIGUSR2), got ${raw}`);
  return raw as NodeJS.Signals;
}

export function parseCli(argv: readonly string[]): LoadOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      mode: { type: 'string' },
      dialect: { type: 'string' },
      values: { type: 'string' },
      url: { type: 'string', multiple: true },
      clients: { type: 'string' },
      rooms: { type: 'string' },
      rate: { type: 'string' },
      variables: { type: 'string' },
      warmup: { type: 'string' },
      duration: { type: 'string' },
      drain: { type: 'string' },
      workers: { type: 'string' },
      concurrency: { type: 'string' },
      'gateway-pid': { type: 'string', multiple: true },
      'redis-pid': { type: 'string', multiple: true },
      'run-id': { type: 'string' },
      'gc-signal': { type: 'string' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const mode = (values.mode ?? DEFAULT_OPTIONS.mode) as LoadMode;
  if (!MODES.includes(mode)) throw new OptionsError(`--mode must be one of ${MODES.join(', ')}`);
  const pids = (flag: string, raw: string[] | undefined): number[] =>
    list(raw).map((p) => {
      const n = Number(p);
      if (!Number.isInteger(n) || n <= 0) throw new OptionsError(`--${flag} must be a pid, got ${p}`);
      return n;
    });
  const d = DEFAULT_OPTIONS;
  return {
    mode,
    dialect: (values.dialect ?? d.dialect) as DialectName,
    values: (values.values ?? d.values) as ValueKind,
    urls: list(values.url),
    clients: num('clients', values.clients, d.clients),
    rooms: num('rooms', values.rooms, d.rooms),
    rate: num('rate', values.rate, d.rate),
    variables: num('variables', values.variables, d.variables),
    warmupSeconds: num('warmup', values.warmup, d.warmupSeconds),
    durationSeconds: num('duration', values.duration, d.durationSeconds),
    drainSeconds: num('drain', values.drain, d.drainSeconds),
    workers: num('workers', values.workers, d.workers),
    connectConcurrency: num('concurrency', values.concurrency, d.connectConcurrency),
    joinTimeoutMs: d.joinTimeoutMs,
    gatewayPids: pids('gateway-pid', values['gateway-pid']),
    redisPids: pids('redis-pid', values['redis-pid']),
    runId: values['run-id'] ?? d.runId,
    verbose: !values.quiet,
    gcSignal: gcSignal(values['gc-signal']),
  };
}
