/**
 * The gap-free join (DESIGN.md invariant 2), once for every kind of room member: a client's
 * view (ws/member-view.ts) and a live page (live/viewer.ts). The hub delivers events from
 * the moment the member entered the room, before the store took the member's snapshot; they
 * are held and, once the snapshot is known, only those after its seq (and of its epoch) are
 * shown. A resync of the room that lands while the snapshot is read is held too: `open`
 * returns it when it is the newer read, for the member to show instead of, or after, its own.
 *
 * A base class rather than a field: one object per member, not two (memory per idle client).
 */
import type { RoomSnapshot } from '@cloudvars/rooms';
import type { EventText } from './event-text.ts';
import { resyncIsNewer, type Resync, type RoomMember } from './room-hub.ts';

/** What arrived while the member's snapshot was not known yet. */
interface Early {
  readonly events: EventText[];
  /** The latest resync the hub delivered meanwhile. */
  resync: Resync | null;
}

/** What `open` hands back: the events to show now, in order, and a held resync newer than the snapshot. */
export interface HeldAtOpen {
  readonly events: readonly EventText[];
  readonly newerResync: Resync | null;
}

export abstract class JoinGate implements RoomMember {
  /** Non-null until `open()`: the snapshot is not known yet. */
  private early: Early | null = { events: [], resync: null };
  /**
   * True once the gate showed an event of its epoch after its floor: every later event the
   * hub delivers is then of that epoch (the hub applies only its mirror's next one) and
   * after it, so it is shown without the checks, one field read per event. A resync, and any
   * move of the view (`moveTo`), closes it again until the next event passes the checks.
   */
  private settled = false;
  /** Events are shown only when from `epoch` and after `floor` (the seq of what the member was last sent whole). */
  protected epoch = '';
  protected floor = 0;

  abstract readonly id: string;

  get isJoined(): boolean {
    return this.early === null;
  }

  /** RoomMember: held until the snapshot is known; then shown (`show`) if after it. */
  deliver(text: EventText): void {
    if (this.settled) {
      this.show(text);
      return;
    }
    if (this.early !== null) {
      this.early.events.push(text);
      return;
    }
    const event = text.event;
    if (event.epoch !== this.epoch || event.seq <= this.floor) return;
    this.settled = true;
    this.show(text);
  }

  /** RoomMember: held until the snapshot is known (`open` returns it if newer); then shown. */
  resynced(resync: Resync): void {
    this.settled = false;
    if (this.early !== null) {
      this.early.resync = resync;
      return;
    }
    this.showResync(resync);
  }

  abstract evict(code: number, reason: string): void;

  /** An event after what the member was shown, in store order. */
  protected abstract show(text: EventText): void;

  /** The room was re-read: the member's view moves to `resync.snapshot` (call `moveTo`). */
  protected abstract showResync(resync: Resync): void;

  /**
   * The member's snapshot is known: the gate opens at it (`epoch`: the same string, when a
   * caller has a shared copy). Show the snapshot, then a newer held resync, then `replay` the events.
   */
  protected open(snapshot: RoomSnapshot, epoch: string = snapshot.epoch): HeldAtOpen {
    const early = this.early ?? { events: [], resync: null };
    this.early = null;
    this.moveTo(epoch, snapshot.seq);
    const resync = early.resync;
    return { events: early.events, newerResync: resync !== null && resyncIsNewer(resync, snapshot) ? resync : null };
  }

  /** Events held during the join, through the gate now that it is open. */
  protected replay(events: readonly EventText[]): void {
    for (const text of events) this.deliver(text);
  }

  /** The member was sent the room whole at (epoch, seq): only later events are shown. */
  protected moveTo(epoch: string, seq: number): void {
    this.settled = false;
    this.epoch = epoch;
    this.floor = seq;
  }
}
