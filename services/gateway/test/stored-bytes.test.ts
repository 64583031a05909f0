/**
 * What one address can make the store hold (issue 17, MAX_STORED_BYTES_PER_ADDRESS), on one
 * node and on two pods sharing Redis: an address whose sets grew rooms by its bound gets
 * its sets that would grow one more ignored and counted, while its sets that do not grow a
 * room still apply and a neighbour address still writes into the same room. The unit and
 * engine-contract tests of the accounting are in packages/rooms.
 */
import { LOG_NAME_BYTES, LOG_VALUE_BYTES, logEntryBytes, roomSize } from '@cloudvars/rooms';
import { afterEach, describe, expect, it } from 'vitest';
import { SETTINGS } from '../src/config.ts';
import { TestClient, until } from './support/client.ts';
import { cloud } from './support/conformance.ts';
import type { RunningGateway } from './support/gateway.ts';
import { startTarget, TARGET_KINDS, type Target } from './support/targets.ts';

const SCHOOL = '192.0.2.10';
const NEIGHBOUR = '192.0.2.20';
/** One room grown by 1,500 bytes (+ its 580 of base) takes the school past it. */
const ENV = { MAX_STORED_BYTES_PER_ADDRESS: '2000', TRUST_PROXY: 'true', ALLOW_TEXT_VALUES: 'true' };

let roomCounter = 0;
const freshRoom = (): string => `stored-bytes-${++roomCounter}-${Math.random().toString(36).slice(2, 8)}`;

describe.each(TARGET_KINDS)('MAX_STORED_BYTES_PER_ADDRESS (%s)', (kind) => {
  const targets: Target[] = [];
  const clients: TestClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await Promise.all(targets.splice(0).map((target) => target.stop()));
  });

  async function player(url: string, room: string, user: string, address: string): Promise<TestClient> {
    const client = await TestClient.connect(url, { dialect: 'scratch', headers: { 'x-forwarded-for': address } });
    clients.push(client);
    client.sendJson({ method: 'handshake', project_id: room, user });
    return client;
  }

  async function ignoredAtBound(gateways: readonly (RunningGateway | null)[]): Promise<number> {
    let total = 0;
    for (const gateway of gateways) {
      if (gateway === null) continue;
      const { values } = await gateway.metrics.changesIgnored.get();
      total += values.find((value) => value.labels.reason === 'address-bytes')?.value ?? 0;
    }
    return total;
  }

  it("ignores the growing sets of an address at its bound; its other sets and a neighbour's apply", async () => {
    const target = await startTarget(kind, ENV);
    targets.push(target);
    const room = freshRoom();
    const pupil = await player(target.url(), room, 'pupil', SCHOOL);
    const neighbour = await player(target.url(), room, 'neighbour', NEIGHBOUR);
    const big = cloud('big');
    pupil.set(big, 'a'.repeat(1_500));
    await until(() => neighbour.view.get(big)?.length === 1_500, { what: "the pupil's first value at the neighbour" });

    // At its bound: a set creating another variable grows the room, ignored and counted.
    const more = cloud('more');
    pupil.set(more, 'grows');
    await until(async () => (await ignoredAtBound([target.gw, target.other])) >= 1, { what: 'the growing set ignored at the bound' });
    // Not growing: the same length again reaches the neighbour.
    pupil.set(big, 'c'.repeat(1_500));
    await until(() => neighbour.view.get(big) === 'c'.repeat(1_500), { what: "the pupil's non-growing set at the neighbour" });
    // The neighbour's own address grows the room.
    const theirs = cloud('theirs');
    neighbour.set(theirs, 'n'.repeat(100));
    await until(() => pupil.view.get(theirs) === 'n'.repeat(100), { what: "the neighbour's growing set at the pupil" });

    expect(neighbour.view.has(more)).toBe(false);
    expect([pupil.closed, neighbour.closed]).toEqual([null, null]);
    expect(await ignoredAtBound([target.gw, target.other])).toBe(1);
  });
});

it('lets a school of 300 pupils each fill a project to MAX_ROOM_BYTES, its log with the longest entries, under the default bound', () => {
  const longestEntry = logEntryBytes('n'.repeat(1024), '9'.repeat(LOG_VALUE_BYTES), LOG_NAME_BYTES, LOG_VALUE_BYTES);
  const fullRoom = roomSize(SETTINGS.MAX_ROOM_BYTES.default, longestEntry, SETTINGS.CLOUD_LOG_LENGTH.default);
  expect(300 * fullRoom).toBeLessThan(SETTINGS.MAX_STORED_BYTES_PER_ADDRESS.default);
});
