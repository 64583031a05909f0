/**
 * A live gateway under thousands of random and malformed frames over many connections
 * (seeded, so a failure replays). Each connection's close code, received frames and the
 * store's final state are checked against the case's documented outcome; afterwards the
 * process still answers /healthz and a control room opened before the fuzz still works.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { joinedTogether, TestClient, until } from './support/client.ts';
import { closeOf, cloud, sendRaw } from './support/conformance.ts';
import { frameCount, FUZZ_MAX_PAYLOAD, FUZZ_MAX_VALUE_LENGTH, FUZZ_MAX_VARIABLES, fuzzCase, plan, type FuzzCase } from './support/fuzz-cases.ts';
import { membersAre, type RunningGateway } from './support/gateway.ts';
import { startTarget, type Target, type TargetKind } from './support/targets.ts';

const SEED = 20_261_126;
/** Connections opened at a time. */
const PARALLEL = 50;
/** Connections in all: about 3,000 frames in memory; fewer through Redis (each costs round trips). */
const CASES: ReadonlyArray<readonly [TargetKind, number]> = [
  ['memory', 500],
  ['redis', 150],
];

/** A case in a line, long strings cut. */
function summary(c: FuzzCase): string {
  return JSON.stringify(c, (_key, value: unknown) => (typeof value === 'string' && value.length > 40 ? `${value.slice(0, 40)}…(${value.length})` : value instanceof Uint8Array ? `<${value.length} bytes>` : value)).slice(0, 600);
}

/** A frame's messages, in a canonical order. */
function lines(frame: string): string[] {
  return frame.split('\n').sort();
}

function sorted(entries: ReadonlyArray<readonly [string, string]>): Array<readonly [string, string]> {
  return [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

describe.each(CASES)('fuzz (%s)', (kind, caseCount) => {
  let target: Target;
  let gw: RunningGateway;
  let control: [TestClient, TestClient];
  let roomCounter = 0;
  let framesSent = 0;
  const codes = new Map<string, number>();

  beforeAll(async () => {
    target = await startTarget(kind, {
      MAX_PAYLOAD_BYTES: String(FUZZ_MAX_PAYLOAD),
      MAX_VALUE_LENGTH: String(FUZZ_MAX_VALUE_LENGTH),
      MAX_VARIABLES: String(FUZZ_MAX_VARIABLES),
    });
    gw = target.gw;
    const a = await TestClient.join(target.url(), 'control', 'control-a', { [cloud('c')]: '0' });
    await membersAre(gw, 'control', 1);
    const b = await TestClient.join(target.url(), 'control', 'control-b', { [cloud('c')]: '0' });
    await b.waitFrames(1);
    control = [a, b];
  });
  afterAll(async () => {
    await target.stop();
  });

  /** One connection: send the case's frames, then check its outcome against the plan. */
  async function runCase(c: FuzzCase): Promise<void> {
    const room = `fz${++roomCounter}`;
    const p = plan(c, room);
    framesSent += frameCount(p);
    const client = await TestClient.connect(target.url(), { dialect: c.type === 'handshake' ? c.dialect : 'seed' });
    for (const frame of p.burst) sendRaw(client, frame);
    if (p.afterJoin.length > 0) {
      await until(async () => (await gw.engine.store.memberCount(room)) === 1 || client.closed !== null, { what: `the join of ${room}` });
      await until(() => client.frames.length >= p.received.length || client.closed !== null, { what: 'the corrections' });
      for (const frame of p.afterJoin) sendRaw(client, frame);
    }
    if (p.expect === null) {
      await until(async () => (await gw.engine.store.snapshot(room))?.seq === 1 || client.closed !== null, { what: `the marker set in ${room}` });
      await until(() => client.frames.length >= p.received.length || client.closed !== null, { what: 'the corrections' });
      expect(client.closed).toBeNull();
      // An echo of the marker would arrive before the server's answer to our close.
      client.close();
      expect((await closeOf(client)).code).toBe(1000);
    } else {
      expect((await closeOf(client)).code).toBe(p.expect);
    }
    const key = p.expect === null ? 'open' : String(p.expect);
    codes.set(key, (codes.get(key) ?? 0) + 1);
    // The store's order of variables is its own (a Redis hash): compare frames line by line as sets.
    const [first, ...rest] = client.frames;
    expect(first === undefined ? [] : [lines(first)]).toEqual(p.received.map(lines));
    const echoes = p.received.length === 0 ? client.frames : rest;
    expect(echoes.length).toBeLessThanOrEqual(p.allowedEcho === null ? 0 : 1);
    for (const echo of echoes) expect(echo).toBe(p.allowedEcho);
    const snapshot = await gw.engine.store.snapshot(room);
    if (p.stored === null) {
      expect(snapshot).toBeNull();
    } else {
      expect(sorted(snapshot?.variables ?? [])).toEqual(sorted(p.stored));
      expect(snapshot?.seq).toBe(p.markerStored ? 1 : 0);
    }
  }

  it('closes every malformed connection with its documented code and stays up for everyone else', async () => {
    // fc.sample rather than fc.assert: cases run PARALLEL at a time, and a failure report
    // names each failing case briefly instead of printing a whole batch.
    const cases = fc.sample(fuzzCase, { seed: SEED, numRuns: caseCount });
    const failures: string[] = [];
    for (let start = 0; start < cases.length; start += PARALLEL) {
      await Promise.all(
        cases.slice(start, start + PARALLEL).map((c, i) =>
          runCase(c).catch((error: unknown) => {
            failures.push(`case ${start + i}: ${error instanceof Error ? error.message.slice(0, 300) : String(error)} :: ${summary(c)}`);
          }),
        ),
      );
    }
    expect(failures).toEqual([]);
    // The run's size and spread are part of the claim: thousands of frames, every outcome class.
    expect(framesSent).toBeGreaterThan(caseCount * 4);
    for (const key of ['open', '4000', '4002', '1009']) expect(codes.get(key) ?? 0, key).toBeGreaterThan(caseCount / 100);

    expect((await fetch(`${gw.httpUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${target.url().replace(/^ws/, 'http')}healthz`)).status).toBe(200);
    const [a, b] = control;
    await joinedTogether(a, b, cloud('c'), '1');
    await joinedTogether(b, a, cloud('c'), '2');
    expect([a.closed, b.closed]).toEqual([null, null]);
  }, 60_000);
});
