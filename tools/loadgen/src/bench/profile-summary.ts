/**
 * Where a gateway spent its CPU: self time per function and per module from a V8
 * .cpuprofile (node --cpu-prof), so the results file can say what the profile shows.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly hitCount?: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  /** Monotonic microseconds (the clock of process.hrtime in any process on the host). */
  readonly startTime: number;
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
}

/** Samples per node id, only those taken inside [from, to] when a window is given. */
function hitsPerNode(profile: CpuProfile, window?: readonly [number, number]): Map<number, number> {
  const hits = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  if (!window || samples.length === 0) {
    for (const node of profile.nodes) hits.set(node.id, node.hitCount ?? 0);
    return hits;
  }
  let t = profile.startTime;
  for (let i = 0; i < samples.length; i++) {
    t += deltas[i] ?? 0;
    const id = samples[i];
    if (id === undefined || t < window[0] || t > window[1]) continue;
    hits.set(id, (hits.get(id) ?? 0) + 1);
  }
  return hits;
}

export interface ProfileRow {
  readonly name: string;
  readonly share: number;
}

export interface ProfileSummary {
  readonly samples: number;
  readonly functions: readonly ProfileRow[];
  readonly modules: readonly ProfileRow[];
}

/** A short module label: the npm package, a workspace path, node internals, or V8's pseudo-frames. */
export function moduleOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node internals';
  const nm = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm?.[1]) return nm[1];
  const ws = /\/((?:packages|services|tools)\/[^/]+\/src\/.+)$/.exec(url);
  return ws?.[1] ?? url;
}

function top(map: Map<string, number>, total: number, n: number): ProfileRow[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, hits]) => ({ name, share: total === 0 ? 0 : hits / total }));
}

/** Self time per function and module; with `window` (monotonic us), only samples inside it. */
export function summarizeProfile(path: string, window?: readonly [number, number], n = 12): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const nodeHits = hitsPerNode(profile, window);
  const byFunction = new Map<string, number>();
  const byModule = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const hits = nodeHits.get(node.id) ?? 0;
    const { functionName, url, lineNumber } = node.callFrame;
    // Idle time is the process waiting for work, not a cost.
    if (hits === 0 || functionName === '(idle)') continue;
    total += hits;
    const mod = moduleOf(url, functionName);
    const fn = `${functionName || '(anonymous)'} ${mod}${url ? `:${lineNumber + 1}` : ''}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + hits);
    byModule.set(mod, (byModule.get(mod) ?? 0) + hits);
  }
  return { samples: total, functions: top(byFunction, total, n), modules: top(byModule, total, n) };
}
