/**
 * What an idle connection is made of: the difference between two V8 heap snapshots of a
 * gateway (before the joins, and with N connections open), per connection and grouped by
 * node type and constructor name. Snapshots force a full GC, so both sides hold only live
 * objects.
 */
import { readFileSync } from 'node:fs';

/** The parts of the .heapsnapshot JSON format this reads (see V8's heap-snapshot-generator). */
interface HeapSnapshotFile {
  readonly snapshot: { readonly meta: { readonly node_fields: readonly string[]; readonly node_types: readonly unknown[] } };
  readonly nodes: readonly number[];
  readonly strings: readonly string[];
}

export class HeapSnapshotError extends Error {
  readonly code = 'CV_ERR_BENCH_HEAP_SNAPSHOT';
}

/** "type:name" -> [self bytes, count]. Strings and code are grouped, not listed by content. */
export type HeapAggregate = Map<string, readonly [bytes: number, count: number]>;

const GROUPED: Readonly<Record<string, string>> = {
  string: '(strings)',
  'concatenated string': '(strings)',
  'sliced string': '(strings)',
  code: '(compiled code)',
  number: '(heap numbers)',
};

export function aggregateHeap(json: string): HeapAggregate {
  const file = JSON.parse(json) as HeapSnapshotFile;
  const fields = file.snapshot?.meta?.node_fields;
  const typeNames = file.snapshot?.meta?.node_types?.[0];
  if (!Array.isArray(fields) || !Array.isArray(typeNames) || !Array.isArray(file.nodes)) {
    throw new HeapSnapshotError('not a V8 heap snapshot');
  }
  const width = fields.length;
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
  if (typeAt === undefined || nameAt === undefined || sizeAt === undefined || typeAt < 0 || nameAt < 0 || sizeAt < 0) {
    throw new HeapSnapshotError('heap snapshot without type/name/self_size fields');
  }
  const out = new Map<string, [number, number]>();
  const { nodes, strings } = file;
  for (let i = 0; i < nodes.length; i += width) {
    const type = String(typeNames[nodes[i + typeAt] ?? -1] ?? 'unknown');
    const name = GROUPED[type] ?? (strings[nodes[i + nameAt] ?? -1] ?? '').slice(0, 60);
    const key = `${type}:${name}`;
    const entry = out.get(key) ?? [0, 0];
    entry[0] += nodes[i + sizeAt] ?? 0;
    entry[1] += 1;
    out.set(key, entry);
  }
  return out;
}

export function aggregateHeapFile(path: string): HeapAggregate {
  return aggregateHeap(readFileSync(path, 'utf8'));
}

export interface HeapRow {
  readonly kind: string;
  readonly bytesPerConnection: number;
  readonly countPerConnection: number;
}

export interface HeapDiff {
  readonly totalBytesPerConnection: number;
  readonly rows: readonly HeapRow[];
}

/** (after - before) / connections, largest first. */
export function diffPerConnection(before: HeapAggregate, after: HeapAggregate, connections: number, top = 20): HeapDiff {
  const rows: HeapRow[] = [];
  let total = 0;
  for (const key of new Set([...before.keys(), ...after.keys()])) {
    const [b, bc] = before.get(key) ?? [0, 0];
    const [a, ac] = after.get(key) ?? [0, 0];
    total += a - b;
    rows.push({ kind: key, bytesPerConnection: (a - b) / connections, countPerConnection: (ac - bc) / connections });
  }
  rows.sort((x, y) => y.bytesPerConnection - x.bytesPerConnection);
  return { totalBytesPerConnection: total / connections, rows: rows.slice(0, top) };
}
