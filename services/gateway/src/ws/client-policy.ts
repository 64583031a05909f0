/**
 * How the gateway treats a connection, decided by what the clients of its dialect do with
 * our answers (packages/protocol close-codes.ts lists what each client does on each code).
 * The 2020 `kind` clients follow PROTOCOL.md. Today's clients (the Scratch 3 dialect) stop
 * for good on 4004 and no close code makes them slow down, so their sets beyond the rate
 * wait instead, and only a flood that goes on is closed.
 */
import { CloseCode, type Dialect } from '@cloudvars/protocol';
import type { Config } from '../config.ts';

export interface ClientPolicy {
  /**
   * True: frames count against the flood limit and sets beyond the rate wait (the newest
   * value per variable). False: every frame counts against the rate, 4004 beyond it.
   */
  readonly setsWaitOverRate: boolean;
  /** The username must be free in the room, and is held while the client is in it. */
  readonly claimsUsername: boolean;
  readonly appliesRename: boolean;
  readonly appliesDelete: boolean;
  /**
   * The close code of a transient refusal (a full room, the room cap, the address's limits):
   * 4003 for 2020 clients, as their spec says; 1013 for today's clients, which all retry it,
   * where the Packager and Mist stop for good on 4003 (docs/PROTOCOL.md, per-client table).
   */
  readonly retryLaterCode: number;
}

/** The two policies of a config (2020 clients, today's clients), shared by every session. */
const policies = new WeakMap<Config, readonly [ClientPolicy, ClientPolicy]>();

function policyOf(config: Config, today: boolean): ClientPolicy {
  return {
    setsWaitOverRate: today,
    claimsUsername: !(today && config.allowDuplicateUsernames),
    appliesRename: config.allowRename,
    appliesDelete: config.allowDelete,
    retryLaterCode: today ? CloseCode.RetryLater : CloseCode.Overloaded,
  };
}

/** One frozen object per config and kind of client, not one per connection (memory per idle client). */
export function policyFor(dialect: Dialect, config: Config): ClientPolicy {
  let both = policies.get(config);
  if (both === undefined) {
    both = [Object.freeze(policyOf(config, false)), Object.freeze(policyOf(config, true))];
    policies.set(config, both);
  }
  return both[dialect.name === 'scratch' ? 1 : 0];
}
