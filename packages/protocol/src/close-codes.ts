/** WebSocket close codes of the protocol (seed-protocol.md, PROTOCOL.md "Close codes"). */
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
  /** The client violated the protocol. */
  Generic: 4000,
  /** The client's variable names differ from a room that has connected clients. */
  Incompatibility: 4001,
  /** The username is invalid, blocked or in use in the room. */
  Username: 4002,
  /** The room, the cluster, the pod or the client's address is full. */
  Overloaded: 4003,
  /** Rate limit exceeded: valid later, not now. */
  TryAgainLater: 4004,
  /** Client: its username changed (logged only). */
  UsernameChange: 4100,
} as const;

export type CloseCodeName = keyof typeof CloseCode;
export type CloseCodeValue = (typeof CloseCode)[CloseCodeName];
