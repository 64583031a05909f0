/**
 * 4006 as Mist meets it (issue 17): an operator's User-Agent policy (BLOCKED_USER_AGENTS) closes
 * the bot with 4006 and the reason in the close frame, and sends no text frame first: Mist
 * stops on any frame that is not JSON before it reads the close. Mist then throws "Invalid user
 * agent" from its close handler, so the bot runs in a child process with an uncaughtException
 * hook, as a bot's author would catch it (support/mist-close-child.mjs).
 */
import { execFile } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, expect, it } from 'vitest';
import { until } from '@cloudvars/test-support/until';
import { startGateway, type RunningGateway } from './support/gateway.ts';

const CHILD = fileURLToPath(new URL('./support/mist-close-child.mjs', import.meta.url));

interface ChildReport {
  readonly frames: readonly string[];
  readonly close: { readonly code: number; readonly reason: string } | null;
  readonly uncaught: string | null;
  readonly errors: readonly string[];
}

let gateway: RunningGateway | null = null;
afterEach(async () => {
  await gateway?.stop();
  gateway = null;
});

it('closes a Mist bot whose User-Agent is blocked with 4006, the reason in the close frame and no text frame before it', async () => {
  gateway = await startGateway({ BLOCKED_USER_AGENTS: 'spam-bot' });
  const project = String(randomInt(100_000_000, 1_000_000_000));
  const { stdout } = await promisify(execFile)(process.execPath, [CHILD, gateway.url, project, 'spam-bot (no contact)']);
  const report = JSON.parse(stdout) as ChildReport;
  expect(report.frames).toEqual([]);
  expect(report.close?.code).toBe(4006);
  expect(report.close?.reason).toMatch(/^Identify yourself: send a User-Agent naming your bot and a contact/);
  // Mist's own reaction to 4006, as docs/PROTOCOL.md's per-client table says: it stops and throws.
  expect(report.uncaught).toMatch(/^Invalid user agent/);
  expect(report.errors).toEqual([expect.stringMatching(/^Invalid user agent/)]);
});

it('lets a Mist bot whose User-Agent names no blocked word in, under the same policy', async () => {
  gateway = await startGateway({ BLOCKED_USER_AGENTS: 'spam-bot' });
  const project = String(randomInt(100_000_000, 1_000_000_000));
  const gw = gateway;
  const child = promisify(execFile)(process.execPath, [CHILD, gw.url, project, 'my-bot/1.0 (tests of this repository)']);
  await until(async () => (await gw.engine.store.memberCount(project)) === 1, { what: 'the bot in its room', timeoutMs: 15_000 });
  await gw.stop();
  const report = JSON.parse((await child).stdout) as ChildReport;
  // Closed by the gateway stopping, not by the policy: Mist reconnects, no throw.
  expect(report.close).not.toBeNull();
  expect(report.close?.code).not.toBe(4006);
  expect(report.uncaught).toBeNull();
});
