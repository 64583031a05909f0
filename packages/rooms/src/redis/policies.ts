/**
 * ProjectPolicies (ports.ts) on Redis: one hash of every policy and a version counter under
 * one tag (keys.ts policyKeys), changed together in a MULTI, and a notice on a channel every
 * pod subscribes. The notice is published after the change is stored: a notice lost (the
 * publisher failed, a subscriber was reconnecting) is caught by readers polling `version`.
 * Two parts, built in order: `PolicyNotices` receives the notices (a pod channel of the
 * bus's inbox, so it exists before the transport), then `RedisPolicies` stores and
 * publishes through the transport.
 */
import type { EngineStatusEvent, PolicyTable, ProjectPolicies, PutPolicyResult } from '../ports.ts';
import { RoomEngineError, toError } from '../errors.ts';
import { MAX_POLICIES } from '../policies.ts';
import type { PodChannel } from './bus.ts';
import { policyKeys } from './keys.ts';
import type { RedisClient } from './scripts.ts';
import type { PubSubTransport } from './transport.ts';

/** The notices' channel and the listeners `watch` adds; the transport delivers to it. */
export class PolicyNotices implements PodChannel {
  readonly channel: string;
  private readonly listeners: Array<(room: string) => void> = [];

  constructor(
    prefix: string,
    private readonly report: (event: EngineStatusEvent) => void,
  ) {
    this.channel = policyKeys(prefix).channel;
  }

  watch(listener: (room: string) => void): void {
    this.listeners.push(listener);
  }

  /** A notice: `room`'s policy changed. */
  message(room: string): void {
    for (const listener of this.listeners) {
      try {
        listener(room);
      } catch (error) {
        this.report({ type: 'error', role: 'bus', code: 'CV_ERR_BUS_LISTENER', error: toError(error) });
      }
    }
  }
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

export interface RedisPoliciesOptions {
  readonly client: RedisClient;
  readonly transport: Pick<PubSubTransport, 'publish'>;
  readonly notices: PolicyNotices;
  readonly prefix: string;
  readonly report: (event: EngineStatusEvent) => void;
}

/** Stores policies and publishes a notice of each change through the transport. */
export class RedisPolicies implements ProjectPolicies {
  private readonly keys: ReturnType<typeof policyKeys>;

  constructor(private readonly options: RedisPoliciesOptions) {
    this.keys = policyKeys(options.prefix);
  }

  get(room: string): Promise<string | null> {
    return this.options.client.hget(this.keys.table, room);
  }

  async put(room: string, policy: string): Promise<PutPolicyResult> {
    const { client } = this.options;
    const { table, version } = this.keys;
    // The count is read before the write, not with it: two puts racing for the last place may both get it.
    const [present, count] = replies(await client.multi().hexists(table, room).hlen(table).exec(), 'policy count');
    if (present === 0 && typeof count === 'number' && count >= MAX_POLICIES) return 'too-many-policies';
    replies(await client.multi().hset(table, room, policy).incr(version).exec(), 'policy put');
    this.notify(room);
    return 'stored';
  }

  async delete(room: string): Promise<boolean> {
    const [removed] = replies(await this.options.client.multi().hdel(this.keys.table, room).incr(this.keys.version).exec(), 'policy delete');
    if (removed === 0) return false;
    this.notify(room);
    return true;
  }

  async all(): Promise<PolicyTable> {
    const { table, version } = this.keys;
    // HKEYS and HVALS of one hash in one MULTI list it in the same order; HGETALL's object
    // would lose a room named __proto__ (a valid room id) to its prototype.
    const [rooms, texts, current] = replies(await this.options.client.multi().hkeys(table).hvals(table).get(version).exec(), 'policy table');
    const policies = new Map<string, string>();
    if (Array.isArray(rooms) && Array.isArray(texts)) {
      rooms.forEach((room: unknown, index) => {
        const text: unknown = texts[index];
        if (typeof room === 'string' && typeof text === 'string') policies.set(room, text);
      });
    }
    return { version: versionOf(current), policies };
  }

  async version(): Promise<string> {
    return versionOf(await this.options.client.get(this.keys.version));
  }

  watch(listener: (room: string) => void): void {
    this.options.notices.watch(listener);
  }

  private notify(room: string): void {
    // The change is stored: a lost notice only delays other pods until they poll the version.
    this.options.transport.publish(this.keys.channel, room).catch((error: unknown) => {
      this.options.report({ type: 'error', role: 'bus', code: 'CV_ERR_POLICY_NOTICE', error: toError(error) });
    });
  }
}
