/**
 * No collateral at an address (issue 17): one Scratch 3 client at 127.0.0.1 floods its room
 * with sets as fast as it can while 20 neighbours at the same address keep playing in it, on
 * one node and on two pods sharing Redis. The flooder is paced (FLOOD_BURST, then
 * FLOOD_LIMIT_PER_SECOND) and stays connected; the neighbours, who send a few frames each, are
 * never paced: their sets reach each other while the flood is still being read, and afterwards
 * each of them can leave and come back from the same address and gets the room's values.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TestClient, until, upgradeStatus } from './support/client.ts';
import { cloud } from './support/conformance.ts';
import { membersAre } from './support/gateway.ts';
import { startTarget, TARGET_KINDS, type Target } from './support/targets.ts';

const NEIGHBOURS = 20;
const FLOOD_SETS = 6_000;
/**
 * Low enough that the flood is paced for seconds ((6,000 - 200) / 1,500 >= 3.8 s), so the
 * neighbours' round surely falls inside it; high enough to keep the test a few seconds long.
 */
const FLOOD_ENV = { FLOOD_BURST: '200', FLOOD_LIMIT_PER_SECOND: '1500' };
const FLOOD_VARIABLES = 3;
const floodVariable = (n: number): string => cloud(`flood${n % FLOOD_VARIABLES}`);
const neighbourVariable = (i: number): string => cloud(`neighbour${i}`);
/** Numbers: with text values off (the default) a non-number set is ignored. */
const neighbourValue = (i: number): string => String(1_000 + i);

let roomCounter = 0;
const freshRoom = (): string => `flood-neighbours-${++roomCounter}-${Math.random().toString(36).slice(2, 8)}`;

describe.each(TARGET_KINDS)('a flooder and its neighbours at one address (%s)', (kind) => {
  const targets: Target[] = [];
  const clients: TestClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await Promise.all(targets.splice(0).map((target) => target.stop()));
  });

  async function scratch(target: Target, room: string, user: string): Promise<TestClient> {
    const client = await TestClient.join(target.url(), room, user, {}, 'scratch');
    clients.push(client);
    return client;
  }

  async function floodPauses(target: Target): Promise<number> {
    let total = 0;
    for (const gateway of [target.gw, target.other]) {
      if (gateway !== null) total += (await gateway.metrics.floodPauses.get()).values[0]?.value ?? 0;
    }
    return total;
  }

  it(`keeps ${NEIGHBOURS} neighbours playing while one client floods, and lets each reconnect afterwards`, async () => {
    const target = await startTarget(kind, FLOOD_ENV);
    targets.push(target);
    const room = freshRoom();
    const neighbours: TestClient[] = [];
    for (let i = 0; i < NEIGHBOURS; i++) neighbours.push(await scratch(target, room, `neighbour${i}`));
    const flooder = await scratch(target, room, 'flooder');
    await membersAre(target.gw, room, NEIGHBOURS + 1);

    // As fast as it can: every set queued on the socket at once (a bot's loop).
    for (let n = 1; n <= FLOOD_SETS; n++) flooder.set(floodVariable(n), String(n));
    const lastFlood = new Map(Array.from({ length: FLOOD_VARIABLES }, (_, k) => [floodVariable(FLOOD_SETS - k), String(FLOOD_SETS - k)]));
    const floodDone = (view: ReadonlyMap<string, string>): boolean => [...lastFlood].every(([name, value]) => view.get(name) === value);

    // The neighbours play meanwhile: each one's set reaches every other neighbour.
    neighbours.forEach((neighbour, i) => neighbour.set(neighbourVariable(i), neighbourValue(i)));
    const everyoneSeesEveryone = (): boolean =>
      neighbours.every((neighbour) =>
        Array.from({ length: NEIGHBOURS }, (_, i) => neighbour.view.get(neighbourVariable(i)) === neighbourValue(i)).every(Boolean),
      );
    const anyClosed = (): boolean => flooder.closed !== null || neighbours.some((neighbour) => neighbour.closed !== null);
    await until(() => everyoneSeesEveryone() || anyClosed(), { what: "every neighbour's set at every neighbour", timeoutMs: 20_000 });
    expect(neighbours.map((neighbour) => neighbour.closed)).toEqual(neighbours.map(() => null));
    expect(everyoneSeesEveryone()).toBe(true);
    // The round happened during the flood: the flooder's last values had not reached anyone yet.
    expect(
      neighbours.some((neighbour) => floodDone(neighbour.view)),
      'the flood was still being paced while the neighbours played',
    ).toBe(false);

    // The flood ends on its last value per variable for everyone; the flooder was paced, not closed.
    await until(() => neighbours.every((neighbour) => floodDone(neighbour.view)) || anyClosed(), {
      what: "the flood's last values everywhere",
      timeoutMs: 30_000,
    });
    expect(flooder.closed).toBeNull();
    expect(neighbours.every((neighbour) => floodDone(neighbour.view))).toBe(true);
    expect(await floodPauses(target)).toBeGreaterThan(0);

    // Nothing fell on the address: each neighbour leaves and comes back, and gets the room's values.
    const expected = new Map([...lastFlood, ...Array.from({ length: NEIGHBOURS }, (_, i) => [neighbourVariable(i), neighbourValue(i)] as const)]);
    for (let i = 0; i < NEIGHBOURS; i++) {
      const leaving = neighbours[i]!;
      leaving.close();
      await leaving.waitClose();
      await membersAre(target.gw, room, NEIGHBOURS);
      const back = await scratch(target, room, `neighbour${i}`);
      await back.waitFrames(1);
      expect(Object.fromEntries(back.view)).toEqual(Object.fromEntries(expected));
      neighbours[i] = back;
    }
    expect((await upgradeStatus(target.gw.url)).status).toBe(101);
    expect(flooder.closed).toBeNull();
  }, 60_000);
});
