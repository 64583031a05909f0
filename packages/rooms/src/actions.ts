/**
 * Operators' actions kept for catch-up reads (RoomStore.catchUp). A kick or a room's
 * deletion is an event, not state: a pod that lost its bus for a while re-reads the room's
 * snapshot, which covers the action's seq and holds nothing of it, so without these the
 * action the API confirmed would be lost on that pod. Bounded in size (the latest
 * ACTION_HISTORY_LENGTH of a room) and in time (ACTION_HISTORY_TTL_MS after the latest):
 * a resync comes within seconds of an outage, and a client reconnecting after longer is
 * checked by the bans at its handshake.
 */
import type { RoomAction, RoomEvent } from './ports.ts';

/** Actions a room keeps: more than operators make in one outage (each kick is one call). */
export const ACTION_HISTORY_LENGTH = 32;
/** How long a room's actions are kept after its latest, whatever becomes of the room. */
export const ACTION_HISTORY_TTL_MS = 10 * 60_000;

export function isRoomAction(event: RoomEvent): event is RoomAction {
  return event.type === 'kick' || event.type === 'room-deleted';
}

/** The catch-up rule, for every store: the actions of `epoch` after `afterSeq`, in their order. */
export function actionsAfter(actions: readonly RoomAction[], epoch: string, afterSeq: number): RoomAction[] {
  return actions.filter((action) => action.epoch === epoch && action.seq > afterSeq);
}
