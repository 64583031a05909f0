/**
 * For the idle scenario against the peer: what idle connections keep alive, apart from the
 * garbage their joins left. V8 collects nothing while nothing allocates (an idle server runs
 * no GC, and its memory reducer did not act within the bench's settle period), so the RSS after
 * the settle counts each join's garbage too. A preload (`--require`, in NODE_OPTIONS: the peer's
 * runner takes no node flags) makes GC_SIGNAL run two full collections through the inspector
 * in the server; the generator then samples RSS again (coordinator.ts, `gcSignal`). The same
 * preload goes to the peer and to our gateways. Nothing else of either server changes.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Free in both servers: our gateway uses it only with --heapsnapshot-signal (pnpm bench --heap, never with --peer). */
export const GC_SIGNAL: NodeJS.Signals = 'SIGUSR2';

// Two plain posts, off the signal handler (a post from a callback of another post hung the process here).
const PRELOAD = `'use strict';
const inspector = require('node:inspector');
const session = new inspector.Session();
session.connect();
process.on(${JSON.stringify(GC_SIGNAL)}, () => {
  setImmediate(() => {
    session.post('HeapProfiler.collectGarbage');
    session.post('HeapProfiler.collectGarbage');
  });
});
`;

/** Writes the preload into `dir` and returns NODE_OPTIONS that load it (after any already set). */
export function gcOnSignalNodeOptions(dir: string): string {
  const file = join(dir, 'gc-on-signal.cjs');
  writeFileSync(file, PRELOAD);
  return `${process.env.NODE_OPTIONS ?? ''} --require=${file}`.trim();
}
