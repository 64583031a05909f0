/**
 * Who may open a client's WebSocket, in one object (Admission), decided in three places:
 * - Before the upgrade, with an HTTP answer (no socket is held, clients back off longer on
 *   each refused attempt, and a load balancer retries a 503 on another pod): the pod
 *   drains or is full, the address is at its socket limit, the browser's Origin is not
 *   allowed (originAllowed), or the address upgrades too often across the cluster.
 * - When the socket opens, again for the pod's and the address's limits: upgrades admitted
 *   together raced them (closed with 1013, or 1012 while draining).
 * - After it, with a close code whose reason says why: refusals a bot's author must read (a
 *   Scratch session cookie: 4005; a User-Agent policy: 4006). No text frame goes first: Mist
 *   stops on any frame that is not JSON ("Received invalid JSON from server") before it reads
 *   the close, and the browsers' clients log an uncaught error for it.
 */
import { CloseCode } from '@cloudvars/protocol';
import type { WindowCounters } from '@cloudvars/rooms';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config.ts';
import type { SocketCounts } from '../sockets/socket-registry.ts';

export interface UpgradeRefusal {
  readonly status: 403 | 429 | 503;
  readonly reason: string;
  /** Seconds for Retry-After; null: retrying does not help. */
  readonly retryAfterSeconds: number | null;
}

export interface ClientRefusal {
  readonly code: number;
  /** The metrics' and logs' label. */
  readonly reason: string;
  /**
   * The close frame's reason, for whoever runs the client (libraries log it with the code):
   * at most MAX_CLOSE_REASON_BYTES of UTF-8, what a close frame can carry.
   */
  readonly closeReason: string;
}

/** A close frame's payload is at most 125 bytes, 2 of them the code. */
export const MAX_CLOSE_REASON_BYTES = 123;

const UPGRADE_WINDOW_MS = 1_000;

export interface UpgradeRequest {
  /** The address as limits count it (addressForLimits). */
  readonly address: string;
  readonly origin: string | undefined;
  /** The Host header: the server's own address as the client named it. */
  readonly host: string | undefined;
}

/** host[:port], lower-cased, without the scheme's default port (URL's own rule for Origin). */
function hostOf(hostHeader: string): string {
  return hostHeader
    .trim()
    .toLowerCase()
    .replace(/:(80|443)$/, '');
}

/**
 * Whether `origin` may open a socket under ALLOWED_ORIGINS. Let in: a listed origin; no
 * Origin (a bot or a server: not a page of another site, which is what the policy keeps
 * out); and an Origin naming the server's own Host. That last one is what Python's
 * websocket-client (scratchattach's) always sends, `http://<host:port>` of the URL it
 * dials, and what a page served by this server sends: a browser page of another site can
 * never send it (the browser writes Origin), so the policy keeps the same sites out.
 */
export function originAllowed(origin: string | undefined, host: string | undefined, allowed: readonly string[]): boolean {
  if (allowed.length === 0 || origin === undefined) return true;
  const lowered = origin.trim().toLowerCase();
  if (allowed.includes(lowered)) return true;
  if (host === undefined || host.trim() === '') return false;
  let originHost: string;
  try {
    originHost = new URL(lowered).host;
  } catch {
    // "null" (a sandboxed page, a file) or garbage: no site we know.
    return false;
  }
  return originHost !== '' && originHost === hostOf(host);
}

/**
 * Some bot libraries send the user's Scratch login cookie to every cloud server. We never
 * need it: the connection is refused so the library's users get told, and the cookie goes
 * no further (never logged). Anywhere in the header, not only first as TurboWarp checks.
 */
function carriesScratchSession(cookie: string | undefined): boolean {
  return cookie !== undefined && /(?:^|[;\s])scratchsessionsid=/.test(cookie);
}

const SCRATCH_SESSION: ClientRefusal = {
  code: CloseCode.Security,
  reason: 'scratch-session-cookie',
  closeReason: 'Refused: your cloud library sent your Scratch login (scratchsessionsid). Change your Scratch password.',
};

const IDENTIFY_YOURSELF: ClientRefusal = {
  code: CloseCode.IdentifyYourself,
  reason: 'user-agent',
  closeReason: 'Identify yourself: send a User-Agent naming your bot and a contact, like "my-bot/1.0 (scratch.mit.edu/users/you)"',
};

/** Whether to refuse a socket just opened, before reading from it, or null. */
function refusedClient(headers: ClientHeaders, config: Config): ClientRefusal | null {
  if (carriesScratchSession(headers.cookie)) return SCRATCH_SESSION;
  const agent = headers['user-agent']?.trim().toLowerCase() ?? '';
  if (config.requireUserAgent && agent === '') return IDENTIFY_YOURSELF;
  if (config.blockedUserAgents.some((word) => agent.includes(word))) return IDENTIFY_YOURSELF;
  return null;
}

export interface ClientHeaders {
  readonly cookie?: string | undefined;
  readonly 'user-agent'?: string | undefined;
}

export class Admission {
  private refusing = false;

  constructor(
    private readonly config: Config,
    /** The pod's open client sockets, counted per address. */
    private readonly clients: SocketCounts,
    private readonly counters: WindowCounters,
    private readonly log: FastifyBaseLogger,
  ) {}

  /** True once the drain closes clients: new upgrades get HTTP 503 so a proxy retries elsewhere. */
  get isRefusing(): boolean {
    return this.refusing;
  }

  /** The drain began: nobody new is let in. */
  startRefusing(): void {
    this.refusing = true;
  }

  /** Whether to refuse an upgrade before it happens, or null to let it in. */
  async refuseUpgrade(request: UpgradeRequest): Promise<UpgradeRefusal | null> {
    const local = this.refusalHere(request.address);
    if (local !== null) return local;
    if (!originAllowed(request.origin, request.host, this.config.allowedOrigins)) {
      return { status: 403, reason: 'origin-not-allowed', retryAfterSeconds: null };
    }
    try {
      const hit = await this.counters.hit(`upgrades:${request.address}`, UPGRADE_WINDOW_MS, this.config.maxHandshakesPerAddressPerSecond);
      if (!hit.allowed) return { status: 429, reason: 'handshake-rate', retryAfterSeconds: Math.max(1, Math.ceil(hit.resetInMs / 1000)) };
    } catch (error) {
      // The store is unreachable: the join would fail anyway (1011), and refusing everyone
      // here would keep clients from learning that the pod itself is fine.
      this.log.warn({ err: error }, 'the handshake-rate counter failed: letting the upgrade in');
    }
    return null;
  }

  /**
   * This pod's own limits for a socket from `address` (checked before the upgrade, and again
   * when the socket opens, for upgrades that raced): draining, MAX_CONNECTIONS, the address's
   * sockets; null to let it in.
   */
  refusalHere(address: string): UpgradeRefusal | null {
    if (this.refusing) return { status: 503, reason: 'draining', retryAfterSeconds: 1 };
    if (this.clients.size >= this.config.maxConnections) return { status: 503, reason: 'pod-full', retryAfterSeconds: 1 };
    if (this.clients.countOf(address) >= this.config.maxConnectionsPerAddress) {
      return { status: 429, reason: 'address-limit', retryAfterSeconds: 1 };
    }
    return null;
  }

  /** Whether to refuse a socket just opened for what its upgrade's headers carry, or null. */
  refuseClient(headers: ClientHeaders): ClientRefusal | null {
    return refusedClient(headers, this.config);
  }
}
