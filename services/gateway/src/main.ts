/**
 * The gateway process: reads the config (a bad value stops it with a message naming the
 * variable), picks the room engine, listens, and drains on SIGTERM/SIGINT.
 */
import pino from 'pino';
import { buildApp } from './app.ts';
import { ConfigError, loadConfig, makeInstanceId, type Config } from './config.ts';
import { createEngine } from './engine.ts';
import { createMetrics } from './metrics.ts';

/** After SHUTDOWN_TIMEOUT_MS, this much longer for the drain's own deadline to end it first. */
const HARD_STOP_MARGIN_MS = 2_000;

function readConfig(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`cloud-variable gateway: invalid configuration: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
}

const config = readConfig();
const log = pino({ level: config.logLevel });
const instanceId = makeInstanceId(config.podId);
const metrics = createMetrics();
const engine = createEngine(config, log, metrics, instanceId);
const gateway = await buildApp({ config, engine, metrics, instanceId, logger: { level: config.logLevel } });
gateway.app.addHook('onClose', async () => {
  await engine.close();
});

try {
  const address = await gateway.app.listen({ port: config.port, host: config.host });
  const metricsAddress = await gateway.metricsApp.listen({ port: config.metricsPort, host: config.host });
  const url = address.replace(/^http/, 'ws');
  gateway.app.log.info({ url, metrics: `${metricsAddress}/metrics`, pod: instanceId, engine: engine.kind }, 'listening');
} catch (error) {
  gateway.app.log.fatal({ err: error }, 'could not listen');
  process.exit(1);
}

// A bug must not take every socket down without a drain: log it with a code and go on.
process.on('unhandledRejection', (reason) => {
  gateway.app.log.error({ err: reason, code: 'CV_ERR_UNHANDLED_REJECTION' }, 'unhandled promise rejection');
});

let stopping = false;
function stop(signal: string): void {
  if (stopping) {
    gateway.app.log.warn({ signal }, 'second signal: exiting now');
    process.exit(1);
  }
  stopping = true;
  gateway.app.log.info({ signal }, 'shutting down');
  const hardStop = setTimeout(() => {
    gateway.app.log.error('drain exceeded SHUTDOWN_TIMEOUT_MS: exiting');
    process.exit(1);
  }, config.shutdownTimeoutMs + HARD_STOP_MARGIN_MS);
  hardStop.unref();
  gateway.drain({ skipDelay: signal === 'SIGINT' }).then(
    () => process.exit(0),
    (error: unknown) => {
      gateway.app.log.error({ err: error }, 'drain failed');
      process.exit(1);
    },
  );
}
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
