/**
 * Every project policy, as this pod enforces it: a copy of the engine's policies kept in
 * memory, so that a room without one costs a Map lookup and no store call. The engine tells
 * the book of every change on any pod (ProjectPolicies.watch) and the book re-reads that
 * room; every POLICY_POLL_MS it compares the engine's version with its own and re-reads
 * every policy when they differ, which catches a notice lost while the bus was down.
 */
import type { ProjectPolicies } from '@cloudvars/rooms';
import type { FastifyBaseLogger } from 'fastify';
import { policyFromText, type ProjectPolicy } from './policy.ts';

/** The safety net's period: a lost notice delays a change by at most this long. */
export const POLICY_POLL_MS = 5_000;

export interface PolicyBookOptions {
  readonly policies: ProjectPolicies;
  readonly log: FastifyBaseLogger;
  /** Called after the book's policy of a room changed (null: it has none any more). */
  readonly changed: (room: string, policy: ProjectPolicy | null) => void;
  readonly pollMs?: number;
}

export class PolicyBook {
  private readonly book = new Map<string, ProjectPolicy>();
  private version: string | null = null;
  private readonly timer: NodeJS.Timeout;
  private polling = false;
  private stopped = false;
  /** Settles once the first full read succeeded (or the book stopped). */
  readonly loaded: Promise<void>;
  private markLoaded: () => void = () => undefined;

  constructor(private readonly options: PolicyBookOptions) {
    this.loaded = new Promise((resolve) => {
      this.markLoaded = resolve;
    });
    options.policies.watch((room) => this.reread(room));
    this.timer = setInterval(() => void this.poll(), options.pollMs ?? POLICY_POLL_MS);
    this.timer.unref();
    void this.poll();
  }

  /** The room's policy in force on this pod, or null (the global settings apply). */
  get(room: string): ProjectPolicy | null {
    // Most pods hold no policy at all: skip even the lookup.
    return this.book.size === 0 ? null : (this.book.get(room) ?? null);
  }

  /** Whether any room has a policy on this pod (most pods hold none). */
  get holdsAny(): boolean {
    return this.book.size > 0;
  }

  /** Whether the first read of every policy has succeeded (until then, a join waits for `loaded`). */
  get isLoaded(): boolean {
    return this.version !== null;
  }

  /** The room's policy, stored by an API call on this pod: in force here before the notice comes back. */
  stored(room: string, policy: ProjectPolicy | null): void {
    this.apply(room, policy);
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.markLoaded();
  }

  private reread(room: string): void {
    this.options.policies.get(room).then(
      (text) => this.apply(room, text === null ? null : this.parse(room, text)),
      (error: unknown) => this.options.log.error({ err: error, room, code: 'CV_ERR_POLICY_READ' }, 'reading a changed policy failed; the next poll retries'),
    );
    // The poll's version check would see this change again and re-read everything for it.
    this.version = null;
  }

  private async poll(): Promise<void> {
    if (this.polling || this.stopped) return;
    this.polling = true;
    try {
      const version = await this.options.policies.version();
      if (version === this.version) return;
      const table = await this.options.policies.all();
      for (const room of [...this.book.keys()]) if (!table.policies.has(room)) this.apply(room, null);
      for (const [room, text] of table.policies) this.apply(room, this.parse(room, text));
      this.version = table.version;
      this.markLoaded();
    } catch (error) {
      if (!this.stopped) this.options.log.error({ err: error, code: 'CV_ERR_POLICY_READ' }, 'reading the project policies failed; retrying');
    } finally {
      this.polling = false;
    }
  }

  /** Stored text that is no policy (written by another version?) is logged and enforced as none. */
  private parse(room: string, text: string): ProjectPolicy | null {
    const parsed = policyFromText(text);
    if (parsed.ok) return parsed.policy;
    this.options.log.error({ room, code: 'CV_ERR_POLICY_STORED', problem: parsed.message }, 'a stored policy is not valid; enforcing none');
    return null;
  }

  private apply(room: string, policy: ProjectPolicy | null): void {
    if (this.stopped) return;
    const before = this.book.get(room) ?? null;
    if (policy === null) this.book.delete(room);
    else this.book.set(room, policy);
    if (JSON.stringify(before) === JSON.stringify(policy)) return;
    this.options.changed(room, policy);
  }
}
