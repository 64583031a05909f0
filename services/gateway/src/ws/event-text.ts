/**
 * A room event and its wire text, encoded at most once per dialect per pod however many
 * clients receive it (DESIGN.md invariant 6; STYLE.md "encode once, send many").
 */
import { encodeSet, type Dialect } from '@cloudvars/protocol';
import type { RoomEvent } from '@cloudvars/rooms';

export class EventText {
  private dialect: Dialect | null = null;
  private text = '';
  private others: Map<Dialect, string> | null = null;

  constructor(readonly event: RoomEvent) {}

  in(dialect: Dialect): string {
    if (this.dialect === dialect) return this.text;
    if (this.dialect === null) {
      this.dialect = dialect;
      this.text = encodeSet(dialect, this.event.variable, this.event.value);
      return this.text;
    }
    const others = (this.others ??= new Map());
    let text = others.get(dialect);
    if (text === undefined) {
      text = encodeSet(dialect, this.event.variable, this.event.value);
      others.set(dialect, text);
    }
    return text;
  }
}
