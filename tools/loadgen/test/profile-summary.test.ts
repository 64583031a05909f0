import { describe, expect, it } from 'vitest';
import { categoryOf, moduleOf, summarize } from '../src/bench/profile-summary.ts';

const frame = (functionName: string, url = '', lineNumber = 0) => ({ functionName, url, lineNumber });
const IOREDIS = 'file:///w/node_modules/.pnpm/ioredis@5.8.0/node_modules/ioredis/built/Pipeline.js';
const WS = 'file:///w/node_modules/.pnpm/ws@8.18.3/node_modules/ws/lib/sender.js';
const OUTBOX = 'file:///w/services/gateway/dist/ws/outbox.js';
const PEER = 'file:///tmp/cloudvars-peer-Ab12/src/server.js';

describe('profile categories', () => {
  it("names workspace files in source or build, and the peer's files in its temporary copy", () => {
    expect(moduleOf(OUTBOX, 'flush')).toBe('services/gateway/dist/ws/outbox.js');
    expect(moduleOf(PEER, 'sendBuffered')).toBe('peer src/server.js');
    expect(moduleOf(IOREDIS, 'write')).toBe('ioredis');
  });

  it('charges a socket write to the connection it serves: Redis under ioredis, else the clients', () => {
    const stream = [frame('writevGeneric', 'node:internal/stream_base_commons'), frame('Writable.uncork', 'node:internal/streams/writable')];
    expect(categoryOf([frame('writeUtf8String'), ...stream, frame('write', IOREDIS)])).toBe('Redis socket: write system calls');
    expect(categoryOf([frame('writev'), ...stream, frame('sendFrame', WS), frame('flush', OUTBOX)])).toBe('client sockets: write system calls');
    expect(categoryOf([...stream, frame('sendFrame', WS)])).toBe('client sockets: node stream write path');
    expect(categoryOf([...stream, frame('write', IOREDIS)])).toBe('Redis client (ioredis, its stream calls included)');
    expect(categoryOf([frame('flush', OUTBOX)])).toBe('gateway ws/outbox');
    expect(categoryOf([frame('sendBuffered', PEER)])).toBe('peer src/server.js');
    expect(categoryOf([frame('(garbage collector)')])).toBe('garbage collection');
  });

  it("summarises self time by category and the application's inclusive time, inside the window only", () => {
    const profile = {
      startTime: 1000,
      nodes: [
        { id: 1, callFrame: frame('(root)'), children: [2, 5] },
        { id: 2, callFrame: frame('flush', OUTBOX, 61), children: [3] },
        { id: 3, callFrame: frame('sendFrame', WS), children: [4] },
        { id: 4, callFrame: frame('writev') },
        { id: 5, callFrame: frame('(idle)') },
      ],
      // t = 1010 (flush), 1020 (writev), 1030 (writev), 1040 (idle), 5000 (outside the window)
      samples: [2, 4, 4, 5, 4],
      timeDeltas: [10, 10, 10, 10, 3960],
    };
    const s = summarize(profile, [1000, 2000]);
    expect(s.samples).toBe(3);
    expect(s.categories).toEqual([
      { name: 'client sockets: write system calls', share: 2 / 3 },
      { name: 'gateway ws/outbox', share: 1 / 3 },
    ]);
    expect(s.inclusive).toEqual([{ name: 'flush services/gateway/dist/ws/outbox.js:62', share: 1 }]);
  });
});
