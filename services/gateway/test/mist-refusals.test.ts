/**
 * A transient refusal is one Mist retries (issue 17): a full room closes today's clients with
 * 1013, not 4003, on which Mist throws "Cloud variable server is full" and stops for good.
 * The bot waits out its back-off and gets in once a place frees, with no error.
 */
import { openMist, type MistBot } from '@cloudvars/test-support/mist';
import { until } from '@cloudvars/test-support/until';
import { randomInt } from 'node:crypto';
import { afterEach, expect, it } from 'vitest';
import { membersAre, startGateway, type RunningGateway } from './support/gateway.ts';

let gateway: RunningGateway | null = null;
const bots: MistBot[] = [];
afterEach(async () => {
  for (const bot of bots.splice(0)) bot.close();
  await gateway?.stop();
  gateway = null;
});

async function closesWith(gw: RunningGateway, code: string): Promise<number> {
  return (await gw.metrics.closes.get()).values.find((entry) => entry.labels.code === code)?.value ?? 0;
}

it('closes a Mist bot refused by a full room with 1013; it retries and gets in once a place frees', async () => {
  gateway = await startGateway({ MAX_CLIENTS_PER_ROOM: '1' });
  const gw = gateway;
  const project = String(randomInt(100_000_000, 1_000_000_000));
  const first = openMist({ url: gw.url, projectId: project });
  bots.push(first);
  await first.untilConnected();
  await membersAre(gw, project, 1);
  const second = openMist({ url: gw.url, projectId: project });
  bots.push(second);
  await until(() => second.reconnects >= 1, { what: 'the second bot refused and reconnecting', timeoutMs: 15_000 });
  expect(await closesWith(gw, '1013')).toBeGreaterThanOrEqual(1);
  expect(await closesWith(gw, '4003')).toBe(0);
  first.close();
  const refusedBefore = second.connections;
  // Mist reconnects within its back-off (below 2-4 s after a socket that opened).
  await until(async () => second.connections > refusedBefore && (await gw.engine.store.memberCount(project)) === 1, {
    what: 'the second bot in the room',
    timeoutMs: 20_000,
  });
  second.set('score', 3);
  await until(async () => (await gw.engine.store.snapshot(project))?.variables.some(([name]) => name === '☁ score') === true, { what: 'its set stored' });
  expect(second.errors).toEqual([]);
  expect(first.errors).toEqual([]);
}, 60_000);
