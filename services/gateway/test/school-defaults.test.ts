/**
 * A school behind one NAT address, with the default per-address settings (issue 17): 300
 * pupils each opening their own new project within a minute all get in, on one node and on
 * two pods sharing Redis. Upgrades beyond MAX_HANDSHAKES_PER_ADDRESS_PER_SECOND get 429 and
 * are retried after Retry-After, as clients back off.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SETTINGS } from '../src/config.ts';
import { until } from './support/client.ts';
import { startTarget, type Target } from './support/targets.ts';

const PUPILS = 300;
/** The defaults, which the test support raises for every other test. */
const DEFAULT_ADDRESS_LIMITS = {
  MAX_HANDSHAKES_PER_ADDRESS_PER_SECOND: String(SETTINGS.MAX_HANDSHAKES_PER_ADDRESS_PER_SECOND.default),
  MAX_NEW_ROOMS_PER_ADDRESS_PER_MINUTE: String(SETTINGS.MAX_NEW_ROOMS_PER_ADDRESS_PER_MINUTE.default),
  MAX_CONNECTIONS_PER_ADDRESS: String(SETTINGS.MAX_CONNECTIONS_PER_ADDRESS.default),
};

const targets: Target[] = [];
const sockets: WebSocket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.terminate();
  await Promise.all(targets.splice(0).map((target) => target.stop()));
});

/** Opens a Scratch 3 connection into `project`, retrying a refused upgrade after its Retry-After. */
function pupil(url: string, project: string): Promise<{ refusedUpgrades: number; closed: number | null }> {
  return new Promise((resolve) => {
    let refusedUpgrades = 0;
    const attempt = (): void => {
      const socket = new WebSocket(url, { perMessageDeflate: false });
      socket.once('unexpected-response', (_request, response) => {
        refusedUpgrades += 1;
        socket.terminate();
        setTimeout(attempt, Number(response.headers['retry-after'] ?? '1') * 1000);
      });
      socket.once('open', () => {
        sockets.push(socket);
        socket.send(JSON.stringify({ method: 'handshake', project_id: project, user: `pupil${project}` }));
        resolve({
          refusedUpgrades,
          get closed() {
            return closedWith;
          },
        });
      });
      let closedWith: number | null = null;
      socket.once('close', (code) => {
        closedWith = code;
      });
      socket.once('error', () => undefined);
    };
    attempt();
  });
}

describe.each(['memory', 'redis'] as const)('a school of %s', (kind) => {
  it(`lets ${PUPILS} pupils behind one address open ${PUPILS} new projects within a minute, with the default limits`, async () => {
    const target = await startTarget(kind, DEFAULT_ADDRESS_LIMITS);
    targets.push(target);
    const projects = Array.from({ length: PUPILS }, (_, i) => String(700_000_000 + i));
    const pupils = await Promise.all(projects.map((project) => pupil(target.url(), project)));
    const store = target.gw.engine.store;
    await until(async () => (await Promise.all(projects.map((project) => store.memberCount(project)))).every((count) => count === 1), {
      what: `${PUPILS} projects each with its pupil`,
      timeoutMs: 30_000,
    });
    // A pod counts a join once it has read the store's answer, which on the other pod can come
    // after the member is already visible in Redis through this pod's connection: wait for
    // every join to be counted, whatever its outcome, before reading which outcome it had.
    await until(async () => (await labelled(target)) >= PUPILS, { what: `${PUPILS} joins counted`, timeoutMs: 10_000 });
    expect(pupils.filter((one) => one.closed !== null)).toEqual([]);
    expect(await labelled(target, 'created')).toBe(PUPILS);
  }, 60_000);
});

/** The joins both pods counted with `outcome`, or with any outcome when none is given. */
async function labelled(target: Target, outcome?: string): Promise<number> {
  let total = 0;
  for (const gw of [target.gw, target.other]) {
    if (gw === null) continue;
    for (const entry of (await gw.metrics.joins.get()).values) if (outcome === undefined || entry.labels.outcome === outcome) total += entry.value;
  }
  return total;
}
