/**
 * When StorePressure lets paused senders read again: at half the limit at once, and at
 * the pod's next sweep once below the limit, so calls that hover between half and the
 * limit (a slow Redis) do not keep the clients paused at the peak waiting for good (their
 * pongs unread, they would then be dropped as dead).
 */
import { describe, expect, it } from 'vitest';
import { StorePressure, type Pausable } from '../src/ws/store-pressure.ts';

class Connection implements Pausable {
  reading = true;
  pauseReading(): void {
    this.reading = false;
  }
  resumeReading(): void {
    this.reading = true;
  }
}

function atLimit(limit: number): { pressure: StorePressure; paused: Connection; pauses: () => number } {
  let pauses = 0;
  const pressure = new StorePressure(limit, () => (pauses += 1));
  for (let i = 0; i < limit; i += 1) pressure.started();
  const paused = new Connection();
  expect(pressure.high).toBe(true);
  pressure.hold(paused);
  return { pressure, paused, pauses: () => pauses };
}

describe('StorePressure', () => {
  it('pauses a sender at the limit once, and resumes it when half the calls came back', () => {
    const { pressure, paused, pauses } = atLimit(10);
    pressure.hold(paused);
    expect(paused.reading).toBe(false);
    expect(pauses()).toBe(1);
    for (let i = 0; i < 4; i += 1) pressure.settled();
    expect(paused.reading).toBe(false); // 6 in flight: above half
    pressure.settled();
    expect(paused.reading).toBe(true);
    expect(pressure.holds(paused)).toBe(false);
  });

  it('resumes paused senders at the sweep once below the limit, though above half', () => {
    const { pressure, paused } = atLimit(10);
    pressure.sweep();
    expect(paused.reading).toBe(false); // still at the limit
    pressure.settled();
    expect(pressure.inFlight).toBe(9);
    expect(paused.reading).toBe(false);
    pressure.sweep();
    expect(paused.reading).toBe(true);
  });

  it('forgets a closed connection: nothing resumes it', () => {
    const { pressure, paused } = atLimit(4);
    pressure.forget(paused);
    for (let i = 0; i < 4; i += 1) pressure.settled();
    pressure.sweep();
    expect(paused.reading).toBe(false);
    expect(pressure.inFlight).toBe(0);
  });
});
