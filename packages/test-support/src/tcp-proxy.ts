/**
 * A loopback TCP proxy in front of a real Redis that can freeze chosen connections: their
 * sockets stay open but nothing more passes either way, like a half-open connection whose
 * peer vanished. Used to prove the engine repairs a subscriber that silently stopped.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

interface Link {
  readonly client: Socket;
  readonly upstream: Socket;
  /** Everything the client sent so far (to recognise it, e.g. by CLIENT SETNAME). */
  sent: string;
  frozen: boolean;
}

export interface TcpProxy {
  readonly url: string;
  /** Freezes every open connection whose client sent `marker`; returns how many. */
  freeze(marker: string): number;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const links = new Set<Link>();
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    const link: Link = { client, upstream, sent: '', frozen: false };
    links.add(link);
    client.on('data', (chunk: Buffer) => {
      if (link.sent.length < 4096) link.sent += chunk.toString('latin1');
      if (!link.frozen) upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!link.frozen) client.write(chunk);
    });
    const end = (): void => {
      links.delete(link);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `redis://127.0.0.1:${port}`,
    freeze(marker) {
      let count = 0;
      for (const link of links) {
        if (!link.sent.includes(marker)) continue;
        link.frozen = true;
        count += 1;
      }
      return count;
    },
    async close() {
      for (const link of links) {
        link.client.destroy();
        link.upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
