/**
 * Heap snapshots of a running gateway on demand: the gateway is started with
 * --heapsnapshot-signal=SIGUSR2 and --diagnostic-dir, SIGUSR2 makes it write one, and the
 * probe waits (bounded) until the new file parses completely.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { aggregateHeapFile, type HeapAggregate, HeapSnapshotError } from './heap-diff.ts';

const SNAPSHOT_TIMEOUT_MS = 180_000;
const POLL_MS = 500;
/** V8 strings stop near 512 MiB; a larger snapshot cannot be read in one piece. */
const MAX_SNAPSHOT_BYTES = 400 * 1024 * 1024;

export function heapFlags(dir: string): string[] {
  return ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${dir}`];
}

export async function takeHeapSnapshot(pid: number, dir: string): Promise<HeapAggregate> {
  const existing = new Set(readdirSync(dir));
  process.kill(pid, 'SIGUSR2');
  const deadline = performance.now() + SNAPSHOT_TIMEOUT_MS;
  while (performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    const name = readdirSync(dir).find((n) => !existing.has(n) && n.endsWith('.heapsnapshot'));
    if (!name) continue;
    const path = join(dir, name);
    if (statSync(path).size > MAX_SNAPSHOT_BYTES) throw new HeapSnapshotError(`${path} is too large to read; use fewer connections (--quick)`);
    try {
      return aggregateHeapFile(path);
    } catch (err) {
      // Still being written: a truncated file is not JSON yet. Anything else is a real failure.
      if (!(err instanceof SyntaxError)) throw err;
    }
  }
  throw new HeapSnapshotError(`no complete heap snapshot from pid ${pid} within ${SNAPSHOT_TIMEOUT_MS} ms`);
}
