import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import type { Readiness } from '../readiness.ts';

/** GET /healthz: the process answers (liveness). GET /readyz: it should get traffic. */
const health: FastifyPluginAsync<{ readiness: Readiness }> = async (app, { readiness }) => {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const reason = readiness.reason();
    if (reason !== null) return reply.code(503).send({ status: 'not-ready', reason });
    return { status: 'ready' };
  });
};

export const healthRoutes = fp(health, { name: 'cloudvars-health' });
