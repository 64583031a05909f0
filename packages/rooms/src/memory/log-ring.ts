import type { LogEntry } from '../ports.ts';

/** A room's log in memory: the newest `capacity` entries in a ring, nothing allocated per entry beyond the entry. */
export class LogRing {
  private readonly entries: (LogEntry | undefined)[] = [];
  /** Where the next entry goes once the ring is full. */
  private next = 0;

  constructor(private readonly capacity: number) {}

  push(entry: LogEntry): void {
    if (this.capacity === 0) return;
    if (this.entries.length < this.capacity) {
      this.entries.push(entry);
      return;
    }
    this.entries[this.next] = entry;
    this.next = this.next + 1 === this.capacity ? 0 : this.next + 1;
  }

  /** At most `limit` entries, newest first. */
  newest(limit: number): LogEntry[] {
    const out: LogEntry[] = [];
    const size = this.entries.length;
    // The newest entry sits just before `next` once the ring is full, else at the end.
    let index = size < this.capacity ? size - 1 : (this.next - 1 + size) % size;
    for (let taken = 0; taken < Math.min(limit, size); taken++) {
      out.push(this.entries[index] as LogEntry);
      index = (index - 1 + size) % size;
    }
    return out;
  }
}
