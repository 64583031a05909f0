/**
 * Picks the room engine from the config: Redis when REDIS_URL is set, else one node in
 * memory. Both report through one status callback, which becomes logs and metrics here.
 */
import { createMemoryEngine, createRedisEngine, redactRedisUrl, type EngineLimits, type EngineStatusListener, type RoomEngine } from '@cloudvars/rooms';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from './config.ts';
import type { GatewayMetrics } from './metrics.ts';

export function engineLimits(config: Config): EngineLimits {
  return {
    maxClientsPerRoom: config.maxClientsPerRoom,
    maxVariables: config.maxVariables,
    maxRoomBytes: config.maxRoomBytes,
    maxRooms: config.maxRooms,
    maxConnectionsPerAddress: config.maxConnectionsPerAddress,
    leaseTtlMs: config.leaseTtlMs,
    roomTtlMs: config.roomTtlMs,
    untouchedRoomTtlMs: config.untouchedRoomTtlMs,
    logLength: config.cloudLogLength,
    maxStoredBytesPerAddress: config.maxStoredBytesPerAddress,
  };
}

/** Engine status events as log lines and metrics, the same for every engine. */
export function engineStatusReporter(log: FastifyBaseLogger, metrics: GatewayMetrics): EngineStatusListener {
  return (event) => {
    switch (event.type) {
      case 'error':
        metrics.engineErrors.inc({ code: event.code });
        log.error({ role: event.role, code: event.code, err: event.error }, 'room engine error');
        break;
      case 'reconnecting':
        metrics.redisReconnects.inc();
        log.warn({ role: event.role, delayMs: event.delayMs }, 'redis reconnecting');
        break;
      case 'ready':
        log.info({ role: event.role }, 'redis ready');
        break;
      case 'resync':
        log.warn('redis subscription restored; rooms resync');
        break;
      case 'malformed-event':
        metrics.engineErrors.inc({ code: 'CV_ERR_MALFORMED_EVENT' });
        log.error({ channel: event.channel }, 'malformed event on a room channel');
        break;
    }
  };
}

export function createEngine(config: Config, log: FastifyBaseLogger, metrics: GatewayMetrics, podId: string): RoomEngine {
  const onStatus = engineStatusReporter(log, metrics);
  if (config.redisUrl === null) {
    log.warn(
      'REDIS_URL is not set: running as ONE node with rooms in memory. Rooms are lost on restart and ' +
        'this process cannot share rooms with other gateways. Set REDIS_URL to scale out.',
    );
    return createMemoryEngine({ limits: engineLimits(config), onStatus });
  }
  log.info({ redis: redactRedisUrl(config.redisUrl), keyPrefix: config.redisKeyPrefix }, 'rooms are kept in Redis');
  return createRedisEngine({
    url: config.redisUrl,
    keyPrefix: config.redisKeyPrefix,
    limits: engineLimits(config),
    podId,
    onStatus,
  });
}
