/**
 * Number types as TurboWarp's Node bot library, `@turbowarp/mist`, sees them (issue 17 item 1),
 * against each target: our gateway (one node; two pods sharing Redis, one bot on each) and
 * the peer. Mist's README counter (`v = get() || 0; set(v + 1)`) counts 1, 2, 3 ... only
 * when a number comes back a number: relayed as text, `"1" + 1` is `"11"`.
 */
import { openMist, type MistBot, type MistValue } from '@cloudvars/test-support/mist';
import { peerPresent } from '@cloudvars/test-support/peer';
import { PEER_TARGET, type ScratchServer, type ScratchTarget } from '@cloudvars/test-support/scratch/target';
import { randomInt } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { gatewayTargets } from './support/scratch-targets.ts';

const TARGETS: readonly ScratchTarget[] = [...(peerPresent() ? [PEER_TARGET] : []), ...gatewayTargets()];

/** Mist's README loop body: the newest value, or 0, plus one (JavaScript's `+`, as a bot writes it). */
function countOnce(bot: MistBot, name: string): MistValue {
  const value = bot.get(name) || 0;
  // Deliberately JavaScript's `+`: a string value concatenates, as it would in a user's bot.
  const next = (value as number) + 1;
  bot.set(name, next);
  return next;
}

describe.each(TARGETS)('Mist values against $name', (target) => {
  let server: ScratchServer;
  const bots: MistBot[] = [];
  const projectId = (): string => String(randomInt(100_000_000, 1_000_000_000));
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

  it('counts 1, 2, 3 ... with the README counter, two bots taking turns (on two pods where there are two)', async () => {
    const project = projectId();
    const [a, b] = [bot(0, project), bot(1, project)];
    await Promise.all([a.untilConnected(), b.untilConnected()]);
    const counted: MistValue[] = [];
    for (let turn = 0; turn < 6; turn++) {
      const [me, other] = turn % 2 === 0 ? [a, b] : [b, a];
      const next = countOnce(me, 'counter');
      counted.push(next);
      await other.untilReceived('☁ counter', next);
    }
    expect(counted).toEqual([1, 2, 3, 4, 5, 6]);
    // What each bot received are numbers, never their text: the other's counts in order (our
    // gateway may also echo a bot's own write back, PROTOCOL.md's convergence echo).
    for (const [me, others] of [
      [a, [2, 4, 6]],
      [b, [1, 3, 5]],
    ] as const) {
      const values = me.received.map((set) => set.value);
      expect(values.every((value) => typeof value === 'number')).toBe(true);
      expect(values.filter((value) => (others as readonly MistValue[]).includes(value))).toEqual(others);
    }
  });

  it('gives a bot that joins later the count as a number, and keeps a string a string', async () => {
    const project = projectId();
    const a = bot(0, project);
    await a.untilConnected();
    a.set('counter', 41);
    a.set('label', '41');
    const late = bot(1, project);
    await late.untilReceived('☁ label', '41');
    expect(late.get('☁ counter')).toBe(41);
    expect(countOnce(late, 'counter')).toBe(42);
    await a.untilReceived('☁ counter', 42);
  });
});
