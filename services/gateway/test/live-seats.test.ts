/**
 * Issue 18 item 7, deterministically: LIVE_VIEWERS_PER_ADDRESS and MAX_LIVE_VIEWERS are held
 * at admission, in the step that checks them. The 40-upgrades-at-once test in api-live.test.ts
 * shows it end to end but catches a race only when the upgrades interleave; here admissions
 * follow each other with no socket opened in between, which is exactly what counting only
 * open pages let through.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import pino from 'pino';
import { Counter, Gauge, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { LiveViewers, type LiveViewersOptions } from '../src/live/viewers.ts';

/** A request's TCP socket as admit() sees it: open until closed. */
class FakeTcp extends EventEmitter {
  destroyed = false;
  close(): void {
    this.destroyed = true;
    this.emit('close');
  }
}

const made: LiveViewers[] = [];
afterEach(() => {
  for (const viewers of made.splice(0)) viewers.stop();
});

function liveViewers(env: Record<string, string>): { viewers: LiveViewers; gauge: Gauge } {
  const registry = new Registry();
  const gauge = new Gauge({ name: 'seats', help: 'seats', registers: [registry] });
  const options = {
    // Admission reads only the settings: the engine and the hub are never reached.
    engine: undefined,
    hub: undefined,
    config: loadConfig(env),
    log: pino({ level: 'silent' }),
    gauge,
    clientErrors: new Counter({ name: 'errors', help: 'errors', labelNames: ['code'], registers: [registry] }),
    instanceId: 'test',
  } as unknown as LiveViewersOptions;
  const viewers = new LiveViewers(options);
  made.push(viewers);
  return { viewers, gauge };
}

const admit = (viewers: LiveViewers, address: string, tcp = new FakeTcp()): number => viewers.admit(address, tcp as unknown as Socket)?.status ?? 101;

describe('live page seats', () => {
  it('refuses the admission past LIVE_VIEWERS_PER_ADDRESS before any page opened, and seats the address again once one closes', async () => {
    const { viewers, gauge } = liveViewers({ LIVE_VIEWERS_PER_ADDRESS: '3' });
    const sockets = [new FakeTcp(), new FakeTcp(), new FakeTcp()];
    expect(sockets.map((tcp) => admit(viewers, '192.0.2.1', tcp))).toEqual([101, 101, 101]);
    expect(admit(viewers, '192.0.2.1')).toBe(429);
    expect(admit(viewers, '192.0.2.2')).toBe(101);
    expect((await gauge.get()).values[0]?.value).toBe(4);
    sockets[0]?.close();
    expect(admit(viewers, '192.0.2.1')).toBe(101);
    expect(admit(viewers, '192.0.2.1')).toBe(429);
  });

  it('refuses the admission past MAX_LIVE_VIEWERS whatever the address, and gives seats back on close', () => {
    const { viewers } = liveViewers({ MAX_LIVE_VIEWERS: '2', LIVE_VIEWERS_PER_ADDRESS: '10' });
    const first = new FakeTcp();
    expect([admit(viewers, '192.0.2.1', first), admit(viewers, '192.0.2.2')]).toEqual([101, 101]);
    expect(admit(viewers, '192.0.2.3')).toBe(503);
    first.close();
    expect(admit(viewers, '192.0.2.3')).toBe(101);
  });

  it('takes no seat for a socket already closed (it would never give it back)', () => {
    const { viewers } = liveViewers({ LIVE_VIEWERS_PER_ADDRESS: '1' });
    const gone = new FakeTcp();
    gone.destroyed = true;
    expect(admit(viewers, '192.0.2.1', gone)).toBe(503);
    expect(admit(viewers, '192.0.2.1')).toBe(101);
  });
});
