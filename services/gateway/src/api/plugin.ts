/**
 * The operators' HTTP API under /api/v1 (README "HTTP API"), its OpenAPI document at
 * /api/v1/openapi.json, and the live room page at /rooms/{room}.
 *
 * Every call, in this order: counted against its rate limit across the cluster (the
 * engine's window counters; 429 with Retry-After beyond: an operator's own, any other call
 * its address's), then its access checked
 * (access.ts: 401 without a token, 403 with a wrong one, 404 when there is no admin API),
 * then Fastify validates it against the route's schema (400), then the handler asks the
 * engine. Every admin call, allowed or not, leaves one audit line (who, what, result) and
 * is counted in cloudvars_admin_calls_total.
 */
import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { addressForLimits, addressForLogs } from '../address.ts';
import type { LiveViewers } from '../live/viewers.ts';
import type { GatewayMetrics } from '../metrics.ts';
import { AccessPolicy, presentedToken, type Access } from './access.ts';
import { apiMetrics } from './api-metrics.ts';
import type { ApiContext } from './context.ts';
import { ApiError, sendApiError } from './errors.ts';
import { moderationRoutes } from './moderation-routes.ts';
import { OpenApiDocument } from './openapi.ts';
import { policyRoutes } from './policy-routes.ts';
import { roomRoutes } from './rooms-routes.ts';

const ROOM_PAGE = readFileSync(new URL('../../public/room.html', import.meta.url), 'utf8');

/** An audit line shows at most this much of a path (a room id may be 9,000 characters). */
const AUDIT_PATH_MAX_LENGTH = 300;

/** The rate limit's window: API_RATE_LIMIT_PER_MINUTE calls per address per window. */
const RATE_WINDOW_MS = 60_000;

export interface ApiOptions extends ApiContext {
  readonly metrics: GatewayMetrics;
  readonly viewers: LiveViewers;
}

function accessOf(request: FastifyRequest): Access {
  return request.routeOptions.config.access ?? 'public';
}

/** An admin call's result, as the metric labels it. */
function resultOf(status: number): string {
  if (status < 400) return 'ok';
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 429) return 'rate-limited';
  if (status >= 500) return 'error';
  return 'refused';
}

const api: FastifyPluginAsync<ApiOptions> = async (app, options) => {
  const { config, engine } = options;
  const policy = new AccessPolicy(config.adminTokens, config.apiReadsNeedToken);
  const metrics = apiMetrics(options.metrics.registry);
  const openapi = new OpenApiDocument({
    title: "Cloud variables: operators' API",
    version: '1',
    description:
      'Read rooms and their cloud log; set values, delete rooms, kick, ban and block usernames (admin tokens). Every pod answers every call from the room engine.',
  });

  app.get('/rooms/:room', async (_request, reply) => reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(ROOM_PAGE));

  /**
   * Whose budget a call counts against. An operator's (a valid admin token) is its own, so
   * players behind its address cannot starve it; every other call, a wrong token's included,
   * counts against its address before the token is judged, so tokens cannot be guessed faster.
   * An IPv6 address counts by its prefix (IPV6_PREFIX_LENGTH), as for every per-address limit.
   */
  const rateLimitOf = (operator: string | null, ip: string): { key: string; max: number; from: string } =>
    operator === null
      ? { key: `api:${addressForLimits(ip, config.ipv6PrefixLength)}`, max: config.apiRateLimitPerMinute, from: 'from this address' }
      : { key: `api-operator:${operator}`, max: config.apiOperatorRateLimitPerMinute, from: 'by this operator' };

  await app.register(
    async (scope: FastifyInstance) => {
      scope.decorateRequest('operator', null);
      scope.decorateRequest('audit', null);
      scope.setErrorHandler((error, request, reply) => sendApiError(reply, error instanceof Error ? error : new Error(String(error)), request));
      scope.setNotFoundHandler((request, reply) =>
        reply.code(404).send({ error: 'not-found', message: `no API route ${request.method} ${request.url.split('?')[0] ?? ''}` }),
      );
      scope.addHook('onRoute', (route) => openapi.collect(route, route.config?.access ?? 'public'));

      scope.addHook('onRequest', async (request: FastifyRequest) => {
        const caller = policy.identify(presentedToken(request.headers.authorization, request.headers['sec-websocket-protocol']));
        const limit = rateLimitOf(caller.operator, request.ip);
        let hit;
        try {
          hit = await engine.counters.hit(limit.key, RATE_WINDOW_MS, limit.max);
        } catch (cause) {
          request.log.error({ err: cause }, 'api: the rate limit could not be counted');
          throw new ApiError(503, 'store-unavailable', 'the room store did not answer; try again', { 'retry-after': '1' });
        }
        if (!hit.allowed) {
          const seconds = String(Math.max(1, Math.ceil(hit.resetInMs / 1000)));
          throw new ApiError(429, 'rate-limited', `more than ${limit.max} API calls a minute ${limit.from}`, { 'retry-after': seconds });
        }
        const outcome = policy.check(accessOf(request), caller);
        if (!outcome.ok) {
          const messages = {
            401: 'this call needs Authorization: Bearer <token>',
            403: 'that token is not one of ADMIN_TOKENS',
            404: 'this server has no admin API (ADMIN_TOKENS is not set)',
          };
          const headers: Record<string, string> = outcome.status === 401 ? { 'www-authenticate': 'Bearer realm="cloudvars"' } : {};
          throw new ApiError(outcome.status, outcome.error, messages[outcome.status], headers);
        }
        request.operator = outcome.operator;
      });

      scope.addHook('onResponse', async (request, reply) => {
        const route = request.routeOptions.url ?? 'unknown';
        metrics.requests.inc({ route, status: String(reply.statusCode) });
        if (accessOf(request) !== 'admin') return;
        const action = request.routeOptions.config.action ?? 'unknown';
        const result = resultOf(reply.statusCode);
        metrics.adminCalls.inc({ action, result });
        const address = addressForLogs(request.ip, config.anonymizeAddresses);
        const level = result === 'error' ? 'error' : 'info';
        // The path names the room even when the call was refused before its handler read it.
        const path = (request.url.split('?')[0] ?? '').slice(0, AUDIT_PATH_MAX_LENGTH);
        request.log[level](
          { admin: request.operator, action, method: request.method, path, ...request.audit, status: reply.statusCode, result, address },
          'admin call',
        );
      });

      roomRoutes(scope, options);
      moderationRoutes(scope, options);
      policyRoutes(scope, options);
      scope.get('/openapi.json', { config: { access: 'public' }, schema: { summary: 'This document' } }, async () => openapi.document());
    },
    { prefix: '/api/v1' },
  );
};

export const cloudvarsApi = fp(api, { name: 'cloudvars-api', dependencies: ['cloudvars-socket'] });
