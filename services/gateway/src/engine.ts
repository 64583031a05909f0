/**
 * Picks the room engine from the config: Redis when REDIS_URL is set, else one node in
 * memory. Engine status events become logs and metrics here.
 */
import { createMemoryEngine, createRedisEngine, redactRedisUrl, type EngineLimits, type RoomEngine } from '@cloudvars/rooms';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from './config.ts';
import type { GatewayMetrics } from './metrics.ts';

export function engineLimits(config: Config): EngineLimits {
  return {
    maxClientsPerRoom: config.maxClientsPerRoom,
    maxRooms: config.maxRooms,
    maxConnectionsPerAddress: config.maxConnectionsPerAddress,
    leaseTtlMs: config.leaseTtlMs,
    roomTtlMs: config.roomTtlMs,
  };
}

/** Metrics exist before the app; they are attached once it is built. */
export interface EngineObserver {
  metrics: GatewayMetrics | null;
}

export function createEngine(config: Config, log: FastifyBaseLogger, observer: EngineObserver, podId: string): RoomEngine {
  if (config.redisUrl === null) {
    log.warn(
      'REDIS_URL is not set: running as ONE node with rooms in memory. Rooms are lost on restart and ' +
        'this process cannot share rooms with other gateways. Set REDIS_URL to scale out.',
    );
    return createMemoryEngine({
      limits: engineLimits(config),
      onError: (report) => log.error({ err: report.error, code: report.code }, 'room event listener failed'),
    });
  }
  log.info({ redis: redactRedisUrl(config.redisUrl), keyPrefix: config.redisKeyPrefix }, 'rooms are kept in Redis');
  return createRedisEngine({
    url: config.redisUrl,
    keyPrefix: config.redisKeyPrefix,
    limits: engineLimits(config),
    podId,
    onStatus: (event) => {
      const metrics = observer.metrics;
      switch (event.type) {
        case 'error':
          metrics?.redisErrors.inc();
          log.error({ role: event.role, code: event.code, err: event.error.message }, 'redis error');
          break;
        case 'reconnecting':
          metrics?.redisReconnects.inc();
          log.warn({ role: event.role, delayMs: event.delayMs }, 'redis reconnecting');
          break;
        case 'ready':
          log.info({ role: event.role }, 'redis ready');
          break;
        case 'resync':
          log.warn('redis subscription restored; rooms resync');
          break;
        case 'malformed-event':
          log.error({ channel: event.channel }, 'malformed event on a room channel');
          break;
      }
    },
  });
}
