/**
 * The page at `/` in a real headless Chromium (Debian's package; scripts/test.mjs installs
 * it as root): it names the WebSocket URL of the server that served it, and its button
 * opens a real connection and handshake.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { membersAre, startGateway, type RunningGateway } from './support/gateway.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

describe('home page in Chromium', () => {
  let gateway: RunningGateway;
  let browser: BrowserContext;
  let profile: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`no Chromium at ${CHROMIUM}: install Debian's package (apt-get install -y chromium) or set CHROMIUM_PATH`);
    }
    gateway = await startGateway();
    profile = mkdtempSync(join(tmpdir(), 'cloudvars-chromium-'));
    // A fresh profile each run; the flags keep Chromium off the (closed) network.
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync',
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await gateway?.stop();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('tells the visitor the WebSocket address to connect to, and connects when asked', async () => {
    const page = await browser.newPage();
    await page.goto(gateway.httpUrl + '/');
    await expect(page.locator('h1').textContent()).resolves.toBe('Cloud variable server');
    await expect(page.locator('#ws-url').textContent()).resolves.toBe(gateway.url);

    await page.click('#try');
    await membersAre(gateway, 'home-page-demo', 1);
    // A string runs in the page (the test's TypeScript has no DOM types).
    await page.waitForFunction("document.getElementById('status').textContent.startsWith('connected to')");
    await expect(page.locator('#status').textContent()).resolves.toMatch(/^connected to ws:\/\/127\.0\.0\.1:\d+\/ as visitor\d+$/);
    await page.close();
  });
});
