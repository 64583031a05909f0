/**
 * WebSocket close codes of the protocol (seed-protocol.md, PROTOCOL.md "Close codes"), and
 * TurboWarp's server's codes (its doc/protocol.md) for the scratch dialect.
 *
 * How today's clients (scratch dialect) react to a close, read in their sources:
 * - Scratch's editor (scratch-gui src/lib/cloud-provider.js): reconnects after every code.
 * - TurboWarp (its scratch-gui's cloud-provider.js): stops on 4002 (asks for another
 *   username) and 4004; reconnects after anything else.
 * - TurboWarp Packager (src/scaffolding/cloud.js): stops on 4002, 4003 and 4004; reconnects
 *   after anything else.
 * - Mist (src/connection.js): stops on 4002, 4003, 4004 and 4006 (it throws); reconnects
 *   after anything else, 1013 included.
 * - forkphorus (src/extensions/cloud.ts): stops on 4002 and 4004; reconnects otherwise.
 * - scratchattach: reads no code; it reconnects when a send fails (twice, then raises).
 * "Reconnects" means a random delay below (2^min(attempts, 5) - 1) s, where the attempt
 * count starts again at 1 whenever a socket opens: a client closed after its socket opened
 * is back within a second, whatever the code. No code makes them back off for long.
 *
 * Operators' actions (the gateway's HTTP API) choose their codes by what these clients then do:
 * a kick or a banned username closes with 4002 (TurboWarp, the Packager and forkphorus stop
 * and ask for another name), a banned address with 4004 (the one code all three stop on for
 * good: nothing the client can change gets it in), a deleted room with 4010 (every client
 * reconnects, into the room created anew, empty). Scratch's editor reconnects after each.
 */
export const CloseCode = {
  /** Client: the connection served its purpose. */
  Normal: 1000,
  /** Client: the page went away. */
  GoingAway: 1001,
  /** The client stopped reading: its unsent data stayed over the limit (standard "policy violation"). */
  SlowConsumer: 1008,
  /** Sent by ws when a frame exceeds the payload limit. */
  MessageTooBig: 1009,
  /** A server fault while admitting the client (the store failed); clients retry. Standard "internal error". */
  InternalError: 1011,
  /** The pod is draining (deploy, scale-in): reconnect, you will reach another pod. */
  ServiceRestart: 1012,
  /**
   * Standard "try again later": what today's clients get for a transient refusal (a full
   * room, the cluster's room cap, their address's limits), where 2020 clients get 4003.
   * Every client of today reconnects on it; the Packager and Mist stop for good on 4003.
   */
  RetryLater: 1013,
  /** The client violated the protocol. Today's clients reconnect (see above). */
  Generic: 4000,
  /** The client's variable names differ from a room that has connected clients (kind dialects). */
  Incompatibility: 4001,
  /**
   * The username is invalid, blocked, banned or in use in the room, or an operator kicked
   * the client. TurboWarp, the Packager and forkphorus stop for good and ask the user for
   * another name; Scratch's editor reconnects.
   */
  Username: 4002,
  /**
   * Kind dialects: the room, the cluster, the pod or the client's address is full. Never sent
   * to today's clients (they get RetryLater): the Packager and Mist stop for good on it.
   */
  Overloaded: 4003,
  /**
   * Kind dialects: rate limit exceeded, valid later, not now. Today's clients read 4004 as
   * TurboWarp's "project unavailable" (the id is well formed but the project may not use
   * cloud variables): TurboWarp, the Packager and forkphorus stop for good. Never send it to
   * a scratch connection for its rate.
   */
  TryAgainLater: 4004,
  /**
   * 4004 by the name today's clients give it (see TryAgainLater): sent to a client whose
   * address an operator banned, so that today's clients stop trying.
   */
  ProjectUnavailable: 4004,
  /**
   * Closed to protect the user's security: the upgrade carried a Scratch session cookie
   * (`scratchsessionsid=`), which a library leaked; the login goes no further. Today's
   * clients reconnect (and are refused again).
   */
  Security: 4005,
  /**
   * An operator deleted the room: its values and log are gone. Every client reconnects
   * (no client of today stops on it) and finds the room created anew, empty. 4006 is
   * TurboWarp's "identify yourself"; 4010 leaves room for its next codes.
   */
  RoomDeleted: 4010,
  /**
   * "Identify yourself" (TurboWarp's server's code): the client's User-Agent is missing or
   * refused by the operator's policy; a text frame before the close says what to send.
   */
  IdentifyYourself: 4006,
  /** Client: its username changed (logged only; forkphorus sends it). */
  UsernameChange: 4100,
} as const;

export type CloseCodeName = keyof typeof CloseCode;
export type CloseCodeValue = (typeof CloseCode)[CloseCodeName];
