/**
 * What a client sends while its join is in flight (README: "sets sent right after the
 * handshake are kept"). Each frame is read as it arrives, so the first bad message closes
 * the connection at once, with its own code, as it would after the join, even when a later
 * frame of the same burst is one ws closes on (invalid UTF-8, too big). The good messages
 * wait, in order, and are applied once the client is in the room, even if the connection
 * closed meanwhile: nothing it sent before a fault is lost.
 *
 * Beyond `max` messages (a bot's burst of sets during its join), a set replaces the newest
 * held set of its variable (newest wins, as for sets waiting for the rate): each variable
 * still ends on the last value sent, and what is held stays bounded.
 */
import { CloseCode, parseFrame, type ClientMessage, type Dialect, type MessageSink, type ProtocolError, type ProtocolLimits } from '@cloudvars/protocol';

/** Why holding a frame ended the connection: the close code and a reason for logs and metrics. */
export type HoldRefusal = Pick<ProtocolError, 'code' | 'reason'>;

const SECOND_HANDSHAKE: HoldRefusal = { code: CloseCode.Generic, reason: 'second-handshake' };
const UNKNOWN_VARIABLE: HoldRefusal = { code: CloseCode.Generic, reason: 'unknown-variable' };

export class HeldMessages implements MessageSink {
  private readonly messages: ClientMessage[] = [];
  /**
   * Per variable, the index of its newest held set that no later held rename or delete
   * touches: where a set beyond `max` goes instead.
   */
  private readonly lastSet = new Map<string, number>();
  private refusal: HoldRefusal | null = null;
  private dropped = 0;

  constructor(
    private readonly dialect: Dialect,
    private readonly limits: ProtocolLimits,
    /** The variables a 2020 client declared (it may change no other); null: any. */
    private readonly declared: ReadonlySet<string> | null,
    /** Messages kept at most; beyond, sets replace their variable's newest held set, others are dropped (counted). */
    private readonly max: number,
  ) {}

  /** Reads one frame; returns why the connection must close now, or null. */
  hold(text: string): HoldRefusal | null {
    const error = parseFrame(text, this.dialect, this.limits, this);
    const refusal = this.refusal ?? error;
    this.refusal = null;
    return refusal;
  }

  /** MessageSink: one message of the frame being held. */
  onClientMessage(message: ClientMessage): boolean {
    if (message.kind === 'handshake') {
      this.refusal = SECOND_HANDSHAKE;
      return false;
    }
    if (this.declared !== null && !this.declared.has(message.variable)) {
      this.refusal = UNKNOWN_VARIABLE;
      return false;
    }
    if (message.kind === 'set') {
      const replaces = this.messages.length >= this.max ? this.lastSet.get(message.variable) : undefined;
      if (replaces !== undefined) {
        this.messages[replaces] = message;
        this.dropped += 1;
        return true;
      }
    } else {
      // A later set of these names must not move before this rename or delete.
      this.lastSet.delete(message.variable);
      if (message.kind === 'rename') this.lastSet.delete(message.newName);
    }
    if (this.messages.length >= this.max) {
      this.dropped += 1;
      return true;
    }
    if (message.kind === 'set') this.lastSet.set(message.variable, this.messages.length);
    this.messages.push(message);
    return true;
  }

  get size(): number {
    return this.messages.length;
  }

  /** Messages dropped (or sets superseded) because too many were held. */
  get droppedCount(): number {
    return this.dropped;
  }

  /** Every held message, in the order they came; the holder is empty afterwards. */
  take(): ClientMessage[] {
    this.lastSet.clear();
    return this.messages.splice(0);
  }
}
