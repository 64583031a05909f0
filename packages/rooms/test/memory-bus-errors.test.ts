import { describe, expect, it } from 'vitest';
import { createMemoryEngine, type MemoryBusError } from '../src/index.ts';
import { Recorder, joinRequest, roomyLimits } from './contract/harness.ts';
import { until } from '@cloudvars/test-support/until';

/** A throwing listener on the single-node engine must not become an uncaughtException. */
describe('memory bus with a throwing listener', () => {
  it('reports the error through onError with CV_ERR_BUS_LISTENER and delivers the rest of the queue in order', async () => {
    const reports: MemoryBusError[] = [];
    const engine = createMemoryEngine({ limits: roomyLimits, onError: (report) => reports.push(report) });
    const recorder = new Recorder();
    engine.bus.listen({
      onEvent(event) {
        recorder.onEvent(event);
        if (event.value === 'boom') throw new Error('listener bug');
      },
      onResync: () => recorder.onResync(),
    });
    try {
      await engine.bus.subscribe(['r']);
      await engine.store.join(joinRequest('r', 'c1', 'alice'));
      // Three sets in one tick land in one drain: the throw sits in the middle of the batch.
      await Promise.all(['1', 'boom', '3'].map((value) => engine.store.set('r', 'c1', 'x', value)));
      await until(() => recorder.of('r').length === 3, { what: 'all three events' });
      expect(recorder.of('r').map((event) => event.value)).toEqual(['1', 'boom', '3']);
      expect(reports).toHaveLength(1);
      expect(reports[0]).toMatchObject({ code: 'CV_ERR_BUS_LISTENER', error: { message: 'listener bug' } });
      // The bus still works afterwards.
      expect(await engine.bus.probe(1_000)).toBe(true);
    } finally {
      await engine.close();
    }
  });
});
