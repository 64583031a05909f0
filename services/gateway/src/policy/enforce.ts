/**
 * What a policy does to this pod's clients, in the few places the gateway asks: at a join
 * (a blocked project is refused), at each client change (frozen, protected), and when a
 * policy changes (a block closes the room's clients already joined or joining here).
 */
import type { RoomHub } from '../hub/room-hub.ts';
import { MemberView } from '../ws/member-view.ts';
import type { PolicyBook } from './policy-book.ts';
import type { ProjectPolicy } from './policy.ts';

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

/** The book's `changed`: a block closes every client of the room on this pod (live viewers stay: operators watch). */
export function enforceOnChange(hub: RoomHub): (room: string, policy: ProjectPolicy | null) => void {
  return (room, policy) => {
    if (policy?.blocked !== true) return;
    for (const member of hub.membersOf(room)) if (member instanceof MemberView) member.blocked(policy.reason ?? '');
  };
}
