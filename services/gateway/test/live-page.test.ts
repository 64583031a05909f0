/**
 * The live room page (/rooms/{room}) in a real headless Chromium, served by one gateway of
 * two sharing Redis while the clients play on the other: values, clients and the log's tail
 * update as sets are made through the other gateway; an operator's set and a deletion show.
 */
import { launchChromium, type Chromium } from '@cloudvars/test-support/browser';
import type { Page } from 'playwright-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { API_ENV, OPERATOR, admin, roomPath } from './support/api.ts';
import { TestClient } from './support/client.ts';
import { cloud } from './support/conformance.ts';
import { membersAre, type RunningGateway } from './support/gateway.ts';
import { startTarget, type Target } from './support/targets.ts';

function exactly(text: string): RegExp {
  return new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
}

/** Resolves once an element matching `selector` shows `text` (the whole of its text when a string). */
async function shows(page: Page, selector: string, text: string | RegExp): Promise<void> {
  await page
    .locator(selector)
    .filter({ hasText: typeof text === 'string' ? exactly(text) : text })
    .first()
    .waitFor({ timeout: 15_000 });
}

function valueOf(name: string): string {
  return `tr[data-name="${name}"] td.value`;
}

describe('the live room page in Chromium', () => {
  let chromium: Chromium;
  let target: Target | undefined;
  beforeEach(async () => {
    chromium = await launchChromium();
  });
  // Chromium first: it may hold a preconnected socket that never sends a request, which the
  // server would wait for (up to its headers timeout) before it could close.
  afterEach(async () => {
    await chromium?.close();
    await target?.stop();
    target = undefined;
  });

  it("shows values, clients and the log live from the other gateway, an operator's set, and the room's deletion", async () => {
    target = await startTarget('redis', API_ENV);
    const [play, serve] = [target.gw, target.other as RunningGateway];
    const projectId = 'p4-@Live Page.sb3';
    const room = 'p4-%40Live%20Page.sb3';
    const alice = await TestClient.connect(play.url, { dialect: 'scratch' });
    alice.sendJson({ method: 'handshake', project_id: projectId, user: 'alice' });
    await membersAre(play, room, 1);
    alice.set(cloud('score'), '1');

    const page = await chromium.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    await page.goto(`${serve.httpUrl}/rooms/${encodeURIComponent(projectId)}`);
    await shows(page, '#room', projectId);
    await shows(page, '#status', 'live');
    await shows(page, valueOf(cloud('score')), '1');
    await shows(page, '#clients', '1');

    // Sets made on the other gateway reach the page as they happen.
    alice.set(cloud('score'), '2');
    alice.set(cloud('lives'), '3');
    await shows(page, valueOf(cloud('score')), '2');
    await shows(page, valueOf(cloud('lives')), '3');
    await shows(page, '#log li', /alice set ☁ lives to 3$/);

    const bob = await TestClient.connect(play.url, { dialect: 'scratch' });
    bob.sendJson({ method: 'handshake', project_id: projectId, user: 'bob' });
    await shows(page, '#clients', '2');

    expect((await admin(play.httpUrl, 'POST', `${roomPath(projectId)}/set`, { name: cloud('score'), value: '100' })).status).toBe(200);
    await shows(page, valueOf(cloud('score')), '100');
    await shows(page, '#log li', new RegExp(`${OPERATOR.name} set ☁ score to 100$`));
    expect(await play.engine.store.memberCount(room)).toBe(2);

    expect((await admin(play.httpUrl, 'DELETE', roomPath(projectId))).status).toBe(200);
    await shows(page, '#status', 'an operator deleted this room');
    expect(await page.locator('#variables tr').count()).toBe(0);
    expect((await alice.waitClose()).code).toBe(4010);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('asks for an operator token when reads need one, then shows the room', async () => {
    target = await startTarget('memory', { ...API_ENV, API_READS_NEED_TOKEN: 'true' });
    const gw = target.gw;
    await TestClient.join(gw.url, 'private-page', 'alice', { [cloud('a')]: '7' });
    await membersAre(gw, 'private-page', 1);
    const page = await chromium.context.newPage();
    await page.goto(`${gw.httpUrl}/rooms/private-page`);
    await shows(page, '#status', 'an operator token is needed');
    await page.fill('#token', 'wrong-token-0123456789');
    await page.click('#token-form button');
    await shows(page, '#status', 'that token was refused');
    await page.fill('#token', OPERATOR.token);
    await page.click('#token-form button');
    await shows(page, '#status', 'live');
    await shows(page, valueOf(cloud('a')), '7');
    await page.close();
  });
});
