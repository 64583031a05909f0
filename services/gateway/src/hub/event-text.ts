/**
 * A room event and, for a set, its wire text, encoded at most once per dialect per pod
 * however many clients receive it (DESIGN.md invariant 6; STYLE.md "encode once, send many").
 * Renames and deletes have no wire text: no client of any dialect reads one.
 */
import { encodeSet, type Dialect } from '@cloudvars/protocol';
import type { RoomEvent } from '@cloudvars/rooms';

export class EventText {
  private dialect: Dialect | null = null;
  private text = '';
  private others: Map<Dialect, string> | null = null;

  constructor(readonly event: RoomEvent) {}

  /** The set message in `dialect`. Only for a set event. */
  in(dialect: Dialect): string {
    if (this.dialect === dialect) return this.text;
    const event = this.event;
    if (event.type !== 'set') throw new Error(`a ${event.type} event has no wire text`);
    if (this.dialect === null) {
      this.dialect = dialect;
      this.text = encodeSet(dialect, event.variable, event.value);
      return this.text;
    }
    const others = (this.others ??= new Map());
    let text = others.get(dialect);
    if (text === undefined) {
      text = encodeSet(dialect, event.variable, event.value);
      others.set(dialect, text);
    }
    return text;
  }
}
