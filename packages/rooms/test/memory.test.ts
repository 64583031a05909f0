import { describe, expect, it } from 'vitest';
import { createMemoryEngine } from '../src/index.ts';
import { describeRoomEngine } from './contract/describe-room-engine.ts';
import { roomyLimits } from './contract/harness.ts';

// One process is the whole "cluster": both pods are the same engine.
describeRoomEngine('memory', async ({ limits, now }) => {
  const engine = createMemoryEngine({ limits, now });
  return { engines: [engine, engine], cleanup: () => engine.close() };
});

describe('memory engine lifecycle', () => {
  it('rejects store and bus calls after close with CV_ERR_ENGINE_CLOSED, and probes answer false', async () => {
    const engine = createMemoryEngine({ limits: roomyLimits });
    expect(engine.isConnected()).toBe(true);
    await engine.close();
    expect(engine.isConnected()).toBe(false);
    await expect(engine.store.snapshot('r')).rejects.toMatchObject({ code: 'CV_ERR_ENGINE_CLOSED' });
    await expect(engine.bus.subscribe(['r'])).rejects.toMatchObject({ code: 'CV_ERR_ENGINE_CLOSED' });
    expect(await engine.bus.probe(1_000)).toBe(false);
  });

  it('answers a probe pending at close with false instead of leaving it to its timeout', async () => {
    const engine = createMemoryEngine({ limits: roomyLimits });
    const pending = engine.bus.probe(60_000);
    await engine.close();
    expect(await pending).toBe(false);
  });

  it('refuses a second listener with CV_ERR_BUS_LISTENER_SET', async () => {
    const engine = createMemoryEngine({ limits: roomyLimits });
    const listener = { onEvent: () => undefined, onResync: () => undefined };
    engine.bus.listen(listener);
    expect(() => engine.bus.listen(listener)).toThrow(expect.objectContaining({ code: 'CV_ERR_BUS_LISTENER_SET' }));
    await engine.close();
  });
});
