/**
 * The machine's floor: server CPU for one bare `ws` send of a small frame to a loopback
 * client, with nothing else in the process. No gateway can deliver an update for less than
 * this per frame it writes, so it tells how far a result is from what this machine allows
 * (on a VM where loopback syscalls are expensive, most of a gateway's cost is here).
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';

export interface WsFloor {
  readonly clients: number;
  readonly frames: number;
  readonly usPerFrame: number;
  readonly systemUsPerFrame: number;
}

const ROUNDS = 40;
const ROUND_GAP_MS = 50;
const CONNECT_TIMEOUT_MS = 20_000;

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function measureWsFloor(clients = 1000): Promise<WsFloor> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const address = wss.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  // From the sources the client runs under tsx; from the build (`pnpm bench`) it is plain JS.
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = fileURLToPath(new URL(fromSource ? './ws-floor-client.ts' : './ws-floor-client.js', import.meta.url));
  const execArgv = fromSource ? ['--conditions=source', '--import', import.meta.resolve('tsx')] : [];
  const child = fork(entry, [String(clients), `ws://127.0.0.1:${port}/`], { execArgv });
  try {
    const deadline = performance.now() + CONNECT_TIMEOUT_MS;
    while (wss.clients.size < clients) {
      if (performance.now() > deadline) throw new Error(`CV_ERR_BENCH_FLOOR: only ${wss.clients.size} of ${clients} clients connected`);
      await pause(20);
    }
    // A set message as the gateway writes it, one per frame.
    const frame = JSON.stringify({ kind: 'set', variable: '☁ v1', value: '1234567890123000001000001' });
    const start = process.cpuUsage();
    let frames = 0;
    for (let round = 0; round < ROUNDS; round++) {
      for (const ws of wss.clients) {
        ws.send(frame);
        frames += 1;
      }
      await pause(ROUND_GAP_MS);
    }
    const cpu = process.cpuUsage(start);
    return { clients, frames, usPerFrame: (cpu.user + cpu.system) / frames, systemUsPerFrame: cpu.system / frames };
  } finally {
    child.disconnect();
    for (const ws of wss.clients) ws.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  }
}
