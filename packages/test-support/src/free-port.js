/**
 * The repository's one `freePort`. Plain JavaScript (its types: free-port.d.ts) because three
 * kinds of caller load it without a TypeScript loader: the bench's compiled runtime
 * (tools/loadgen/dist, run by plain node), vitest's globalSetup (which resolves workspace
 * packages without the `source` condition), and the tests and tools run from sources.
 */
import { createServer } from 'node:net';

/** @returns {Promise<number>} a TCP port on 127.0.0.1 that was free a moment ago (the kernel's choice for port 0); callers retry on a lost race. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
