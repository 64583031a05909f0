/**
 * Starts gateways in this process on 127.0.0.1, port 0, with test settings. Several
 * gateways may share one engine backend (Redis) to act as pods of one cluster.
 */
import { Writable } from 'node:stream';
import { createMemoryEngine, type RoomEngine } from '@cloudvars/rooms';
import { buildApp, type Gateway } from '../../src/app.ts';
import { loadConfig, makeInstanceId, type Config } from '../../src/config.ts';
import { engineLimits } from '../../src/engine.ts';
import { until } from '@cloudvars/test-support/until';
import { ONE_ADDRESS_TESTS } from './test-env.ts';

export interface RunningGateway extends Gateway {
  readonly url: string;
  readonly httpUrl: string;
  /** GET this for the Prometheus text (the metrics port). */
  readonly metricsUrl: string;
  readonly config: Config;
  readonly engine: RoomEngine;
  /** Closes the app (and the engine when the gateway created it). Idempotent. */
  stop(): Promise<void>;
}

/** Settings as environment variables (strings), exactly as an operator would give them. */
export type TestEnv = Record<string, string>;

/** A logger (buildApp's `logger`) whose JSON lines the test reads in `lines`. */
export function collectLogs(level = 'info'): { readonly lines: Record<string, unknown>[]; readonly logger: { level: string } } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: { level, stream } as { level: string } };
}

/** `logger`: buildApp's (collectLogs); by default none, or LOG_LEVEL's on stdout when env has one. */
export async function startGateway(
  env: TestEnv = {},
  makeEngine?: (config: Config) => RoomEngine,
  logger?: { level: string; stream?: { write(line: string): void } },
): Promise<RunningGateway> {
  const config = loadConfig({ HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'silent', DRAIN_DELAY_MS: '0', ...ONE_ADDRESS_TESTS, ...env });
  const ownsEngine = makeEngine === undefined;
  const engine = makeEngine ? makeEngine(config) : createMemoryEngine({ limits: engineLimits(config) });
  const gateway = await buildApp({ config, engine, instanceId: makeInstanceId('test'), logger: logger ?? (env.LOG_LEVEL ? { level: env.LOG_LEVEL } : false) });
  const address = await gateway.app.listen({ port: 0, host: '127.0.0.1' });
  const metricsAddress = await gateway.metricsApp.listen({ port: 0, host: '127.0.0.1' });
  let stopped: Promise<void> | null = null;
  return {
    ...gateway,
    url: address.replace(/^http/, 'ws') + '/',
    httpUrl: address,
    metricsUrl: `${metricsAddress}/metrics`,
    config,
    engine,
    stop: () =>
      (stopped ??= (async () => {
        await gateway.app.close();
        if (ownsEngine) await engine.close();
      })()),
  };
}

/** Resolves once the store counts `count` live members in `room` (joins are otherwise silent). */
export async function membersAre(gateway: { engine: RoomEngine }, room: string, count: number): Promise<void> {
  await until(async () => (await gateway.engine.store.memberCount(room)) === count, { what: `${count} members in ${room}` });
}
