/**
 * A server a Scratch 3 test runs against: the peer today; our gateway (one node, or pods
 * sharing Redis) once it speaks the dialect. Tests write their target lists from these.
 */
import { startPeer } from '../peer.ts';

export interface ScratchServer {
  /**
   * Where the `client`-th client of a test connects (0, 1, 2, … in the order the test opens
   * them). One server answers the same URL for all; a cluster hands out its pods in turn,
   * so consecutive clients land on different pods.
   */
  url(client: number): string;
  stop(): Promise<void>;
}

export interface ScratchTarget {
  readonly name: string;
  start(): Promise<ScratchServer>;
}

/** TurboWarp's cloud-server with its default settings (peer.ts). */
export const PEER_TARGET: ScratchTarget = {
  name: "TurboWarp's cloud-server (the peer)",
  async start() {
    const peer = await startPeer();
    return { url: () => peer.url, stop: () => peer.stop() };
  },
};

/** A target made of several servers sharing their rooms (pods): client i goes to url i mod n. */
export function podsInTurn(urls: readonly string[], stop: () => Promise<void>): ScratchServer {
  if (urls.length === 0) throw new Error('no pods');
  return { url: (client) => urls[client % urls.length] as string, stop };
}
