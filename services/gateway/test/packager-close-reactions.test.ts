/**
 * The Packager's column of docs/PROTOCOL.md's reaction table ("Close codes and text frames,
 * per client") is what the real Packager does: a project packaged by npm
 * `@turbowarp/packager` and played in Chromium, against a WebSocket server that closes its
 * first connection after the handshake with each code the table lists. A cell saying
 * "retry" must be followed by a second connection; one saying "stop" by the page's own
 * "not reconnecting" line (awaited, never a sleep). 1006 is a refused upgrade (HTTP 429).
 */
import type { AddressInfo } from 'node:net';
import { launchChromium, serveHtml, ScratchPlayer, type Chromium, type HtmlServer } from '@cloudvars/test-support/browser';
import { packageScratchProject } from '@cloudvars/test-support/packager';
import { buildScratchProject } from '@cloudvars/test-support/scratch-project';
import { until } from '@cloudvars/test-support/until';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { CLIENTS, closeCodeTables, codesOf } from './support/protocol-tables.ts';

const WAIT_MS = 20_000;
const PACKAGER_COLUMN = CLIENTS.indexOf('Packager') + 1;
/** The close code for a path `/<code>`; 1006 means: refuse the upgrade. */
const REFUSED_UPGRADE = 1006;

type Reaction = 'retry' | 'stop';

/** Each code of the reaction table with the Packager's reaction, as the table says it. */
function documentedReactions(): { code: number; reaction: Reaction }[] {
  const rows = closeCodeTables().reactions.rows;
  return rows.flatMap((row) => {
    const cell = row[PACKAGER_COLUMN] ?? '';
    const reaction: Reaction | null = cell.startsWith('retry') ? 'retry' : cell.startsWith('stop') ? 'stop' : null;
    return reaction === null ? [] : codesOf(row).map((code) => ({ code, reaction }));
  });
}

function codeOf(url: string | undefined): number {
  return Number((url ?? '/').slice(1));
}

/**
 * Closes the first connection on each path `/<code>` after its handshake with that code (on
 * `/1006`, refuses the first upgrade with HTTP 429 instead), and keeps later ones open.
 * Counts the attempts on each path.
 */
class ClosingServer {
  readonly attempts = new Map<number, number>();
  private readonly server: WebSocketServer;

  private constructor() {
    this.server = new WebSocketServer({
      port: 0,
      host: '127.0.0.1',
      verifyClient: (info, done) => {
        const code = codeOf(info.req.url);
        // A refused upgrade has no connection event: its attempts are counted here.
        if (code === REFUSED_UPGRADE && this.attempt(code) === 1) done(false, 429, 'Too Many Requests', { 'retry-after': '60' });
        else done(true);
      },
    });
    this.server.on('connection', (socket: WebSocket, request) => {
      const code = codeOf(request.url);
      if (code !== REFUSED_UPGRADE && this.attempt(code) === 1) socket.once('message', () => socket.close(code));
    });
  }

  static async start(): Promise<ClosingServer> {
    const self = new ClosingServer();
    await new Promise<void>((resolve) => self.server.once('listening', resolve));
    return self;
  }

  /** Counts an attempt on `code`'s path; returns how many there were. */
  private attempt(code: number): number {
    const seen = (this.attempts.get(code) ?? 0) + 1;
    this.attempts.set(code, seen);
    return seen;
  }

  url(code: number): string {
    return `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}/${code}`;
  }

  async stop(): Promise<void> {
    for (const client of this.server.clients) client.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

describe("the Packager's close-code reactions, as PROTOCOL.md's table says", () => {
  const project = buildScratchProject();
  let chromium: Chromium;
  let server: ClosingServer;
  const pages: HtmlServer[] = [];

  beforeAll(async () => {
    [chromium, server] = await Promise.all([launchChromium(), ClosingServer.start()]);
  });

  afterAll(async () => {
    await chromium?.close();
    for (const page of pages) await page.close();
    await server?.stop();
  });

  const reactions = documentedReactions();

  it('has a reaction of the Packager for the codes that decide whether it stays', () => {
    const codes = reactions.map(({ code }) => code);
    for (const code of [REFUSED_UPGRADE, 1012, 4000, 4002, 4003, 4004]) expect(codes, String(code)).toContain(code);
  });

  for (const { code, reaction } of reactions) {
    it(`${reaction === 'retry' ? 'reconnects after' : 'stops on'} ${code}`, { timeout: 60_000 }, async () => {
      const { html } = await packageScratchProject(project, { cloudHost: server.url(code), projectId: `close-${code}` });
      const page = await serveHtml(html);
      pages.push(page);
      const player = await ScratchPlayer.open(chromium, page.url);
      const logged: string[] = [];
      player.page.on('console', (message) => logged.push(message.text()));
      try {
        if (reaction === 'retry') {
          await until(() => (server.attempts.get(code) ?? 0) >= 2, { timeoutMs: WAIT_MS, what: `a second connection after ${code}` });
        } else {
          await until(() => logged.some((line) => line.includes('not reconnecting')), {
            timeoutMs: WAIT_MS,
            what: `the Packager's "not reconnecting" after ${code}`,
          });
          expect(server.attempts.get(code)).toBe(1);
        }
      } finally {
        await player.close();
      }
    });
  }
});
