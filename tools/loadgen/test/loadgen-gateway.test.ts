import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@cloudvars/test-support/free-port';
import { GC_SIGNAL, gcOnSignalNodeOptions } from '../src/bench/gc-on-signal.ts';
import { startGateway, stop, type Managed } from '../src/bench/processes.ts';
import { runLoad } from '../src/coordinator.ts';
import { DEFAULT_OPTIONS, type LoadOptions } from '../src/plan.ts';
import { formatTable } from '../src/report.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

describe('load generator against a real gateway (memory mode, child process)', () => {
  let gateway: Managed & { url: string };

  beforeAll(async () => {
    gateway = await startGateway({ repoRoot, podId: `loadgen-test-${process.pid}` });
  });

  afterAll(async () => {
    if (gateway) expect(await stop(gateway)).toBe(0);
  });

  const options = (over: Partial<LoadOptions>): LoadOptions => ({
    ...DEFAULT_OPTIONS,
    urls: [gateway.url],
    clients: 24,
    rooms: 4,
    rate: 5,
    variables: 3,
    warmupSeconds: 0.3,
    durationSeconds: 1.5,
    gatewayPids: [gateway.pid],
    runId: `t${Date.now().toString(36)}`,
    verbose: false,
    ...over,
  });

  it('delivers every set sent in the window to every other member of its room, and reports it', async () => {
    const report = await runLoad(options({}));
    expect(report.join).toMatchObject({ joined: 24, failed: 0 });
    const load = report.load;
    if (!load) throw new Error('load mode must produce a load section');
    expect(load.sent).toBeGreaterThan(0);
    // 6 members per room: each set is expected at the 5 others.
    expect(load.expected).toBe(load.sent * 5);
    // Coalescing supersedes some sets (two members write each variable; how many depends on
    // the machine's load), but none may be lost and every room must end converged.
    expect(load.delivered + load.superseded).toBe(load.expected);
    expect(load.delivered).toBeGreaterThan(0);
    expect(load.lost).toBe(0);
    expect(load.unaccounted).toBe(0);
    expect(load.roomsConverged).toBe(4);
    expect(load.allDelivered).toBe(true);
    expect(load.reordered).toBe(0);
    expect(report.closes).toEqual({});
    expect(load.latencyMs.p50).toBeGreaterThan(0);
    expect(load.latencyMs.p99).toBeGreaterThanOrEqual(load.latencyMs.p50);
    expect(load.latencyMs.max).toBeGreaterThanOrEqual(load.latencyMs.p99);
    expect(report.gatewayProcs).toHaveLength(1);
    expect(report.gatewayProcs[0]?.pid).toBe(gateway.pid);
    expect(load.gatewayCpuUsPerDelivery).toBeGreaterThanOrEqual(0);
    expect(load.redisCpuUsPerSet).toBeNull();
    expect(load.gatewayMessagesOut).toBeGreaterThan(0);
    expect(load.gatewayFramesOut).toBeGreaterThan(0);
    expect(load.gatewayFramesOut).toBeLessThanOrEqual(load.gatewayMessagesOut ?? 0);
    expect(report.idle).toBeNull();
    const json: unknown = JSON.parse(JSON.stringify(report));
    expect(json).toEqual(report);
    expect(formatTable(report)).toContain('delivered / expected');
  });

  it('splits rooms over forked worker processes and merges their reports', async () => {
    const report = await runLoad(options({ workers: 2, urls: [gateway.url, gateway.url], durationSeconds: 1 }));
    expect(report.workers).toBe(2);
    expect(report.join).toMatchObject({ joined: 24, failed: 0 });
    const load = report.load;
    if (!load) throw new Error('load mode must produce a load section');
    expect(load.sent).toBeGreaterThan(0);
    expect(load.expected).toBe(load.sent * 5);
    expect(load.delivered + load.superseded).toBe(load.expected);
    expect(load).toMatchObject({ lost: 0, unaccounted: 0, reordered: 0, roomsConverged: 4, allDelivered: true });
    expect(report.loadgen.cpuSeconds).toBeGreaterThan(0);
  });

  it('measures idle connections and join rate without sending', async () => {
    const report = await runLoad(options({ mode: 'idle', clients: 40, rooms: 4 }));
    expect(report.join).toMatchObject({ joined: 40, failed: 0 });
    expect(report.load).toBeNull();
    expect(report.idle?.rssAfterBytes).toBeGreaterThan(0);
    expect(report.idle?.bytesPerConnection).not.toBeNull();
    expect(report.idle?.heapBytesPerConnection).not.toBeNull();
    expect(report.join.perSecond).toBeGreaterThan(0);
  });

  it('speaks the scratch dialect: no variables declared, the first sets create them, values sent as numbers', async () => {
    const report = await runLoad(options({ dialect: 'scratch', values: 'number', variables: 6 }));
    expect(report).toMatchObject({ dialect: 'scratch', values: 'number' });
    expect(report.join).toMatchObject({ joined: 24, failed: 0 });
    const load = report.load;
    if (!load) throw new Error('load mode must produce a load section');
    expect(load.sent).toBeGreaterThan(0);
    expect(load.expected).toBe(load.sent * 5);
    // One writer per variable: nothing is superseded by another writer's value.
    expect(load.delivered + load.superseded).toBe(load.expected);
    expect(load).toMatchObject({ lost: 0, unaccounted: 0, reordered: 0, unstamped: 0, roomsConverged: 4, allDelivered: true });
    expect(load.framesReceived).toBeGreaterThan(0);
    expect(load.updatesPerFrameReceived).toBeGreaterThanOrEqual(1);
    expect(report.closes).toEqual({});
  });

  it('acknowledges scratch joins to rooms without variables (idle), as in the 2020 dialects', async () => {
    const report = await runLoad(options({ mode: 'idle', dialect: 'scratch', clients: 30, rooms: 3, durationSeconds: 0.5 }));
    expect(report.join).toMatchObject({ joined: 30, failed: 0 });
    expect(report.idle?.bytesPerConnection).not.toBeNull();
  });

  it('counts refused joins with their close code instead of failing the run', async () => {
    // A 101-client room exceeds MAX_CLIENTS_PER_ROOM (100): exactly one join is refused with 4003.
    const report = await runLoad(options({ mode: 'join-storm', clients: 101, rooms: 1 }));
    expect(report.join).toMatchObject({ joined: 100, failed: 1 });
    expect(report.closes).toEqual({ '4003': 1 });
  });
});

describe('idle memory after a full GC (pnpm bench --peer, scenario c)', () => {
  let gateway: (Managed & { url: string }) | undefined;
  let dir: string | undefined;

  afterAll(async () => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('runs the GC on the signal in a gateway started with the preload, which lives on, and reports RSS after it', async () => {
    dir = mkdtempSync(join(tmpdir(), 'loadgen-gc-'));
    gateway = await startGateway({ repoRoot, podId: `loadgen-gc-${process.pid}`, extraEnv: { NODE_OPTIONS: gcOnSignalNodeOptions(dir) } });
    const report = await runLoad({
      ...DEFAULT_OPTIONS,
      mode: 'idle',
      dialect: 'scratch',
      urls: [gateway.url],
      clients: 30,
      rooms: 3,
      durationSeconds: 0.5,
      gatewayPids: [gateway.pid],
      runId: `g${Date.now().toString(36)}`,
      verbose: false,
      gcSignal: GC_SIGNAL,
    });
    expect(report.join).toMatchObject({ joined: 30, failed: 0 });
    expect(report.idle?.rssAfterGcBytes).toBeGreaterThan(0);
    expect(report.idle?.bytesPerConnectionAfterGc).not.toBeNull();
    // Without the preload's handler the signal would have ended the process.
    expect(await stop(gateway)).toBe(0);
  });
});

describe('a gateway whose port is taken between the probe and its listen', () => {
  let holder: Server | undefined;
  let gateway: (Managed & { url: string }) | undefined;
  /** The probes that reached the holder: they hang unanswered, and close() waits for them. */
  const held = new Set<Socket>();

  afterAll(async () => {
    if (gateway !== undefined) await stop(gateway);
    for (const socket of held) socket.destroy();
    await new Promise<void>((resolve) => (holder ? holder.close(() => resolve()) : resolve()));
  });

  /** A port another process holds, as one that binds it after the probe found it free would. */
  async function takenPort(): Promise<number> {
    const port = await freePort();
    holder = createServer((socket) => {
      held.add(socket);
      socket.once('close', () => held.delete(socket));
    });
    await new Promise<void>((resolve) => holder?.listen(port, '127.0.0.1', resolve));
    return port;
  }

  it('starts again on a fresh port instead of failing the run', async () => {
    const taken = await takenPort();
    const offered: number[] = [];
    gateway = await startGateway({ repoRoot, podId: `loadgen-port-${process.pid}` }, async () => {
      const port = offered.length === 0 ? taken : await freePort();
      offered.push(port);
      return port;
    });
    expect(offered).toHaveLength(2);
    expect(gateway.url).toBe(`ws://127.0.0.1:${offered[1]}/`);
    expect((await fetch(`http://127.0.0.1:${offered[1]}/readyz`)).status).toBe(200);
  });

  it('gives up after a few starts, naming the taken port', async () => {
    const port = holder?.address();
    const taken = typeof port === 'object' && port !== null ? port.port : await takenPort();
    let starts = 0;
    const start = startGateway({ repoRoot, podId: `loadgen-port2-${process.pid}` }, () => {
      starts += 1;
      return Promise.resolve(taken);
    });
    await expect(start).rejects.toThrow(/EADDRINUSE/);
    expect(starts).toBe(5);
  });
});
