/**
 * The page at `/` in a real headless Chromium (Debian's package; scripts/test.mjs installs
 * it as root): it names the WebSocket URL of the server that served it, wherever it shows
 * an address, its button opens a real connection and handshake, every link answers from
 * this server (none to /metrics, which is on METRICS_PORT), nothing runs off the screen of
 * a phone or a desktop (also with a long project id typed in), it says how both protocols
 * carry values, and its text is readable (heading levels, contrast).
 */
import { launchChromium, type Chromium } from '@cloudvars/test-support/browser';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { membersAre, startGateway, type RunningGateway } from './support/gateway.ts';

/** A phone's (360 x 740 CSS pixels, as small Android phones report) and a desktop's. */
const VIEWPORTS = [
  { width: 360, height: 740 },
  { width: 1280, height: 800 },
] as const;

/** WCAG 2 AA for body text. */
const MIN_CONTRAST = 4.5;

interface Overflow {
  readonly element: string;
  readonly right: number;
  readonly scrollWidth: number;
  readonly clientWidth: number;
}

interface Contrast {
  readonly element: string;
  readonly ratio: number;
}

/*
 * Run in the page as strings: the test's TypeScript has no DOM types. Each returns what is
 * wrong (empty when all is well), so a failure names the element.
 */

/**
 * Elements that reach past the viewport's right edge, or hide content in a scroll box (but an
 * input's text scrolling inside its box is how inputs work).
 */
const FIND_OVERFLOWS = `(() => {
  const width = document.documentElement.clientWidth;
  const found = [];
  for (const element of document.body.querySelectorAll('*')) {
    if (element.tagName === 'SCRIPT' || element.tagName === 'STYLE') continue;
    const right = element.getBoundingClientRect().right;
    const scrollBox = element.tagName !== 'INPUT' && element.scrollWidth > element.clientWidth + 1 && element.clientWidth > 0;
    if (right > width + 0.5 || scrollBox) {
      found.push({ element: element.tagName + ' ' + element.textContent.slice(0, 60), right, scrollWidth: element.scrollWidth, clientWidth: element.clientWidth });
    }
  }
  if (document.documentElement.scrollWidth > width) {
    found.push({ element: 'document', right: document.documentElement.scrollWidth, scrollWidth: document.documentElement.scrollWidth, clientWidth: width });
  }
  return found;
})()`;

/** Text whose colour has less than MIN_CONTRAST against the background it is drawn on. */
const FIND_LOW_CONTRAST = `((minimum) => {
  const rgb = (color) => (color.match(/[\\d.]+/g) || []).map(Number);
  const luminance = ([r, g, b]) => {
    const channel = (value) => { const c = value / 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  };
  const backgroundOf = (element) => {
    for (let node = element; node; node = node.parentElement) {
      const color = rgb(getComputedStyle(node).backgroundColor);
      if (color.length === 3 || (color.length === 4 && color[3] > 0)) return color.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const found = [];
  for (const element of document.body.querySelectorAll('*')) {
    const ownText = [...element.childNodes].some((node) => node.nodeType === Node.TEXT_NODE && node.textContent.trim() !== '');
    if (!ownText || element.tagName === 'SCRIPT' || element.tagName === 'STYLE') continue;
    const [a, b] = [luminance(rgb(getComputedStyle(element).color)), luminance(backgroundOf(element))];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < minimum) found.push({ element: element.tagName + ' ' + element.textContent.slice(0, 60), ratio });
  }
  return found;
})(${MIN_CONTRAST})`;

describe('home page in Chromium', () => {
  let gateway: RunningGateway;
  let chromium: Chromium;

  beforeAll(async () => {
    [gateway, chromium] = await Promise.all([startGateway(), launchChromium()]);
  });

  afterAll(async () => {
    await chromium?.close();
    await gateway?.stop();
  });

  async function openHome(viewport: { width: number; height: number } = VIEWPORTS[1]): Promise<Page> {
    const page = await chromium.context.newPage();
    await page.setViewportSize(viewport);
    await page.goto(gateway.httpUrl + '/');
    return page;
  }

  it('tells the visitor the WebSocket address to connect to, and connects when asked', async () => {
    const page = await openHome();
    await expect(page.locator('h1').textContent()).resolves.toBe('Cloud variable server');
    await expect(page.locator('#ws-url').textContent()).resolves.toBe(gateway.url);

    await page.click('#try');
    // A string runs in the page (the test's TypeScript has no DOM types).
    await page.waitForFunction("document.getElementById('status').textContent.startsWith('connected to')");
    await expect(page.locator('#status').textContent()).resolves.toMatch(
      /^connected to ws:\/\/127\.0\.0\.1:\d+\/ as visitor\d+ and visitor\d+: a set from one reached the other$/,
    );
    // What the page set is in the room, as the number it sent.
    const room = (await (await fetch(`${gateway.httpUrl}/api/v1/rooms/home-page-demo`)).json()) as { variables: Record<string, unknown> };
    expect(typeof room.variables['☁ demo']).toBe('number');
    await membersAre(gateway, 'home-page-demo', 0);
    await page.close();
  });

  it('reports a refusal that comes after the handshake, rather than "connected"', async () => {
    // One client per room: the page's second connection is refused once its handshake is read.
    // A browser of its own, closed before the gateway: Chromium keeps a preconnected socket
    // open that an HTTP server's close waits for (up to its 30 s connection check).
    const [full, browser] = await Promise.all([startGateway({ MAX_CLIENTS_PER_ROOM: '1' }), launchChromium()]);
    try {
      const page = await browser.context.newPage();
      await page.goto(full.httpUrl + '/');
      await page.click('#try');
      await page.waitForFunction("document.getElementById('status').textContent.startsWith('closed with code')");
      await expect(page.locator('#status').textContent()).resolves.toBe('closed with code 1013: room-full');
    } finally {
      await browser.close();
      await full.stop();
    }
  });

  it("shows this server's address in every instruction: the Packager's cloud host, TurboWarp's cloud_host, Mist's and scratchattach's", async () => {
    const page = await openHome();
    const shown = await page.locator('.ws-url').allTextContents();
    // The header, the Packager, TurboWarp's URL, Mist and scratchattach.
    expect(shown.length).toBeGreaterThanOrEqual(5);
    expect(new Set(shown)).toEqual(new Set([gateway.url]));
    const text = (await page.locator('main').textContent()) ?? '';
    expect(text).toContain(`cloud_host=${gateway.url}`);
    expect(text).toContain(`cloudHost: '${gateway.url}'`);
    expect(text).toContain(`cloud_host="${gateway.url}"`);
    // Both protocols, by the field that tells them apart.
    expect(text).toContain('{"method":"handshake"');
    expect(text).toContain('{"kind":"handshake"');
    await page.close();
  });

  it('links only to this server, and every link answers', async () => {
    const page = await openHome();
    const links = await page.locator('a[href]').evaluateAll((anchors) => anchors.map((anchor) => (anchor as unknown as { href: string }).href));
    expect(links.length).toBeGreaterThan(0);
    const origin = new URL(gateway.httpUrl).origin;
    const answers = await Promise.all(
      links.map(async (link) => {
        expect(new URL(link).origin, link).toBe(origin);
        const response = await fetch(link);
        await response.arrayBuffer();
        return { link, status: response.status };
      }),
    );
    expect(answers.filter(({ status }) => status >= 400)).toEqual([]);
    expect(links.some((link) => link.endsWith('/api/v1/openapi.json'))).toBe(true);
    expect(links.some((link) => new URL(link).pathname.startsWith('/rooms/'))).toBe(true);
    await page.close();
  });

  it("opens the live page of the project id typed in, in this server's room page", async () => {
    const page = await openHome();
    await page.fill('#room-id', 'p4-@My Game');
    await expect(page.locator('#room-link').getAttribute('href')).resolves.toBe('/rooms/p4-%40My%20Game');
    await Promise.all([page.waitForURL(`${gateway.httpUrl}/rooms/p4-%40My%20Game`), page.click('#room-form button[type=submit]')]);
    const response = await fetch(page.url());
    expect(response.status).toBe(200);
    await page.close();
  });

  for (const viewport of VIEWPORTS) {
    it(`runs nothing off the right edge at ${viewport.width} px`, async () => {
      const page = await openHome(viewport);
      await expect(page.evaluate(FIND_OVERFLOWS) as Promise<Overflow[]>).resolves.toEqual([]);
      await page.close();
    });
  }

  it('never links /metrics, which answers 404 on the public port (it is on METRICS_PORT)', async () => {
    const page = await openHome();
    const paths = await page
      .locator('a[href]')
      .evaluateAll((anchors) => anchors.map((anchor) => new URL((anchor as unknown as { href: string }).href).pathname));
    expect(paths.filter((path) => path.startsWith('/metrics'))).toEqual([]);
    expect((await fetch(`${gateway.httpUrl}/metrics`)).status).toBe(404);
    expect((await fetch(gateway.metricsUrl)).status).toBe(200);
    await page.close();
  });

  it("runs nothing off a phone's screen once used: a long project id typed in, a connection made", async () => {
    const page = await openHome(VIEWPORTS[0]);
    // One unbroken word, as a pasted project URL or id is.
    await page.fill('#room-id', 'https://turbowarp.org/123456789012345678901234567890?cloud_host=wss://example.test/');
    await page.click('#try');
    await page.waitForFunction("document.getElementById('status').textContent.startsWith('connected to')");
    await expect(page.evaluate(FIND_OVERFLOWS) as Promise<Overflow[]>).resolves.toEqual([]);
    await page.close();
  });

  it('says how each protocol carries values: Scratch 3 keeps a number a number, 2020 sends strings', async () => {
    const page = await openHome();
    const text = (await page.locator('main').textContent())?.replace(/\s+/g, ' ') ?? '';
    expect(text).toContain('a number sent is a number received');
    expect(text).toContain('values are strings');
    await page.close();
  });

  it('has one h1, heading levels that never skip, labelled inputs and readable contrast', async () => {
    const page = await openHome();
    const levels = await page
      .locator('h1, h2, h3, h4, h5, h6')
      .evaluateAll((headings) => headings.map((heading) => Number((heading as unknown as { tagName: string }).tagName.slice(1))));
    expect(levels.filter((level) => level === 1)).toHaveLength(1);
    expect(levels[0]).toBe(1);
    for (let i = 1; i < levels.length; i++) expect((levels[i] ?? 0) - (levels[i - 1] ?? 0)).toBeLessThanOrEqual(1);
    const unlabelled = await page
      .locator('input')
      .evaluateAll((inputs) => inputs.filter((input) => (input as unknown as { labels: { length: number } }).labels.length === 0).length);
    expect(unlabelled).toBe(0);
    await expect(page.evaluate(FIND_LOW_CONTRAST) as Promise<Contrast[]>).resolves.toEqual([]);
    await page.close();
  });
});
