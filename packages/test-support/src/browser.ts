/**
 * Today's real client in a test: a TurboWarp-packaged project (packager.ts) served from a
 * tiny loopback HTTP server and played in headless Chromium (Debian's `chromium`, driven
 * by playwright-core), one page per player.
 *
 * What a test can do with a player, all through the page's own objects (the packaged page
 * puts its Scaffolding player on `window.scaffolding` and the VM on `window.vm`):
 * - `cloudReady()`: await the page's cloud WebSocket and the handshake it sent on it,
 *   seen from the browser's side (Playwright's websocket events), with the project_id and
 *   user it carried.
 * - `setCloud(name, value)`: write the value into the project's input variable and start
 *   the project's `when I receive [set …]` script, so the project's own `set ☁ … to`
 *   block runs and the VM's cloud path sends the update (the test never writes the socket).
 * - `variable(name)`, `waitForVariable(name, value)`: read what the project sees.
 * - `sockets`: every frame each of the page's WebSockets sent and received, for findings
 *   and failure messages.
 *
 * Loopback only: every HTTP request the page makes to another host is aborted and listed
 * in `blockedRequests`.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { BrowserContext, Page, WebSocket as PageWebSocket } from 'playwright-core';
import { parseObject as parseLine } from './scratch/socket.ts';
import { triggerFor } from './scratch-project.ts';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Headless, and off the (closed) network: no QUIC, no background or component traffic. */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const DEFAULT_WAIT_MS = 15_000;

export class BrowserSupportError extends Error {
  readonly code = 'CV_ERR_TEST_BROWSER';
  constructor(message: string) {
    super(message);
    this.name = 'BrowserSupportError';
  }
}

export interface Chromium {
  readonly context: BrowserContext;
  /** Closes every page and the browser, removes the profile. */
  close(): Promise<void>;
}

/** Headless Chromium with a fresh user-data dir (removed on close). */
export async function launchChromium(): Promise<Chromium> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new BrowserSupportError(
      `no Chromium at ${CHROMIUM_PATH}: install Debian's package (apt-get install -y chromium; scripts/test.mjs does it as root) or set CHROMIUM_PATH`,
    );
  }
  const profile = mkdtempSync(join(tmpdir(), 'cloudvars-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM_PATH, headless: true, args: [...CHROMIUM_ARGS] });
    return {
      context,
      async close() {
        await context.close();
        rmSync(profile, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(profile, { recursive: true, force: true });
    throw error;
  }
}

export interface HtmlServer {
  /** `http://127.0.0.1:<port>/` */
  readonly url: string;
  close(): Promise<void>;
}

/** Serves `html` at `/` on a free 127.0.0.1 port (404 elsewhere). */
export async function serveHtml(html: string): Promise<HtmlServer> {
  const body = Buffer.from(html, 'utf8');
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && (path === '/' || path === '/index.html')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': body.length, 'cache-control': 'no-store' });
      res.end(body);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** One WebSocket the page opened, as the browser saw it. */
export interface PageSocket {
  readonly url: string;
  /** Text of every frame the page sent, in order. */
  readonly sent: string[];
  /** Text of every frame the page received, in order. */
  readonly received: string[];
  closed: boolean;
}

/** The handshake the page sent (today's Scratch 3 protocol). */
export interface PageHandshake {
  readonly raw: string;
  readonly method: unknown;
  readonly project_id: unknown;
  readonly user: unknown;
}

/** What the page's script sees: Scaffolding and its VM (only what is used here). */
interface PageGlobals {
  scaffolding: {
    getVariable(name: string): unknown;
    setVariable(name: string, value: string | number | boolean): void;
    vm: { runtime: { startHats(opcode: string, fields: Record<string, string>): unknown[] } };
  };
}

function isLoopbackUrl(url: string): boolean {
  if (url.startsWith('data:') || url.startsWith('blob:') || url === 'about:blank') return true;
  try {
    const host = new URL(url).hostname;
    return host === '127.0.0.1' || host === 'localhost' || host === '[::1]' || /^127\./.test(host);
  } catch {
    return false;
  }
}

function frameText(payload: string | Buffer): string {
  return typeof payload === 'string' ? payload : `<binary ${payload.length} bytes>`;
}

/** A player: one Chromium page playing the packaged project. */
export class ScratchPlayer {
  readonly sockets: PageSocket[] = [];
  readonly blockedRequests: string[] = [];
  /** console.error lines and uncaught page errors. */
  readonly pageErrors: string[] = [];
  private readonly socketListeners = new Set<() => void>();

  private constructor(readonly page: Page) {
    page.on('websocket', (socket: PageWebSocket) => this.track(socket));
    page.on('pageerror', (error) => this.pageErrors.push(String(error)));
    page.on('console', (message) => {
      if (message.type() === 'error') this.pageErrors.push(message.text());
    });
  }

  /** Opens the packaged page at `url` (served by serveHtml) in a new tab of `chromium`. */
  static async open(chromiumSession: Chromium, url: string): Promise<ScratchPlayer> {
    const page = await chromiumSession.context.newPage();
    const player = new ScratchPlayer(page);
    await page.route('**/*', async (route) => {
      const requestUrl = route.request().url();
      if (isLoopbackUrl(requestUrl)) {
        await route.continue();
      } else {
        player.blockedRequests.push(requestUrl);
        await route.abort('blockedbyclient');
      }
    });
    await page.goto(url);
    return player;
  }

  private track(socket: PageWebSocket): void {
    const record: PageSocket = { url: socket.url(), sent: [], received: [], closed: false };
    this.sockets.push(record);
    socket.on('framesent', ({ payload }) => {
      record.sent.push(frameText(payload));
      this.notify();
    });
    socket.on('framereceived', ({ payload }) => {
      record.received.push(frameText(payload));
      this.notify();
    });
    socket.on('close', () => {
      record.closed = true;
      this.notify();
    });
    this.notify();
  }

  private notify(): void {
    for (const listener of [...this.socketListeners]) listener();
  }

  /** Resolves when `condition` holds over the recorded sockets (checked on every frame). */
  private waitSockets<T>(condition: () => T | undefined, what: string, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = (): void => {
        const value = condition();
        if (value === undefined) return;
        cleanup();
        resolve(value);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new BrowserSupportError(
            `timed out after ${timeoutMs} ms waiting for ${what}; sockets: ${JSON.stringify(this.sockets)}; page errors: ${JSON.stringify(this.pageErrors.slice(-5))}`,
          ),
        );
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.socketListeners.delete(check);
      };
      this.socketListeners.add(check);
      check();
    });
  }

  /**
   * Resolves with the handshake once the page's cloud socket is open and has sent it (the
   * packaged page sends it from the socket's open event). With `after`, waits for a
   * handshake on a socket opened after the first `after` ones (a reconnect).
   */
  cloudReady(options: { after?: number; timeoutMs?: number } = {}): Promise<PageHandshake> {
    const after = options.after ?? 0;
    return this.waitSockets(
      () => {
        for (const socket of this.sockets.slice(after)) {
          for (const frame of socket.sent) {
            const message = parseLine(frame);
            if (message?.method === 'handshake') return { raw: frame, method: message.method, project_id: message.project_id, user: message.user };
          }
        }
        return undefined;
      },
      'the page to open its cloud WebSocket and send a handshake',
      options.timeoutMs ?? DEFAULT_WAIT_MS,
    );
  }

  /** The current cloud socket (the last one opened). */
  currentSocket(): PageSocket | undefined {
    return this.sockets[this.sockets.length - 1];
  }

  /** Resolves once the page has sent a frame holding `set` of `name` to `value` (as a string). */
  waitSent(name: string, value: string, timeoutMs = DEFAULT_WAIT_MS): Promise<string> {
    return this.waitSockets(
      () => {
        for (const socket of this.sockets) {
          for (const frame of socket.sent) {
            for (const line of frame.split('\n')) {
              const message = parseLine(line);
              if (message?.method === 'set' && message.name === name && String(message.value) === value) return line;
            }
          }
        }
        return undefined;
      },
      `the page to send set ${name}=${value}`,
      timeoutMs,
    );
  }

  /**
   * Makes the project set cloud variable `name` to `value`: writes `value` into its input
   * variable and starts its `when I receive [set …]` script. The project's block sets the
   * cloud variable; the VM hands the change to the page's cloud provider, which sends it.
   */
  async setCloud(name: string, value: string | number): Promise<void> {
    const trigger = triggerFor(name);
    const started = await this.page.evaluate(
      ([input, inputValue, broadcast]) => {
        const { scaffolding } = globalThis as unknown as PageGlobals;
        scaffolding.setVariable(input, inputValue);
        return scaffolding.vm.runtime.startHats('event_whenbroadcastreceived', { BROADCAST_OPTION: broadcast }).length;
      },
      [trigger.input, value, trigger.broadcast] as const,
    );
    if (started !== 1) throw new BrowserSupportError(`broadcast ${trigger.broadcast} started ${started} scripts, expected 1`);
  }

  /** The project's current value of the stage variable `name`. */
  async variable(name: string): Promise<unknown> {
    return this.page.evaluate((variableName) => (globalThis as unknown as PageGlobals).scaffolding.getVariable(variableName), name);
  }

  /** Resolves once the project's `name` equals `value` (compared as strings). */
  async waitForVariable(name: string, value: string | number, timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    try {
      await this.page.waitForFunction(
        ([variableName, expected]) => String((globalThis as unknown as PageGlobals).scaffolding.getVariable(variableName)) === expected,
        [name, String(value)] as const,
        { timeout: timeoutMs },
      );
    } catch (error) {
      const seen = await this.variable(name).catch(() => '<unreadable>');
      throw new BrowserSupportError(
        `the page's ${name} stayed ${JSON.stringify(seen)}, expected ${JSON.stringify(String(value))} (${String(error)}); sockets: ${JSON.stringify(this.sockets)}`,
      );
    }
  }

  async close(): Promise<void> {
    await this.page.close();
  }
}
