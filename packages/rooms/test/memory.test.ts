import type { EngineStatusEvent } from '../src/ports.ts';
import { createMemoryEngine } from '../src/index.ts';
import { describeRoomEngine } from './contract/describe-room-engine.ts';

// One process is the whole "cluster": both pods are the same engine.
describeRoomEngine('memory', async ({ limits, now }) => {
  const statuses: EngineStatusEvent[] = [];
  const engine = createMemoryEngine({ limits, now, onStatus: (event) => statuses.push(event) });
  return { engines: [engine, engine], statuses, cleanup: () => engine.close() };
});
