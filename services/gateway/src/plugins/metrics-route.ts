import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import type { GatewayMetrics } from '../metrics.ts';

/** GET /metrics in the Prometheus text format. */
const metricsPlugin: FastifyPluginAsync<{ metrics: GatewayMetrics }> = async (app, { metrics }) => {
  app.get('/metrics', async (_request, reply) => {
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
};

export const metricsRoute = fp(metricsPlugin, { name: 'cloudvars-metrics' });
