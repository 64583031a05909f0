/**
 * The one `freePort` of the repository. It lives in the load generator because the bench's
 * compiled runtime (dist/, run by plain node) needs it to place redis-server and gateways;
 * test-support (redis-server.ts) re-exports it for the tests, and the deploy-check imports it
 * from there.
 */
import { createServer } from 'node:net';

/** A TCP port on 127.0.0.1 that was free a moment ago (the kernel's choice for port 0); callers retry on a lost race. */
export function freePort(): Promise<number> {
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
