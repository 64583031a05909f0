/**
 * What live pages are sent, encoded once per pod for every page (STYLE.md "encode once, send
 * many"): each event's JSON, each snapshot's, and the room as the pod's mirror holds it now
 * (the pages catching up at one seq share it).
 */
import { readStoredValue, typedVariables } from '@cloudvars/protocol';
import type { RoomSnapshot } from '@cloudvars/rooms';
import type { EventText } from '../hub/event-text.ts';
import type { LocalRoom } from '../hub/room-hub.ts';

export class PageTexts {
  private readonly eventTexts = new WeakMap<EventText, string | null>();
  private readonly snapshotTexts = new WeakMap<RoomSnapshot, string>();
  /** The latest room sent whole from a mirror, so the pages catching up at one seq share its text. */
  private readonly mirrorSnapshots = new WeakMap<LocalRoom, RoomSnapshot>();

  /** The JSON text of an event for pages; null for an event no page is sent. */
  eventText(text: EventText): string | null {
    let json = this.eventTexts.get(text);
    if (json === undefined) {
      const event = text.event;
      switch (event.type) {
        case 'set':
          // Typed as a Scratch 3 client receives it: the page tells a number from a string.
          json = JSON.stringify({ type: 'set', name: event.variable, value: readStoredValue(event.value) });
          break;
        case 'rename':
          json = JSON.stringify({ type: 'rename', name: event.variable, newName: event.newName });
          break;
        case 'delete':
          json = JSON.stringify({ type: 'delete', name: event.variable });
          break;
        default:
          json = null; // kicks are no page's business; a deletion closes the page's socket
      }
      this.eventTexts.set(text, json);
    }
    return json;
  }

  /** The JSON text of a room's variables for pages. */
  snapshotText(room: string, snapshot: RoomSnapshot): string {
    let json = this.snapshotTexts.get(snapshot);
    if (json === undefined) {
      json = JSON.stringify({ type: 'snapshot', room, variables: typedVariables(snapshot.variables) });
      this.snapshotTexts.set(snapshot, json);
    }
    return json;
  }

  /**
   * The room as the pod's mirror holds it now, when the mirror is current (every event it
   * has delivered is in it); null while it is being read or re-read (a resync then brings
   * the room to every member anyway).
   */
  mirrorSnapshot(room: LocalRoom): RoomSnapshot | null {
    if (room.buffer !== null || room.epoch === null) return null;
    const cached = this.mirrorSnapshots.get(room);
    if (cached !== undefined && cached.epoch === room.epoch && cached.seq === room.seq) return cached;
    const snapshot: RoomSnapshot = { epoch: room.epoch, seq: room.seq, variables: [...room.values] };
    this.mirrorSnapshots.set(room, snapshot);
    return snapshot;
  }
}
