/**
 * Who may call what. Admin calls need `Authorization: Bearer <token>` with a token of
 * ADMIN_TOKENS; room reads need one too when API_READS_NEED_TOKEN is on. Tokens are compared
 * in constant time: each presented token is hashed, and its digest compared with every
 * configured token's digest (equal lengths, crypto.timingSafeEqual), without stopping early,
 * so neither a token's content nor its length nor its place in the list shows in the timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AdminToken } from '../config.ts';

/** public: anyone. read: anyone, or only operators with API_READS_NEED_TOKEN. admin: operators. */
export type Access = 'public' | 'read' | 'admin';

/** The browser's WebSocket cannot send headers: the live page offers its token as this subprotocol prefix. */
export const TOKEN_SUBPROTOCOL_PREFIX = 'bearer.';
/** The subprotocol the live page asks for first, which the server then selects. */
export const LIVE_SUBPROTOCOL = 'cloudvars-live';

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** A call's credentials: whether it carried a token, and the operator whose token it is (null: none). */
export interface Caller {
  readonly presentedToken: boolean;
  readonly operator: string | null;
}

export type AccessOutcome =
  | { readonly ok: true; readonly operator: string | null }
  /** 404: no ADMIN_TOKENS, so there is no admin API. 401: no token. 403: a token that is not one of ours. */
  | { readonly ok: false; readonly status: 401 | 403 | 404; readonly error: string };

export class AccessPolicy {
  private readonly digests: readonly { readonly name: string; readonly digest: Buffer }[];

  constructor(
    tokens: readonly AdminToken[],
    private readonly readsNeedToken: boolean,
  ) {
    this.digests = tokens.map(({ name, token }) => ({ name, digest: digest(token) }));
  }

  get adminEnabled(): boolean {
    return this.digests.length > 0;
  }

  /** The operator a token belongs to, or null. */
  operatorOf(token: string): string | null {
    const presented = digest(token);
    let found: string | null = null;
    for (const entry of this.digests) {
      if (timingSafeEqual(presented, entry.digest) && found === null) found = entry.name;
    }
    return found;
  }

  /** Who sent `token` (null: none was sent), worked out once per call. */
  identify(token: string | null): Caller {
    return { presentedToken: token !== null, operator: token === null ? null : this.operatorOf(token) };
  }

  /** Whether a call needing `access` may go on for `caller`. */
  check(access: Access, caller: Caller): AccessOutcome {
    if (access === 'public' || (access === 'read' && !this.readsNeedToken)) return { ok: true, operator: null };
    if (!this.adminEnabled) return { ok: false, status: 404, error: 'admin-api-disabled' };
    if (!caller.presentedToken) return { ok: false, status: 401, error: 'token-required' };
    if (caller.operator === null) return { ok: false, status: 403, error: 'token-refused' };
    return { ok: true, operator: caller.operator };
  }
}

/**
 * The bearer token of a request: the Authorization header, or (WebSocket upgrades from a
 * browser) a `bearer.<base64url token>` subprotocol. Null when neither carries one.
 */
export function presentedToken(authorization: string | undefined, subprotocols: string | undefined): string | null {
  const match = authorization === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (match !== null) return match[1] as string;
  for (const offered of (subprotocols ?? '').split(',')) {
    const protocol = offered.trim();
    if (protocol.startsWith(TOKEN_SUBPROTOCOL_PREFIX)) {
      const token = Buffer.from(protocol.slice(TOKEN_SUBPROTOCOL_PREFIX.length), 'base64url').toString('utf8');
      return token === '' ? null : token;
    }
  }
  return null;
}
