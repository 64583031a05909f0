/**
 * A RoomStore whose `set` calls of one origin in one room, made in one turn of the event
 * loop, go to the store as one `setMany` (in Redis: one script call and one publish instead
 * of one of each per set). A Scratch client sends the sets of a frame it drew together, and
 * the gateway applies them in one turn; so does a burst released by the set rate.
 *
 * Nothing waits for a timer: the batch is sent at the end of the turn that made it (a
 * microtask), so a lone set leaves when it did before. What callers see is unchanged:
 * - each `set` gets its own result (setMany judges each change at its turn, as `set` would);
 * - an origin's changes reach the store in the order it made them: any other call (rename,
 *   delete, leave, join, ...) first sends every batch still gathering, and a set whose room
 *   or options differ from its origin's open batch sends that batch first;
 * - a failed call fails every set of its batch, with the same error.
 */
import { RoomEngineError } from './errors.ts';
import type { RoomEngine, RoomStore, SetChange, SetManyOptions, SetOptions, SetResult } from './ports.ts';

/** Whether two sets may share a batch: every option of SetManyOptions alike (`increasing` is each change's own). */
function sameOptions(a: SetOptions, b: SetOptions): boolean {
  return a.create === b.create && a.user === b.user && a.address === b.address && a.maxVariables === b.maxVariables && a.maxRoomBytes === b.maxRoomBytes;
}
/** The options setMany takes once for its changes: all but `increasing`, which each change carries. */
function sharedOptions({ create, user, address, maxVariables, maxRoomBytes }: SetOptions): SetManyOptions {
  return { create, user, address, maxVariables, maxRoomBytes };
}

/** Fails to compile when SetManyOptions gains an option that sameOptions does not compare. */
type Compared = 'create' | 'user' | 'address' | 'maxVariables' | 'maxRoomBytes';
export type SetBatcherComparesEveryOption = [Exclude<keyof SetManyOptions, Compared>] extends [never] ? true : never;
const everyOptionCompared: SetBatcherComparesEveryOption = true;
void everyOptionCompared;

interface Pending {
  readonly change: SetChange;
  readonly resolve: (result: SetResult) => void;
  readonly reject: (error: unknown) => void;
}

/** The sets of one origin in one room gathering in this turn, with the options they share. */
class Batch {
  readonly sets: Pending[] = [];
  constructor(
    readonly room: string,
    readonly origin: string,
    readonly options: SetOptions,
  ) {}
}

export function batchSetsPerTurn(store: RoomStore): RoomStore {
  /** Origin -> its batch gathering in this turn; Map order = the order the batches began. */
  let open = new Map<string, Batch>();
  let scheduled = false;

  function send(batch: Batch): void {
    try {
      issue(batch);
    } catch (error) {
      // A store that throws instead of rejecting (a bug) fails its batch, not the turn's other batches.
      for (const pending of batch.sets) pending.reject(error);
    }
  }

  function issue(batch: Batch): void {
    const { room, origin, options, sets } = batch;
    const first = sets[0];
    if (sets.length === 1 && first !== undefined) {
      store.set(room, origin, first.change.variable, first.change.value, options).then(first.resolve, first.reject);
      return;
    }
    store
      .setMany(
        room,
        origin,
        sets.map((pending) => pending.change),
        sharedOptions(options),
      )
      .then(
        (results) => {
          if (results.length !== sets.length) {
            const error = new RoomEngineError('CV_ERR_REDIS_REPLY', `setMany answered ${results.length} results for ${sets.length} sets`);
            for (const pending of sets) pending.reject(error);
            return;
          }
          sets.forEach((pending, i) => {
            const result = results[i];
            if (result !== undefined) pending.resolve(result);
          });
        },
        (error: unknown) => {
          for (const pending of sets) pending.reject(error);
        },
      );
  }

  /** Sends every batch gathering, in the order they began. */
  function sendAll(): void {
    if (open.size === 0) return;
    const batches = open;
    open = new Map();
    for (const batch of batches.values()) send(batch);
  }

  function endOfTurn(): void {
    scheduled = false;
    sendAll();
  }

  function set(room: string, origin: string, variable: string, value: string, options: SetOptions = {}): Promise<SetResult> {
    return new Promise<SetResult>((resolve, reject) => {
      let batch = open.get(origin);
      if (batch !== undefined && (batch.room !== room || !sameOptions(batch.options, options))) {
        // The origin's earlier sets go first, as they would have.
        open.delete(origin);
        send(batch);
        batch = undefined;
      }
      if (batch === undefined) {
        batch = new Batch(room, origin, options);
        open.set(origin, batch);
      }
      batch.sets.push({ change: options.increasing === true ? { variable, value, increasing: true } : { variable, value }, resolve, reject });
      if (!scheduled) {
        scheduled = true;
        queueMicrotask(endOfTurn);
      }
    });
  }

  /** Any other call goes after the sets made before it. */
  function ordered<T>(call: () => T): T {
    sendAll();
    return call();
  }

  return {
    set,
    join: (request) => ordered(() => store.join(request)),
    setMany: (room, origin, changes, options) => ordered(() => store.setMany(room, origin, changes, options)),
    rename: (room, origin, variable, newName, options) => ordered(() => store.rename(room, origin, variable, newName, options)),
    delete: (room, origin, variable, options) => ordered(() => store.delete(room, origin, variable, options)),
    log: (room, limit) => ordered(() => store.log(room, limit)),
    deleteRoom: (room, origin) => ordered(() => store.deleteRoom(room, origin)),
    kick: (room, origin, username) => ordered(() => store.kick(room, origin, username)),
    leave: (lease) => ordered(() => store.leave(lease)),
    renew: (leases) => ordered(() => store.renew(leases)),
    snapshot: (room) => ordered(() => store.snapshot(room)),
    catchUp: (room, epoch, afterSeq) => ordered(() => store.catchUp(room, epoch, afterSeq)),
    memberCount: (room) => ordered(() => store.memberCount(room)),
  };
}

/** The same engine with its store's sets batched per turn (batchSetsPerTurn); every other part is the engine's own. */
export function withSetsBatchedPerTurn(engine: RoomEngine): RoomEngine {
  return {
    kind: engine.kind,
    store: batchSetsPerTurn(engine.store),
    bus: engine.bus,
    counters: engine.counters,
    moderation: engine.moderation,
    policies: engine.policies,
    isConnected: () => engine.isConnected(),
    close: () => engine.close(),
  };
}
