/**
 * Who may open a WebSocket, decided in two places:
 * - Before the upgrade, with an HTTP answer (no socket is held, clients back off longer on
 *   each refused attempt, and a load balancer retries a 503 on another pod): the pod
 *   drains or is full, the address is at its socket limit or flooded (Connections), the
 *   browser's Origin is not allowed, or the address upgrades too often across the cluster.
 * - After it, with a text frame that says why and then a close code: refusals a bot's author
 *   must read (a Scratch session cookie: 4005; a User-Agent policy: 4006).
 */
import { CloseCode } from '@cloudvars/protocol';
import type { WindowCounters } from '@cloudvars/rooms';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config.ts';
import type { Connections } from './connections.ts';

export interface UpgradeRefusal {
  readonly status: 403 | 429 | 503;
  readonly reason: string;
  /** Seconds for Retry-After; null: retrying does not help. */
  readonly retryAfterSeconds: number | null;
}

export interface ClientRefusal {
  readonly code: number;
  readonly reason: string;
  /** Sent as a text frame before the close: the client's logs show it to whoever runs it. */
  readonly message: string;
}

const UPGRADE_WINDOW_MS = 1_000;

export interface UpgradeRequest {
  /** The address as limits count it (addressForLimits). */
  readonly address: string;
  readonly origin: string | undefined;
}

/** Whether to refuse an upgrade before it happens, or null to let it in. */
export async function refuseUpgrade(
  request: UpgradeRequest,
  config: Config,
  connections: Connections,
  counters: WindowCounters,
  log: FastifyBaseLogger,
): Promise<UpgradeRefusal | null> {
  const local = connections.refusal(request.address);
  if (local !== null) return local;
  // A browser always sends Origin; a client that sends none (a bot, a server) is not a page
  // of another site, which is what this policy keeps out.
  const origin = request.origin?.toLowerCase();
  if (config.allowedOrigins.length > 0 && origin !== undefined && !config.allowedOrigins.includes(origin)) {
    return { status: 403, reason: 'origin-not-allowed', retryAfterSeconds: null };
  }
  try {
    const hit = await counters.hit(`upgrades:${request.address}`, UPGRADE_WINDOW_MS, config.maxHandshakesPerAddressPerSecond);
    if (!hit.allowed) return { status: 429, reason: 'handshake-rate', retryAfterSeconds: Math.max(1, Math.ceil(hit.resetInMs / 1000)) };
  } catch (error) {
    // The store is unreachable: the join would fail anyway (1011), and refusing everyone
    // here would keep clients from learning that the pod itself is fine.
    log.warn({ err: error }, 'the handshake-rate counter failed: letting the upgrade in');
  }
  return null;
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
  message:
    'This connection is refused to protect your Scratch account: the cloud library you use sent your Scratch login ' +
    '(the scratchsessionsid cookie) to this server, which never needs it. Change your Scratch password, and tell the ' +
    "library's maintainers to stop sending it.",
};

const IDENTIFY_YOURSELF: ClientRefusal = {
  code: CloseCode.IdentifyYourself,
  reason: 'user-agent',
  message:
    'This server asks bots to identify themselves: send a User-Agent that names your project and how to reach you ' +
    '(for example "my-bot/1.0 (https://scratch.mit.edu/users/you)").',
};

/** Whether to refuse a socket just opened, before reading from it, or null. */
export function refuseClient(headers: { readonly cookie?: string | undefined; readonly 'user-agent'?: string | undefined }, config: Config): ClientRefusal | null {
  if (carriesScratchSession(headers.cookie)) return SCRATCH_SESSION;
  const agent = headers['user-agent']?.trim().toLowerCase() ?? '';
  if (config.requireUserAgent && agent === '') return IDENTIFY_YOURSELF;
  if (config.blockedUserAgents.some((word) => agent.includes(word))) return IDENTIFY_YOURSELF;
  return null;
}
