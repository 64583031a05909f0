import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { peerPresent } from '@cloudvars/test-support/peer';
import { startPeerServer, type PeerServer } from '../src/bench/peer-server.ts';
import { runLoad } from '../src/coordinator.ts';
import { DEFAULT_OPTIONS, type LoadOptions } from '../src/plan.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

describe.skipIf(!peerPresent())("load generator against TurboWarp's server (the peer, scratch dialect)", () => {
  let peer: PeerServer;

  beforeAll(async () => {
    peer = await startPeerServer({ repoRoot });
  });

  afterAll(async () => {
    await peer?.stop();
  });

  const options = (over: Partial<LoadOptions>): LoadOptions => ({
    ...DEFAULT_OPTIONS,
    dialect: 'scratch',
    values: 'number',
    urls: [peer.url],
    clients: 24,
    rooms: 4,
    rate: 5,
    variables: 6,
    warmupSeconds: 0.3,
    durationSeconds: 1.5,
    gatewayPids: [peer.pid],
    runId: `t${Date.now().toString(36)}`,
    verbose: false,
    ...over,
  });

  it('delivers every set to every other member (the peer relays numbers as numbers) and measures its process', async () => {
    const report = await runLoad(options({}));
    expect(report.join).toMatchObject({ joined: 24, failed: 0 });
    const load = report.load;
    if (!load) throw new Error('load mode must produce a load section');
    expect(load.sent).toBeGreaterThan(0);
    expect(load.expected).toBe(load.sent * 5);
    // The peer never coalesces: with one writer per variable everything arrives.
    expect(load.delivered).toBe(load.expected);
    expect(load).toMatchObject({ superseded: 0, lost: 0, unaccounted: 0, reordered: 0, unstamped: 0, roomsConverged: 4, allDelivered: true });
    expect(load.framesReceived).toBeGreaterThan(0);
    expect(load.gatewayCpuSeconds).toBeGreaterThan(0);
    // The peer has no /metrics: batching is known from what clients received.
    expect(load.gatewayMessagesOut).toBeNull();
    expect(report.closes).toEqual({});
  });

  it('acknowledges joins to rooms without variables and measures idle memory', async () => {
    const report = await runLoad(options({ mode: 'idle', clients: 30, rooms: 3, durationSeconds: 0.5 }));
    expect(report.join).toMatchObject({ joined: 30, failed: 0 });
    expect(report.idle?.bytesPerConnection).not.toBeNull();
    expect(report.idle?.heapBytesPerConnection).toBeNull();
  });

  it('joins a room that already has variables (the snapshot comes before the acknowledgement)', async () => {
    const runId = `t${Date.now().toString(36)}s`;
    await runLoad(options({ runId, clients: 4, rooms: 1, variables: 4, durationSeconds: 0.3 }));
    const report = await runLoad(options({ runId, clients: 4, rooms: 1, variables: 4, durationSeconds: 0.5 }));
    expect(report.join).toMatchObject({ joined: 4, failed: 0 });
    expect(report.load).toMatchObject({ lost: 0, roomsConverged: 1, allDelivered: true });
  });
});
