/**
 * The gateway's HTTP side: health and readiness (through a drain), metrics, the home page,
 * unknown paths, WebSocket upgrades on any path, and client addresses behind a proxy.
 */
import { once } from 'node:events';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { joinedTogether, TestClient, until, upgradeStatus } from './support/client.ts';
import { closeOf, cloud, handshakeOf, metricValue, refusal, socketWithHeaders } from './support/conformance.ts';
import { membersAre, startGateway, type RunningGateway } from './support/gateway.ts';

const VARS = { [cloud('a')]: '0' };
const running: RunningGateway[] = [];

async function gateway(env: Record<string, string> = {}): Promise<RunningGateway> {
  const started = await startGateway(env);
  running.push(started);
  return started;
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((started) => started.stop()));
});

async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.json() };
}

describe('health and readiness', () => {
  it('answers GET /healthz with 200', async () => {
    const gw = await gateway();
    expect(await getJson(`${gw.httpUrl}/healthz`)).toEqual({ status: 200, body: { status: 'ok' } });
  });

  it('answers /readyz 200, then 503 "draining" while clients are still connected, then closes them with 1012', async () => {
    // Long enough that one /readyz round trip surely fits in it, even on a loaded machine.
    const gw = await gateway({ DRAIN_DELAY_MS: '1000' });
    expect(await getJson(`${gw.httpUrl}/readyz`)).toEqual({ status: 200, body: { status: 'ready' } });
    const a = await TestClient.join(gw.url, 'drain', 'alpha', VARS);
    await membersAre(gw, 'drain', 1);
    const b = await TestClient.join(gw.url, 'drain', 'bravo', VARS);
    await b.waitFrames(1);

    const drained = gw.drain();
    const readiness = await getJson(`${gw.httpUrl}/readyz`);
    const connectedWhenNotReady = a.closed === null && b.closed === null;
    expect(readiness).toEqual({ status: 503, body: { status: 'not-ready', reason: 'draining' } });
    expect(connectedWhenNotReady).toBe(true);
    expect((await closeOf(a)).code).toBe(1012);
    expect((await closeOf(b)).code).toBe(1012);
    await drained;
  });

  it('finishes its drain although a connection never sent a request (a browser opens sockets ahead of requests)', async () => {
    const gw = await gateway();
    const silent = connect(Number(new URL(gw.httpUrl).port), '127.0.0.1');
    await once(silent, 'connect');
    const closedByServer = once(silent, 'close');
    // Without the gateway closing it, Node's server.close() waits for such a socket until its headers timeout.
    await gw.drain();
    await closedByServer;
  });
});

describe('metrics', () => {
  it('exposes connections, closes by code and accepted sets', async () => {
    const gw = await gateway();
    const scrape = async (): Promise<string> => (await fetch(gw.metricsUrl)).text();
    const a = await TestClient.join(gw.url, 'metrics', 'alpha', VARS);
    await membersAre(gw, 'metrics', 1);
    const b = await TestClient.join(gw.url, 'metrics', 'bravo', VARS);
    await b.waitFrames(1);
    expect(metricValue(await scrape(), 'cloudvars_connections')).toBe(2);
    expect(metricValue(await scrape(), 'cloudvars_closes_total{code="4000"}')).toBeUndefined();

    await joinedTogether(a, b, cloud('a'), '1');
    await until(async () => metricValue(await scrape(), 'cloudvars_sets_total') === 1, { what: 'one set counted' });

    expect((await refusal(gw.url, ['not json'])).code).toBe(4000);
    await until(async () => metricValue(await scrape(), 'cloudvars_closes_total{code="4000"}') === 1, { what: 'the 4000 close counted' });
    expect(metricValue(await scrape(), 'cloudvars_connections')).toBe(2);
  });
});

describe('the metrics port', () => {
  it('serves /metrics on METRICS_PORT only, and a scrape changes nothing the next scrape sees', async () => {
    const gw = await gateway();
    expect((await fetch(`${gw.httpUrl}/metrics`)).status).toBe(404);
    const lagCount = async (): Promise<number> => metricValue(await (await fetch(gw.metricsUrl)).text(), 'cloudvars_event_loop_lag_seconds_count') ?? 0;
    // The lag is sampled once a second: wait for two samples, then scrape in a burst.
    await until(async () => (await lagCount()) >= 2, { what: 'two lag samples', timeoutMs: 10_000 });
    const counts: number[] = [];
    for (let i = 0; i < 5; i++) counts.push(await lagCount());
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    expect(counts[0]).toBeGreaterThanOrEqual(2);
  });
});

describe('client close codes', () => {
  it('counts the client close codes 1000, 1001 and 4100 by code', async () => {
    const gw = await gateway();
    for (const [index, code] of [1000, 1001, 4100].entries()) {
      const client = await TestClient.join(gw.url, 'closing', `client${index}`, VARS);
      await membersAre(gw, 'closing', 1);
      client.close(code);
      await membersAre(gw, 'closing', 0);
    }
    const scrape = async (): Promise<string> => (await fetch(gw.metricsUrl)).text();
    await until(async () => metricValue(await scrape(), 'cloudvars_closes_total{code="4100"}') === 1, { what: 'the 4100 close counted' });
    const exposition = await scrape();
    expect(metricValue(exposition, 'cloudvars_closes_total{code="1000"}')).toBe(1);
    expect(metricValue(exposition, 'cloudvars_closes_total{code="1001"}')).toBe(1);
  });
});

describe('routes', () => {
  it('serves the HTML home page on GET /', async () => {
    const gw = await gateway();
    const response = await fetch(`${gw.httpUrl}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect((await response.text()).toLowerCase()).toContain('<html');
  });

  it('answers GET /nope with 404', async () => {
    const gw = await gateway();
    expect((await fetch(`${gw.httpUrl}/nope`)).status).toBe(404);
  });

  it('accepts WebSocket clients on any path, in the same rooms as those on /', async () => {
    const gw = await gateway();
    const root = await TestClient.join(gw.url, 'paths', 'root', VARS);
    await membersAre(gw, 'paths', 1);
    const deep = await TestClient.join(`${gw.url}any/path?x=1`, 'paths', 'deep', VARS);
    await deep.waitFrames(1);
    await joinedTogether(root, deep, cloud('a'), '1');
    await joinedTogether(deep, root, cloud('a'), '2');
  });
});

describe('compression', () => {
  it('declines permessage-deflate even when the client offers it', async () => {
    const gw = await gateway();
    const offering = new WebSocket(gw.url, { perMessageDeflate: true });
    await new Promise<void>((resolve, reject) => {
      offering.once('open', () => resolve());
      offering.once('error', reject);
    });
    expect(offering.extensions).toBe('');
    offering.close();
  });
});

describe('client addresses', () => {
  const handshake = (username: string): string => JSON.stringify(handshakeOf('seed', 'proxied', username, VARS));

  it('counts each X-Forwarded-For address separately with TRUST_PROXY=true (MAX_CONNECTIONS_PER_ADDRESS=1)', async () => {
    const gw = await gateway({ TRUST_PROXY: 'true', MAX_CONNECTIONS_PER_ADDRESS: '1' });
    const first = await socketWithHeaders(gw.url, { 'x-forwarded-for': '203.0.113.1' });
    first.socket.send(handshake('first'));
    await membersAre(gw, 'proxied', 1);
    const second = await socketWithHeaders(gw.url, { 'x-forwarded-for': '203.0.113.2' });
    second.socket.send(handshake('second'));
    await membersAre(gw, 'proxied', 2);
    expect((await upgradeStatus(gw.url, { 'x-forwarded-for': '203.0.113.1' })).status).toBe(429);
    expect([first.code(), second.code()]).toEqual([null, null]);
  });

  it('counts IPv6 addresses by their /64 (IPV6_PREFIX_LENGTH): a second address of the same /64 is refused, another /64 is not', async () => {
    const gw = await gateway({ TRUST_PROXY: 'true', MAX_CONNECTIONS_PER_ADDRESS: '1' });
    const first = await socketWithHeaders(gw.url, { 'x-forwarded-for': '2001:db8:a:b::1' });
    first.socket.send(handshake('first'));
    await membersAre(gw, 'proxied', 1);
    expect((await upgradeStatus(gw.url, { 'x-forwarded-for': '2001:db8:a:b:ffff::2' })).status).toBe(429);
    const other = await socketWithHeaders(gw.url, { 'x-forwarded-for': '2001:db8:a:c::1' });
    other.socket.send(handshake('other'));
    await membersAre(gw, 'proxied', 2);
    expect([first.code(), other.code()]).toEqual([null, null]);
  });

  it('ignores X-Forwarded-For without TRUST_PROXY: every connection counts as the peer address', async () => {
    const gw = await gateway({ MAX_CONNECTIONS_PER_ADDRESS: '1' });
    const first = await socketWithHeaders(gw.url, { 'x-forwarded-for': '203.0.113.1' });
    first.socket.send(handshake('first'));
    await membersAre(gw, 'proxied', 1);
    expect((await upgradeStatus(gw.url, { 'x-forwarded-for': '203.0.113.2' })).status).toBe(429);
  });
});
