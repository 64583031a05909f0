/**
 * The outbox and the pod's flush scheduler without sockets: which bytes each client is
 * written, and when.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { BUSY_TICKS, FlushScheduler, Outbox, type FrameSink, type OutboxReports } from '../src/ws/outbox.ts';
import { CROSSING_WINDOW_MS } from '../src/ws/own-writes.ts';

class RecordingSink implements FrameSink {
  readonly readyState = WebSocket.OPEN;
  readonly bufferedAmount = 0;
  readonly frames: Array<{ data: string | Buffer; binary: boolean | undefined }> = [];
  send(data: string | Buffer, options: { readonly binary: boolean }): void {
    this.frames.push({ data, binary: options.binary });
  }
  get texts(): string[] {
    return this.frames.map(({ data }) => data.toString());
  }
}

const owner: OutboxReports = { slowConsumer: () => undefined };

function client(scheduler: FlushScheduler): { sink: RecordingSink; outbox: Outbox } {
  const sink = new RecordingSink();
  return { sink, outbox: new Outbox(sink, scheduler, owner) };
}

describe('outbox frames', () => {
  it('writes the same bytes to every client owed the same updates, and text frames only', () => {
    const scheduler = new FlushScheduler(1024 * 1024, 10_000);
    const [a, b, c] = [client(scheduler), client(scheduler), client(scheduler)];
    // Messages are shared strings (one EventText per event), as the room hub hands them out.
    const x = '{"method":"set","name":"☁ x","value":"1"}';
    const y = '{"method":"set","name":"☁ y","value":"2"}';
    for (const { outbox } of [a, b]) {
      outbox.put('☁ x', x);
      outbox.put('☁ y', y);
    }
    c.outbox.put('☁ y', y); // c wrote x itself: it is owed y only
    scheduler.flushAll();
    expect([a.sink.texts, b.sink.texts, c.sink.texts]).toEqual([[`${x}\n${y}`], [`${x}\n${y}`], [y]]);
    expect(b.sink.frames[0]?.data).toBe(a.sink.frames[0]?.data);
    expect(c.sink.frames[0]?.data).not.toBe(a.sink.frames[0]?.data);
    expect([...a.sink.frames, ...b.sink.frames, ...c.sink.frames].every(({ binary }) => binary === false)).toBe(true);
  });

  it('does not share bytes between clients whose updates differ only in order or in one message', () => {
    const scheduler = new FlushScheduler(1024 * 1024, 10_000);
    const [a, b, c] = [client(scheduler), client(scheduler), client(scheduler)];
    a.outbox.put('1', 'one');
    a.outbox.put('2', 'two');
    b.outbox.put('2', 'two');
    b.outbox.put('1', 'one');
    c.outbox.put('2', 'two');
    c.outbox.put('1', 'uno');
    scheduler.flushAll();
    expect([a.sink.texts, b.sink.texts, c.sink.texts]).toEqual([['one\ntwo'], ['two\none'], ['two\nuno']]);
  });
});

describe('outbox batches', () => {
  it('sends nothing for a batch its own writes emptied, and what came after them', () => {
    const scheduler = new FlushScheduler(1024 * 1024, 10_000);
    const [emptied, refilled] = [client(scheduler), client(scheduler)];
    emptied.outbox.put('x', 'old');
    emptied.outbox.drop('x');
    refilled.outbox.put('x', 'old');
    refilled.outbox.drop('x');
    refilled.outbox.put('y', 'new');
    scheduler.flushAll();
    expect([emptied.sink.texts, refilled.sink.texts]).toEqual([[], ['new']]);
    // The next batch starts afresh.
    emptied.outbox.put('x', 'later');
    scheduler.flushAll();
    expect(emptied.sink.texts).toEqual(['later']);
  });

  it('keeps the newest value of each variable, in the order of the newest updates, from the second variable on', () => {
    const scheduler = new FlushScheduler(1024 * 1024, 10_000);
    const { sink, outbox } = client(scheduler);
    outbox.put('x', 'x1');
    outbox.put('x', 'x2');
    outbox.put('y', 'y1');
    outbox.put('x', 'x3');
    outbox.drop('y');
    outbox.put('z', 'z1');
    scheduler.flushAll();
    expect(sink.texts).toEqual(['x3\nz1']);
  });

  it('counts the frames and messages of a flush once, when it ends', () => {
    const counts: Array<[number, number]> = [];
    const scheduler = new FlushScheduler(1024 * 1024, 10_000, 0, (frames, messages) => counts.push([frames, messages]));
    const [a, b] = [client(scheduler), client(scheduler)];
    a.outbox.put('x', 'x1');
    b.outbox.put('x', 'x1');
    b.outbox.put('y', 'y1');
    scheduler.flushAll();
    expect(counts).toEqual([[2, 3]]);
  });
});

describe('flush scheduler', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('with no interval, writes at the end of every turn', () => {
    const scheduler = new FlushScheduler(1024 * 1024, 10_000, 0);
    const { sink, outbox } = client(scheduler);
    outbox.put('x', 'a');
    vi.advanceTimersToNextTimer();
    outbox.put('x', 'b');
    vi.advanceTimersToNextTimer();
    expect(sink.texts).toEqual(['a', 'b']);
  });

  it('forgets send times older than the crossing window once a client was sent many names', () => {
    const scheduler = new FlushScheduler(1024 * 1024, 10_000);
    const { outbox } = client(scheduler);
    for (let i = 0; i < 300; i++) outbox.put(`old ${i}`, 'x');
    scheduler.flushAll();
    const sentAt = outbox.lastSent('old 0');
    expect(sentAt).toBeGreaterThan(Number.NEGATIVE_INFINITY);
    vi.advanceTimersByTime(CROSSING_WINDOW_MS + 1);
    outbox.put('new', 'x');
    scheduler.flushAll();
    // Forgotten: the same answer as before for convergence (not within the window).
    expect(outbox.lastSent('old 0')).toBe(Number.NEGATIVE_INFINITY);
    expect(outbox.lastSent('new')).toBe(performance.now());
  });

  /** Moves the fake clock to the start of the next tick of `tickMs`. */
  function toNextTick(tickMs: number): void {
    vi.advanceTimersByTime(tickMs - (performance.now() % tickMs));
  }

  it('writes a lone update at once, and gathers the updates that follow it within the tick into one frame at the next tick', () => {
    const scheduler = new FlushScheduler(1024 * 1024, 10_000, 20);
    const { sink, outbox } = client(scheduler);
    toNextTick(20);
    outbox.put('x', 'first');
    vi.advanceTimersByTime(0); // the end of the turn (setImmediate)
    expect(sink.texts).toEqual(['first']);
    outbox.put('x', 'second');
    outbox.put('y', 'third');
    vi.advanceTimersByTime(0);
    vi.advanceTimersByTime(5);
    outbox.put('x', 'fourth'); // supersedes 'second' within the tick
    vi.advanceTimersByTime(14); // 19 ms into the tick: still waiting
    expect(sink.texts).toEqual(['first']);
    vi.advanceTimersByTime(1); // the next tick
    expect(sink.texts).toEqual(['first', 'third\nfourth']);
    // Still busy BUSY_TICKS - 1 ticks after its last frame: an update waits for the next tick.
    for (let i = 1; i < BUSY_TICKS; i++) toNextTick(20);
    outbox.put('x', 'fifth');
    vi.advanceTimersByTime(0);
    expect(sink.texts).toEqual(['first', 'third\nfourth']);
    toNextTick(20);
    expect(sink.texts).toEqual(['first', 'third\nfourth', 'fifth']);
    // BUSY_TICKS quiet ticks: idle again, the next update leaves at once.
    for (let i = 0; i < BUSY_TICKS; i++) toNextTick(20);
    outbox.put('x', 'sixth');
    vi.advanceTimersByTime(0);
    expect(sink.texts).toEqual(['first', 'third\nfourth', 'fifth', 'sixth']);
  });

  it('writes each client at most one frame per tick, whatever the other clients do', () => {
    const scheduler = new FlushScheduler(1024 * 1024, 10_000, 20);
    const [busy, idle] = [client(scheduler), client(scheduler)];
    toNextTick(20);
    busy.outbox.put('x', '1');
    vi.advanceTimersByTime(0);
    busy.outbox.put('x', '2');
    vi.advanceTimersByTime(3);
    // The turns keep flushing for other clients: the busy one still waits for the tick.
    idle.outbox.put('y', 'lone');
    vi.advanceTimersByTime(0);
    expect([busy.sink.texts, idle.sink.texts]).toEqual([['1'], ['lone']]);
    busy.outbox.put('x', '3');
    toNextTick(20);
    expect([busy.sink.texts, idle.sink.texts]).toEqual([['1', '3'], ['lone']]);
    // Written at this tick's start: what follows in this tick waits for the next one.
    busy.outbox.put('x', '4');
    vi.advanceTimersByTime(0);
    expect(busy.sink.texts).toEqual(['1', '3']);
    toNextTick(20);
    expect(busy.sink.texts).toEqual(['1', '3', '4']);
  });

  it('flushAll (the drain) writes the clients waiting for the tick too', () => {
    const scheduler = new FlushScheduler(1024 * 1024, 10_000, 20);
    const { sink, outbox } = client(scheduler);
    toNextTick(20);
    outbox.put('x', 'first');
    vi.advanceTimersByTime(0);
    outbox.put('x', 'second');
    scheduler.flushAll();
    expect(sink.texts).toEqual(['first', 'second']);
    expect(vi.getTimerCount()).toBe(0); // the tick timer went with it
  });
});
