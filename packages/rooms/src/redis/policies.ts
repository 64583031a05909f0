/**
 * ProjectPolicies (ports.ts) on Redis: one hash of every policy and a version counter under
 * one tag (keys.ts policyKeys), changed together in a MULTI, and a notice on a channel every
 * pod subscribes. The notice is published after the change is stored: a notice lost (the
 * publisher failed, a subscriber was reconnecting) is caught by readers polling `version`.
 */
import type { EngineStatusEvent, PolicyTable, ProjectPolicies, PutPolicyResult } from '../ports.ts';
import { RoomEngineError, toError } from '../errors.ts';
import { MAX_POLICIES } from '../policies.ts';
import { policyKeys } from './keys.ts';
import type { RedisClient } from './scripts.ts';
import type { PubSubTransport } from './transport.ts';

export interface RedisPolicies extends ProjectPolicies {
  /** The channel of change notices, for the transport to subscribe again after a reconnect. */
  readonly channel: string;
  /** Subscribes the channel; resolves once notices can arrive. */
  start(): Promise<void>;
}

type ExecReply = Array<[Error | null, unknown]> | null;

/** A MULTI's replies, or a CV_ERR_REDIS_REPLY naming what failed. */
function replies(reply: ExecReply, what: string): unknown[] {
  if (reply === null) throw new RoomEngineError('CV_ERR_REDIS_REPLY', `${what}: the transaction was aborted`);
  return reply.map(([error, value]) => {
    if (error !== null) throw new RoomEngineError('CV_ERR_REDIS_REPLY', `${what}: ${error.message}`, { cause: error });
    return value;
  });
}

function versionOf(value: unknown): string {
  return typeof value === 'string' ? value : '0';
}

export function createRedisPolicies(options: {
  readonly client: RedisClient;
  readonly transport: PubSubTransport;
  readonly prefix: string;
  readonly report: (event: EngineStatusEvent) => void;
}): RedisPolicies {
  const { client, transport, report } = options;
  const keys = policyKeys(options.prefix);
  const listeners: Array<(room: string) => void> = [];

  function notify(room: string): void {
    // The change is stored: a lost notice only delays other pods until they poll the version.
    transport.publish(keys.channel, room).catch((error: unknown) => {
      report({ type: 'error', role: 'bus', code: 'CV_ERR_POLICY_NOTICE', error: toError(error) });
    });
  }

  return {
    channel: keys.channel,
    async start() {
      transport.onMessage((channel, room) => {
        if (channel !== keys.channel) return;
        for (const listener of listeners) {
          try {
            listener(room);
          } catch (error) {
            report({ type: 'error', role: 'bus', code: 'CV_ERR_BUS_LISTENER', error: toError(error) });
          }
        }
      });
      await transport.subscribe([keys.channel]);
    },
    async get(room) {
      return client.hget(keys.table, room);
    },
    async put(room, policy): Promise<PutPolicyResult> {
      // The count is read before the write, not with it: two puts racing for the last place may both get it.
      const [present, count] = replies(await client.multi().hexists(keys.table, room).hlen(keys.table).exec(), 'policy count');
      if (present === 0 && typeof count === 'number' && count >= MAX_POLICIES) return 'too-many-policies';
      replies(await client.multi().hset(keys.table, room, policy).incr(keys.version).exec(), 'policy put');
      notify(room);
      return 'stored';
    },
    async delete(room) {
      const [removed] = replies(await client.multi().hdel(keys.table, room).incr(keys.version).exec(), 'policy delete');
      if (removed === 0) return false;
      notify(room);
      return true;
    },
    async all(): Promise<PolicyTable> {
      // HKEYS and HVALS of one hash in one MULTI list it in the same order; HGETALL's object
      // would lose a room named __proto__ (a valid room id) to its prototype.
      const [rooms, texts, version] = replies(await client.multi().hkeys(keys.table).hvals(keys.table).get(keys.version).exec(), 'policy table');
      const policies = new Map<string, string>();
      if (Array.isArray(rooms) && Array.isArray(texts)) {
        rooms.forEach((room: unknown, index) => {
          const text: unknown = texts[index];
          if (typeof room === 'string' && typeof text === 'string') policies.set(room, text);
        });
      }
      return { version: versionOf(version), policies };
    },
    async version() {
      return versionOf(await client.get(keys.version));
    },
    watch(listener) {
      listeners.push(listener);
    },
  };
}
