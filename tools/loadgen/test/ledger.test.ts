import { describe, expect, it } from 'vitest';
import { Ledger, type Member } from '../src/ledger.ts';

function member(index: number, variable: string, roomIndex = 0): Member & { isOpen: boolean } {
  return {
    index,
    roomIndex,
    variable,
    view: new Map([
      ['☁ v0', '0'],
      ['☁ v1', '0'],
    ]),
    lastSeq: new Map(),
    sendTimes: [],
    isOpen: true,
  };
}

function windowed(members: Member[]): Ledger {
  const ledger = new Ledger(members);
  ledger.windowStartUs = 0;
  return ledger;
}

describe('Ledger', () => {
  it('counts a gap in a sender sequence as superseded and the rest as delivered', () => {
    const a = member(0, '☁ v0');
    const b = member(1, '☁ v0');
    const c = member(2, '☁ v1');
    const ledger = windowed([a, b, c]);
    const sent = [10, 20, 30].map((t) => ledger.recordSend(a, t));
    ledger.recordReceive(b, '☁ v0', sent[0] ?? '', 15);
    ledger.recordReceive(b, '☁ v0', sent[2] ?? '', 35);
    for (const v of sent) ledger.recordReceive(c, '☁ v0', v, 40);
    expect(ledger.totals()).toMatchObject({ sent: 3, expected: 6, delivered: 5, superseded: 1, lost: 0, unaccounted: 0, roomsConverged: 1, rooms: 1 });
    expect(ledger.latency.count).toBe(5);
    expect(ledger.latency.max).toBe(30);
  });

  it("counts a sender's missing last set as superseded when the room converged", () => {
    // a and b write the same variable; store order a0, b0. b's own write drops a0 for b.
    const a = member(0, '☁ v0');
    const b = member(1, '☁ v0');
    const c = member(2, '☁ v1');
    const ledger = windowed([a, b, c]);
    const a0 = ledger.recordSend(a, 10);
    const b0 = ledger.recordSend(b, 11);
    ledger.recordReceive(c, '☁ v0', a0, 20);
    ledger.recordReceive(c, '☁ v0', b0, 21);
    ledger.recordReceive(a, '☁ v0', b0, 21);
    expect(ledger.allConverged()).toBe(true);
    expect(ledger.totals()).toMatchObject({ expected: 4, delivered: 3, superseded: 1, lost: 0, unaccounted: 0, roomsConverged: 1 });
  });

  it('counts missing last sets as lost when the room did not converge', () => {
    const a = member(0, '☁ v0');
    const b = member(1, '☁ v0');
    const c = member(2, '☁ v1');
    const ledger = windowed([a, b, c]);
    const a0 = ledger.recordSend(a, 10);
    const b0 = ledger.recordSend(b, 11);
    ledger.recordReceive(c, '☁ v0', a0, 20);
    ledger.recordReceive(a, '☁ v0', b0, 21);
    expect(ledger.converged(0)).toBe(false);
    expect(ledger.totals()).toMatchObject({ expected: 4, delivered: 2, superseded: 0, lost: 2, unaccounted: 0, roomsConverged: 0 });
  });

  it('flags a set older than one already received from the same sender as reordered', () => {
    const a = member(0, '☁ v0');
    const b = member(1, '☁ v1');
    const ledger = windowed([a, b]);
    const s0 = ledger.recordSend(a, 10);
    const s1 = ledger.recordSend(a, 20);
    ledger.recordReceive(b, '☁ v0', s1, 25);
    ledger.recordReceive(b, '☁ v0', s0, 26);
    expect(ledger.totals()).toMatchObject({ delivered: 1, superseded: 1, reordered: 1 });
  });

  it('expects nothing for sets outside the window and counts their deliveries apart', () => {
    const a = member(0, '☁ v0');
    const b = member(1, '☁ v1');
    const ledger = new Ledger([a, b]);
    const before = ledger.recordSend(a, 10);
    ledger.windowStartUs = 100;
    ledger.windowEndUs = 200;
    const inside = ledger.recordSend(a, 150);
    const after = ledger.recordSend(a, 250);
    for (const v of [before, inside, after]) ledger.recordReceive(b, '☁ v0', v, 300);
    expect(ledger.totals()).toMatchObject({ sent: 1, expected: 1, delivered: 1, outsideWindow: 2, superseded: 0, lost: 0 });
  });

  it('leaves pairs whose receiver closed unaccounted, and ignores values it did not stamp', () => {
    const a = member(0, '☁ v0');
    const b = member(1, '☁ v1');
    const ledger = windowed([a, b]);
    ledger.recordSend(a, 10);
    ledger.recordReceive(b, '☁ v1', '0', 11);
    b.isOpen = false;
    expect(ledger.totals()).toMatchObject({ expected: 1, delivered: 0, lost: 0, unaccounted: 1, unstamped: 1 });
  });

  it('counts a value a client sent itself, sent back to it, as an echo', () => {
    const a = member(0, '☁ v0');
    const b = member(1, '☁ v1');
    const ledger = windowed([a, b]);
    const mine = ledger.recordSend(a, 10);
    ledger.recordReceive(a, '☁ v0', mine, 12);
    expect(ledger.totals()).toMatchObject({ echoes: 1, delivered: 0 });
  });
});

describe('Ledger with compact stamps (values sent as numbers)', () => {
  it("reads the send time from the sender's record and accepts the value as text of the number", () => {
    const a = member(0, '☁ v0');
    const b = member(1, '☁ v1');
    const ledger = new Ledger([a, b], 'compact');
    ledger.windowStartUs = 0;
    const s0 = ledger.recordSend(a, 100);
    const s1 = ledger.recordSend(a, 200);
    expect(Number.isSafeInteger(Number(s1))).toBe(true);
    // TurboWarp's server relays a number as a number, ours as text: both read as these digits.
    ledger.recordReceive(b, '☁ v0', String(Number(s0)), 130);
    ledger.recordReceive(b, '☁ v0', s1, 260);
    expect(ledger.totals()).toMatchObject({ sent: 2, expected: 2, delivered: 2, superseded: 0, lost: 0, roomsConverged: 1 });
    expect(ledger.latency.max).toBe(60);
    expect(ledger.latency.count).toBe(2);
  });

  it('counts a full stamp as unstamped, and a compact one with an unknown sequence too', () => {
    const a = member(0, '☁ v0');
    const b = member(1, '☁ v1');
    const ledger = new Ledger([a, b], 'compact');
    ledger.windowStartUs = 0;
    ledger.recordReceive(b, '☁ v0', '1234567890123000001000000', 10);
    ledger.recordReceive(b, '☁ v0', '5000000', 10); // seq 4 of sender 0, never sent
    expect(ledger.totals()).toMatchObject({ delivered: 0, unstamped: 2 });
  });

  it('counts frames and the updates in them only inside the window', () => {
    const ledger = new Ledger([member(0, '☁ v0')]);
    ledger.windowStartUs = 100;
    ledger.windowEndUs = 200;
    ledger.recordFrame(3, 50);
    ledger.recordFrame(2, 150);
    ledger.recordFrame(1, 160);
    ledger.recordFrame(4, 250);
    expect(ledger.totals()).toMatchObject({ framesReceived: 2, setsInFrames: 3 });
  });
});
