/**
 * What a policy does to this pod's clients, in the few places the gateway asks: at a join
 * (a blocked project is refused), at each client change (frozen, protected), and when a
 * policy changes (a block closes the room's clients already joined or joining here).
 */
import type { ProtocolLimits } from '@cloudvars/protocol';
import type { Config } from '../config.ts';
import type { RoomHub } from '../hub/room-hub.ts';
import { MemberView } from '../ws/member-view.ts';
import type { PolicyBook } from './policy-book.ts';
import type { ProjectPolicy } from './policy.ts';
import { roomRules, setRate } from './room-limits.ts';

/**
 * A join on a pod that has not read the policies yet (it just started) waits this long for
 * them, then goes on with none: a store that does not answer fails the join anyway.
 */
const FIRST_READ_WAIT_MS = 2_000;

/** The room's policy when it blocks the project, else null. */
export async function blockingPolicy(book: PolicyBook, room: string): Promise<ProjectPolicy | null> {
  if (!book.isLoaded) {
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, FIRST_READ_WAIT_MS);
    });
    await Promise.race([book.loaded, waited]);
    clearTimeout(timer);
  }
  const policy = book.get(room);
  return policy?.blocked === true ? policy : null;
}

/**
 * The book's `changed`, in the turn the book's policy changed: the room's rules on this pod
 * (hub/room-hub.ts) become the new policy's, which its clients' frames and sets read from
 * then on. A block closes every client of the room on this pod (live viewers stay: operators
 * watch); else each client takes the room's set rate now in force (a deleted policy or one
 * without `setsPerSecond`: the global one). A join reads the book as it enters the room.
 */
export function enforceOnChange(hub: RoomHub, config: Config, protocolLimits: ProtocolLimits): (room: string, policy: ProjectPolicy | null) => void {
  return (room, policy) => {
    hub.rulesChanged(room, roomRules(protocolLimits, policy));
    const rate = setRate(config, policy);
    for (const member of hub.membersOf(room)) {
      if (!(member instanceof MemberView)) continue;
      if (policy?.blocked === true) member.blocked(policy.reason ?? '');
      else member.rateChanged(rate);
    }
  };
}
