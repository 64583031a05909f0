/**
 * Today's real client: a Scratch 3 project with two cloud variables, packaged by the
 * TurboWarp Packager's Node API (cloud mode `ws`), played by two headless Chromium pages,
 * plus a raw socket speaking the Scratch 3 protocol, all on one server target. Values cross
 * in every direction: page 1 -> page 2 and the raw socket, the raw socket -> both pages,
 * page 2 -> page 1 and the raw socket. The pages change their cloud variables by running
 * the project's own scripts (the VM's cloud path sends), never by writing the socket.
 *
 * Targets: the peer (TurboWarp's cloud-server) today. Our gateway joins the list once it
 * speaks the Scratch 3 dialect (issue 8); a cluster target hands client i to pod i mod n,
 * so player 1, player 2 and the raw socket land on different pods:
 *
 *   import { startCluster } from './support/cluster.ts';
 *   import { redisUrl } from '@cloudvars/test-support/redis-url';
 *   import { podsInTurn } from '@cloudvars/test-support/scratch/target';
 *   { name: 'two gateways sharing Redis', async start() {
 *       const cluster = await startCluster(redisUrl(), {}, 2);
 *       return podsInTurn(cluster.pods.map((pod) => pod.url), () => cluster.stop()); } },
 */
import { launchChromium, serveHtml, ScratchPlayer, type Chromium, type HtmlServer } from '@cloudvars/test-support/browser';
import { packageScratchProject } from '@cloudvars/test-support/packager';
import { ScratchSocket } from '@cloudvars/test-support/scratch-exchanges';
import { buildScratchProject } from '@cloudvars/test-support/scratch-project';
import { peerPresent } from '@cloudvars/test-support/peer';
import { PEER_TARGET, type ScratchServer, type ScratchTarget } from '@cloudvars/test-support/scratch/target';
import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayTargets } from './support/scratch-targets.ts';

const TARGETS: readonly ScratchTarget[] = [...(peerPresent() ? [PEER_TARGET] : []), ...gatewayTargets()];

const WAIT_MS = 15_000;

describe.each(TARGETS)('a TurboWarp-packaged project in Chromium against $name', (target) => {
  const project = buildScratchProject(['☁ a', '☁ b']);
  // A Scratch project id, as the packager's website would fill in.
  const projectId = String(randomInt(100_000_000, 1_000_000_000));
  let server: ScratchServer;
  let chromium: Chromium;
  const pages: HtmlServer[] = [];
  const players: ScratchPlayer[] = [];
  let raw: ScratchSocket | undefined;

  /** Player `client` (0 or 1): the project packaged with `server.url(client)` as its cloud host. */
  async function openPlayer(client: number): Promise<ScratchPlayer> {
    const { html } = await packageScratchProject(project, { cloudHost: server.url(client), projectId });
    const page = await serveHtml(html);
    pages.push(page);
    const player = await ScratchPlayer.open(chromium, page.url);
    players.push(player);
    return player;
  }

  beforeAll(async () => {
    [server, chromium] = await Promise.all([target.start(), launchChromium()]);
  });

  afterAll(async () => {
    await raw?.close();
    for (const player of players) await player.close();
    await chromium?.close();
    for (const page of pages) await page.close();
    await server?.stop();
  });

  it('two players and a raw socket see each other’s values in every direction', { timeout: 90_000 }, async () => {
    const [one, two] = await Promise.all([openPlayer(0), openPlayer(1)]);
    const [hello1, hello2] = await Promise.all([one.cloudReady(), two.cloudReady()]);
    // What today's packaged page sends: the packager's project id as a string, and its
    // default username "player####" with the #s replaced by random digits at load.
    for (const hello of [hello1, hello2]) {
      expect(hello.method).toBe('handshake');
      expect(hello.project_id).toBe(projectId);
      expect(hello.user).toMatch(/^player\d{4}$/);
    }

    raw = await ScratchSocket.connect(server.url(2), 'raw', { waitMs: WAIT_MS });
    raw.handshake(projectId, 'rawclient');

    // page 1 -> page 2 and the raw socket
    await one.setCloud('☁ a', '101');
    await Promise.all([two.waitForVariable('☁ a', '101', WAIT_MS), expect(raw.waitSet('☁ a', '101')).resolves.toBe(true)]);

    // the raw socket -> both pages
    raw.set('☁ b', '202');
    await Promise.all([one.waitForVariable('☁ b', '202', WAIT_MS), two.waitForVariable('☁ b', '202', WAIT_MS)]);

    // page 2 -> page 1 and the raw socket, on both variables; a number value this time
    await two.setCloud('☁ a', 303);
    await two.setCloud('☁ b', '404');
    await Promise.all([
      one.waitForVariable('☁ a', '303', WAIT_MS),
      one.waitForVariable('☁ b', '404', WAIT_MS),
      expect(raw.waitSet('☁ a', '303')).resolves.toBe(true),
      expect(raw.waitSet('☁ b', '404')).resolves.toBe(true),
    ]);

    // The pages' sets went out as Scratch 3 `set` messages, carrying project_id and user.
    const sent = await two.waitSent('☁ a', '303');
    expect(JSON.parse(sent)).toEqual({ method: 'set', name: '☁ a', value: 303, project_id: projectId, user: hello2.user });

    // Nobody was closed or reconnected, and the pages stayed on loopback.
    expect(raw.closeCode).toBeNull();
    for (const player of [one, two]) {
      expect(player.sockets.map((socket) => socket.closed)).toEqual([false]);
      expect(player.blockedRequests).toEqual([]);
      expect(player.pageErrors).toEqual([]);
    }
  });
});
