/**
 * The join gate alone (no hub, no sockets): which events a member is shown, before and after
 * its snapshot, and once the gate has settled (shows events without its checks).
 */
import type { RoomSnapshot } from '@cloudvars/rooms';
import { describe, expect, it } from 'vitest';
import { EventText } from '../src/hub/event-text.ts';
import { JoinGate } from '../src/hub/join-gate.ts';
import type { Resync } from '../src/hub/room-hub.ts';

class RecordingMember extends JoinGate {
  readonly id = 'm1';
  readonly shown: string[] = [];
  resyncs = 0;

  start(snapshot: RoomSnapshot): void {
    const { events } = this.open(snapshot);
    this.replay(events);
  }

  /** A view sent the room whole at (epoch, seq), as a live page that caught up does. */
  sentWhole(epoch: string, seq: number): void {
    this.moveTo(epoch, seq);
  }

  evict(): void {}

  protected show(text: EventText): void {
    this.shown.push(`${text.event.epoch}:${text.event.seq}`);
  }

  protected showResync(resync: Resync): void {
    this.resyncs++;
    this.moveTo(resync.snapshot.epoch, resync.snapshot.seq);
  }
}

function set(epoch: string, seq: number): EventText {
  return new EventText({ type: 'set', room: 'r', epoch, seq, origin: 'o', variable: '☁ a', value: String(seq) });
}

function snapshot(epoch: string, seq: number): RoomSnapshot {
  return { epoch, seq, variables: [] };
}

function resync(epoch: string, seq: number): Resync {
  return { snapshot: snapshot(epoch, seq), previous: { epoch: null, seq: 0, values: new Map() }, all: new Map(), changed: new Set() };
}

describe('JoinGate', () => {
  it('holds events until the snapshot is known, then shows only those after it', () => {
    const member = new RecordingMember();
    for (const seq of [4, 5, 6]) member.deliver(set('e1', seq));
    expect(member.shown).toEqual([]);
    member.start(snapshot('e1', 5));
    member.deliver(set('e1', 7));
    expect(member.shown).toEqual(['e1:6', 'e1:7']);
  });

  it('keeps checking a member that joined ahead of the room until an event after its snapshot passes', () => {
    const member = new RecordingMember();
    member.start(snapshot('e1', 10));
    for (const seq of [9, 10, 11, 12]) member.deliver(set('e1', seq));
    expect(member.shown).toEqual(['e1:11', 'e1:12']);
  });

  it('after a resync to another epoch, shows no event of the old one, though it had settled', () => {
    const member = new RecordingMember();
    member.start(snapshot('e1', 1));
    member.deliver(set('e1', 2)); // settles
    member.resynced(resync('e2', 5));
    member.deliver(set('e1', 3));
    member.deliver(set('e2', 5));
    member.deliver(set('e2', 6));
    expect(member.shown).toEqual(['e1:2', 'e2:6']);
    expect(member.resyncs).toBe(1);
  });

  it('after its view moved (the room sent whole), shows only the events after that point again', () => {
    const member = new RecordingMember();
    member.start(snapshot('e1', 1));
    member.deliver(set('e1', 2)); // settles
    member.sentWhole('e1', 8);
    member.deliver(set('e1', 8));
    member.deliver(set('e1', 9));
    expect(member.shown).toEqual(['e1:2', 'e1:9']);
  });
});
