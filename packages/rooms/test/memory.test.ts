import { createMemoryEngine } from '../src/index.ts';
import { describeRoomEngine } from './contract/describe-room-engine.ts';

describeRoomEngine('memory', async ({ limits, now }) => {
  const engine = createMemoryEngine({ limits, now });
  return { engines: [engine, engine], cleanup: () => engine.close() };
});
