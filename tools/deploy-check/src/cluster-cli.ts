/**
 * `pnpm cluster`: runs the process-level cluster in the foreground until Ctrl-C.
 * CLUSTER_PORT (default 9080, like compose) is the load-balancer port; GATEWAYS (default 3);
 * REDIS_URL set = use that Redis instead of starting redis-server.
 */
import { startCluster } from './cluster.ts';

const port = Number(process.env.CLUSTER_PORT ?? '9080');
const gateways = Number(process.env.GATEWAYS ?? '3');
const cluster = await startCluster({
  port,
  gateways,
  echo: true,
  ...(process.env.REDIS_URL ? { redisUrl: process.env.REDIS_URL } : {}),
  env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' },
});
process.stdout.write(
  [
    '',
    `cloudvars cluster up: ${cluster.url}  (nginx pid ${cluster.nginx.pid})`,
    ...cluster.gateways.map((g) => `  ${g.podId}: ${g.httpUrl}  pid ${g.pid}`),
    `  redis: ${cluster.redisUrl}${cluster.redis ? `  pid ${cluster.redis.pid}` : ' (external)'}`,
    'Ctrl-C stops everything (gateways drain first).',
    '',
  ].join('\n'),
);

let stopping = false;
const shutdown = (signal: string): void => {
  if (stopping) return;
  stopping = true;
  process.stdout.write(`\n${signal}: stopping the cluster\n`);
  cluster.stop().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`CV_ERR_CLUSTER_STOP: ${String(err)}\n`);
      process.exit(1);
    },
  );
};
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));
