/**
 * TurboWarp's Node bot library, `@turbowarp/mist`, as a hobbyist runs it against each
 * target: our gateway (one node; two pods sharing Redis, one bot on each) and the peer.
 * Values cross between bots, and a bot whose socket drops reconnects by itself and gets
 * the room back; a burst as fast as a loop runs leaves the bot connected and its last value
 * with every bot (issue 17 item 2). Number types have their own file (mist-values).
 */
import { openMist, type MistBot } from '@cloudvars/test-support/mist';
import { peerPresent } from '@cloudvars/test-support/peer';
import { PEER_TARGET, type ScratchServer, type ScratchTarget } from '@cloudvars/test-support/scratch/target';
import { randomInt } from 'node:crypto';
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import { gatewayTargets } from './support/scratch-targets.ts';

const TARGETS: readonly ScratchTarget[] = [...(peerPresent() ? [PEER_TARGET] : []), ...gatewayTargets()];

describe.each(TARGETS)('Mist bots against $name', (target) => {
  let server: ScratchServer;
  const bots: MistBot[] = [];
  const projectId = () => String(randomInt(100_000_000, 1_000_000_000));
  const bot = (client: number, project: string): MistBot => {
    const opened = openMist({ url: server.url(client), projectId: project });
    bots.push(opened);
    return opened;
  };

  beforeAll(async () => {
    server = await target.start();
  });
  afterAll(async () => {
    await server.stop();
  });
  afterEach(() => {
    for (const opened of bots.splice(0)) {
      expect(opened.errors).toEqual([]);
      opened.close();
    }
  });

  it("carries one bot's sets to another", async () => {
    const project = projectId();
    const [a, b] = [bot(0, project), bot(1, project)];
    await Promise.all([a.untilConnected(), b.untilConnected()]);
    a.set('score', '41');
    await b.untilReceived('☁ score', '41');
    b.set('☁ score', '42');
    await a.untilReceived('☁ score', '42');
  });

  it('reconnects a bot whose socket dropped, and it gets the room back', async () => {
    const project = projectId();
    const [a, b] = [bot(0, project), bot(1, project)];
    await Promise.all([a.untilConnected(), b.untilConnected()]);
    a.set('level', '7');
    await b.untilReceived('☁ level', '7');
    const heardBefore = b.received.length;
    b.dropSocket();
    a.set('level', '8');
    // Mist waits a random 0-4 s before its first reconnect.
    await b.untilConnected(2, 20_000);
    await b.untilReceived('☁ level', '8', 20_000);
    expect(b.reconnects).toBeGreaterThanOrEqual(1);
    // After the reconnect the room arrives in the server's join frame.
    expect(b.received.slice(heardBefore)).toContainEqual({ name: '☁ level', value: '8' });
  });
  // Mist writes one frame per set with no pacing and never resends one: a server that closes
  // or drops part of a burst leaves the room behind what the bot believes for good.
  it.each([1_000, 10_000])('keeps a bot connected through a burst of %i sets in a loop, and every bot ends on its last value', async (count) => {
    const project = projectId();
    const [a, b] = [bot(0, project), bot(1, project)];
    await Promise.all([a.untilConnected(), b.untilConnected()]);
    for (let i = 1; i <= count; i++) a.set('burst', i);
    await b.untilReceived('☁ burst', count, 60_000);
    const late = bot(1, project);
    await late.untilConnected();
    await late.untilReceived('☁ burst', count);
    expect([a.connections, a.reconnects, b.reconnects]).toEqual([1, 0, 0]);
  });
});
