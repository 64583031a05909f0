import { afterEach, expect, it } from 'vitest';
import { until } from '@cloudvars/test-support/until';
import type { RoomEngineFactory, RoomEngineUnderTest } from './harness.ts';
import { Recorder, freshRoom, joinRequest, roomyLimits } from './harness.ts';

/**
 * What every engine does with a misbehaving listener and after close(): one error type
 * (RoomEngineError codes) and one status callback, whichever the implementation.
 */
export function lifecycleContract(factory: RoomEngineFactory): void {
  const open: RoomEngineUnderTest[] = [];
  afterEach(async () => {
    for (const underTest of open.splice(0)) await underTest.cleanup();
  });

  async function engines(): Promise<RoomEngineUnderTest> {
    const underTest = await factory({ limits: roomyLimits, now: Date.now });
    open.push(underTest);
    return underTest;
  }

  it('refuses a second listener with CV_ERR_BUS_LISTENER_SET', async () => {
    const [engine] = (await engines()).engines;
    engine.bus.listen(new Recorder());
    expect(() => engine.bus.listen(new Recorder())).toThrow(expect.objectContaining({ code: 'CV_ERR_BUS_LISTENER_SET' }));
  });

  it('reports a throwing listener through onStatus (CV_ERR_BUS_LISTENER) and delivers the following events in order', async () => {
    const underTest = await engines();
    const [engine] = underTest.engines;
    const recorder = new Recorder();
    engine.bus.listen({
      onEvent(event) {
        recorder.onEvent(event);
        if (event.type === 'set' && event.value === '2') throw new Error('listener bug');
      },
      onResync: () => recorder.onResync(),
    });
    const room = freshRoom();
    await engine.bus.subscribe([room]);
    await engine.store.join(joinRequest(room, 'c1', 'alice'));
    // Sent together, so the throw sits in the middle of what the bus delivers.
    await Promise.all(['1', '2', '3'].map((value) => engine.store.set(room, 'c1', 'x', value)));
    await until(() => recorder.of(room).length === 3, { what: 'all three events' });
    expect(recorder.of(room).map((event) => event.value)).toEqual(['1', '2', '3']);
    const errors = underTest.statuses.filter((status) => status.type === 'error' && status.code === 'CV_ERR_BUS_LISTENER');
    expect(errors).toEqual([expect.objectContaining({ role: 'bus', error: expect.objectContaining({ message: 'listener bug' }) })]);
    expect(await engine.bus.probe(2_000)).toBe(true);
  });

  it('answers a probe pending at close with false instead of leaving it to its timeout', async () => {
    const [engine] = (await engines()).engines;
    expect(await engine.bus.probe(2_000)).toBe(true);
    const pending = engine.bus.probe(60_000);
    await engine.close();
    expect(await pending).toBe(false);
  });

  it('rejects store and bus calls after close with CV_ERR_ENGINE_CLOSED; probes answer false; not connected', async () => {
    const [engine] = (await engines()).engines;
    await until(() => engine.isConnected(), { what: 'the engine to connect' });
    await engine.close();
    expect(engine.isConnected()).toBe(false);
    await expect(engine.store.snapshot('r')).rejects.toMatchObject({ name: 'RoomEngineError', code: 'CV_ERR_ENGINE_CLOSED' });
    await expect(engine.store.set('r', 'c1', 'x', '1')).rejects.toMatchObject({ code: 'CV_ERR_ENGINE_CLOSED' });
    await expect(engine.bus.subscribe(['r'])).rejects.toMatchObject({ code: 'CV_ERR_ENGINE_CLOSED' });
    expect(await engine.bus.probe(1_000)).toBe(false);
  });
}
