/**
 * Delivery accounting for the sets sent in the measured window.
 *
 * The gateway may legitimately not deliver a set: updates of one variable that meet in a
 * client's batch collapse to the newest, and a client's own write drops an update of that
 * variable still queued for it (PROTOCOL.md, DESIGN.md invariant 6). So every (set, other
 * member) pair of the window ends up in exactly one bucket:
 * - delivered: the member received it;
 * - superseded: the member never received it but did receive a newer set of the same
 *   variable from the same sender (a gap in that sender's sequence), or it was among the
 *   sender's last sets and the room converged (every member shows the same final values,
 *   so the missing set was not the final one);
 * - lost: among the sender's last sets, never received, and the room did not converge.
 * A set lost in mid-stream cannot be told from a coalesced one by a client; convergence
 * is what proves the end state right.
 */
import { Histogram } from './histogram.ts';
import { decodeCompactStamp, decodeStamp, encodeCompactStamp, encodeStamp } from './stamp.ts';

/**
 * `full`: values carry their send time (stamp.ts), sent as strings. `compact`: values fit a
 * JavaScript number (sent as JSON numbers); the send time is read from the sender's record.
 */
export type StampFormat = 'full' | 'compact';

export interface Member {
  readonly index: number;
  readonly roomIndex: number;
  /** The one variable this member writes. */
  readonly variable: string;
  /** What the member currently shows: handshake values, then every set it sent or received. */
  readonly view: Map<string, string>;
  /** Per sender: the highest sequence number received from it. */
  readonly lastSeq: Map<number, number>;
  /** Send time (us) of each of this member's sets, indexed by sequence number. */
  readonly sendTimes: number[];
  readonly isOpen: boolean;
}

export interface LedgerTotals {
  readonly sent: number;
  readonly expected: number;
  readonly delivered: number;
  readonly superseded: number;
  readonly lost: number;
  /** expected minus every bucket: pairs whose receiver closed, so nothing can be said. */
  readonly unaccounted: number;
  readonly roomsConverged: number;
  readonly rooms: number;
  readonly outsideWindow: number;
  readonly echoes: number;
  readonly reordered: number;
  readonly unstamped: number;
  /** Frames received in the window, and the sets they carried: the servers' batching, seen by clients. */
  readonly framesReceived: number;
  readonly setsInFrames: number;
}

export class Ledger {
  windowStartUs = Number.POSITIVE_INFINITY;
  windowEndUs = Number.POSITIVE_INFINITY;
  lastReceiveUs = 0;
  readonly latency = new Histogram();
  private readonly byIndex = new Map<number, Member>();
  private readonly rooms = new Map<number, Member[]>();
  private sent = 0;
  private expected = 0;
  private delivered = 0;
  private superseded = 0;
  private outsideWindow = 0;
  private echoes = 0;
  private reordered = 0;
  private unstamped = 0;
  private framesReceived = 0;
  private setsInFrames = 0;

  constructor(
    members: readonly Member[],
    private readonly format: StampFormat = 'full',
  ) {
    for (const m of members) {
      this.byIndex.set(m.index, m);
      const room = this.rooms.get(m.roomIndex);
      if (room) room.push(m);
      else this.rooms.set(m.roomIndex, [m]);
    }
  }

  get deliveredSoFar(): number {
    return this.delivered;
  }

  get sentSoFar(): number {
    return this.sent;
  }

  inWindow(us: number): boolean {
    return us >= this.windowStartUs && us < this.windowEndUs;
  }

  /** Stamps the member's next set, records it, and returns the value to send. */
  recordSend(m: Member, nowUs: number): string {
    const seq = m.sendTimes.length;
    const value = this.format === 'compact' ? encodeCompactStamp(seq, m.index) : encodeStamp(nowUs, seq, m.index);
    m.sendTimes.push(nowUs);
    m.view.set(m.variable, value);
    if (this.inWindow(nowUs)) {
      this.sent += 1;
      this.expected += this.openMembers(m.roomIndex) - 1;
    }
    return value;
  }

  /** One frame of `sets` updates received (after the join). */
  recordFrame(sets: number, receivedUs: number): void {
    if (!this.inWindow(receivedUs)) return;
    this.framesReceived += 1;
    this.setsInFrames += sets;
  }

  recordReceive(r: Member, variable: string, value: string, receivedUs: number): void {
    this.lastReceiveUs = receivedUs;
    r.view.set(variable, value);
    const stamp = this.format === 'compact' ? decodeCompactStamp(value) : decodeStamp(value);
    const sender = stamp === undefined ? undefined : this.byIndex.get(stamp.sender);
    // A compact stamp has no time: the sender's record has it (same process).
    const sentUs = stamp === undefined || sender === undefined ? undefined : (stamp.sentUs ?? sender.sendTimes[stamp.seq]);
    if (stamp === undefined || sender === undefined || sentUs === undefined) {
      this.unstamped += 1;
      return;
    }
    if (sender === r) {
      this.echoes += 1;
      return;
    }
    const last = r.lastSeq.get(stamp.sender) ?? -1;
    if (stamp.seq <= last) {
      this.reordered += 1;
      return;
    }
    for (let k = last + 1; k < stamp.seq; k++) {
      if (this.inWindow(sender.sendTimes[k] ?? -1)) this.superseded += 1;
    }
    r.lastSeq.set(stamp.sender, stamp.seq);
    if (this.inWindow(sentUs)) {
      this.delivered += 1;
      this.latency.record(receivedUs - sentUs);
    } else {
      this.outsideWindow += 1;
    }
  }

  /** Every open member of the room shows the same value for every variable. */
  converged(roomIndex: number): boolean {
    const open = (this.rooms.get(roomIndex) ?? []).filter((m) => m.isOpen);
    const first = open[0];
    if (!first) return true;
    for (const m of open) {
      if (m.view.size !== first.view.size) return false;
      for (const [name, value] of first.view) if (m.view.get(name) !== value) return false;
    }
    return true;
  }

  allConverged(): boolean {
    for (const room of this.rooms.keys()) if (!this.converged(room)) return false;
    return true;
  }

  /** Final totals: call once, after sending stopped and deliveries settled. */
  totals(): LedgerTotals {
    let superseded = this.superseded;
    let lost = 0;
    let roomsConverged = 0;
    for (const [roomIndex, members] of this.rooms) {
      const converged = this.converged(roomIndex);
      if (converged) roomsConverged += 1;
      for (const r of members) {
        if (!r.isOpen) continue;
        for (const s of members) {
          if (s === r) continue;
          for (let k = (r.lastSeq.get(s.index) ?? -1) + 1; k < s.sendTimes.length; k++) {
            if (!this.inWindow(s.sendTimes[k] ?? -1)) continue;
            if (converged) superseded += 1;
            else lost += 1;
          }
        }
      }
    }
    return {
      sent: this.sent,
      expected: this.expected,
      delivered: this.delivered,
      superseded,
      lost,
      unaccounted: this.expected - this.delivered - superseded - lost,
      roomsConverged,
      rooms: this.rooms.size,
      outsideWindow: this.outsideWindow,
      echoes: this.echoes,
      reordered: this.reordered,
      unstamped: this.unstamped,
      framesReceived: this.framesReceived,
      setsInFrames: this.setsInFrames,
    };
  }

  private openMembers(roomIndex: number): number {
    let n = 0;
    for (const m of this.rooms.get(roomIndex) ?? []) if (m.isOpen) n += 1;
    return n;
  }
}
