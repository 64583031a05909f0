import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { aggregateHeap, aggregateHeapFile, diffPerConnection, HeapSnapshotError } from '../src/bench/heap-diff.ts';

const dir = mkdtempSync(join(tmpdir(), 'heap-diff-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A real snapshot of a tiny node process holding `n` Probe objects. */
function snapshotWith(n: number): string {
  const file = join(dir, `probes-${n}.heapsnapshot`);
  const script = `class Probe { constructor(i) { this.i = i; this.tag = 'p' + i; } }
globalThis.keep = Array.from({ length: ${n} }, (_, i) => new Probe(i));
require('v8').writeHeapSnapshot(${JSON.stringify(file)});`;
  execFileSync(process.execPath, ['-e', script]);
  return file;
}

describe('heap snapshot diff', () => {
  it('finds the objects that grew with the connections, per connection', () => {
    const before = aggregateHeapFile(snapshotWith(0));
    const after = aggregateHeapFile(snapshotWith(500));
    const diff = diffPerConnection(before, after, 500, 50);
    const probe = diff.rows.find((r) => r.kind === 'object:Probe');
    expect(probe?.countPerConnection).toBe(1);
    expect(probe?.bytesPerConnection).toBeGreaterThan(0);
    // Each probe also holds a fresh string ('p' + i).
    expect(diff.rows.find((r) => r.kind === 'string:(strings)')?.countPerConnection).toBeGreaterThanOrEqual(1);
    expect(diff.totalBytesPerConnection).toBeGreaterThan(probe?.bytesPerConnection ?? 0);
  });

  it('rejects JSON that is not a heap snapshot with a coded error', () => {
    expect(() => aggregateHeap('{"nodes": []}')).toThrow(HeapSnapshotError);
  });
});
