import type { PolicyTable, ProjectPolicies, PutPolicyResult } from '../ports.ts';
import { engineClosed } from '../errors.ts';
import { MAX_POLICIES } from '../policies.ts';

/** Project policies of the single-node engine: one process is the whole cluster, so a notice is never lost. */
export class MemoryPolicies implements ProjectPolicies {
  private readonly table = new Map<string, string>();
  private readonly listeners: Array<(room: string) => void> = [];
  private changes = 0;
  private closed = false;

  async get(room: string): Promise<string | null> {
    this.assertOpen();
    return this.table.get(room) ?? null;
  }

  async put(room: string, policy: string): Promise<PutPolicyResult> {
    this.assertOpen();
    if (!this.table.has(room) && this.table.size >= MAX_POLICIES) return 'too-many-policies';
    this.table.set(room, policy);
    this.changed(room);
    return 'stored';
  }

  async delete(room: string): Promise<boolean> {
    this.assertOpen();
    if (!this.table.delete(room)) return false;
    this.changed(room);
    return true;
  }

  async all(): Promise<PolicyTable> {
    this.assertOpen();
    return { version: String(this.changes), policies: new Map(this.table) };
  }

  async version(): Promise<string> {
    this.assertOpen();
    return String(this.changes);
  }

  watch(listener: (room: string) => void): void {
    this.listeners.push(listener);
  }

  close(): void {
    this.closed = true;
  }

  /** Listeners hear of it after the caller's promise settles, as they would from another pod. */
  private changed(room: string): void {
    this.changes += 1;
    setImmediate(() => {
      if (this.closed) return;
      for (const listener of this.listeners) listener(room);
    });
  }

  private assertOpen(): void {
    if (this.closed) throw engineClosed();
  }
}
