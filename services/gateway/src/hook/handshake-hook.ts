/**
 * The handshake hook (issue 22, HANDSHAKE_HOOK_URL): before a client is admitted, the pod
 * POSTs `{project, user, dialect, userAgent, origin, addressHash}` to the operator's service
 * (their account check) and follows its answer. HTTP 200 with `{"allow": true}` admits,
 * `{"allow": true, "user": "newname"}` admits under that name, `{"allow": false, "code":
 * 4002|4004, "reason": "..."}` refuses with that code; anything else (another status, other
 * JSON, no answer within the timeout, a network error, more calls at once than the cap) is
 * the hook being down, and HANDSHAKE_HOOK_FAIL_MODE decides: admit as asked, or refuse with
 * 1011 (every client retries).
 *
 * Answers are cached per pod for HANDSHAKE_HOOK_CACHE_SECONDS, keyed by the whole request,
 * so a reconnecting client (a page reload, a retry after a close) costs the service nothing;
 * identical calls in flight at once share one request. "Down" is never cached: the next
 * handshake asks again.
 */
import { createHmac } from 'node:crypto';
import { CloseCode, checkUsername, type Dialect, type ProtocolLimits } from '@cloudvars/protocol';
import type { FastifyBaseLogger } from 'fastify';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { HandshakeHookConfig } from '../config.ts';

/** What the hook is sent, as documented in the README. */
export interface HookRequest {
  readonly project: string;
  readonly user: string;
  /** 'scratch' (today's clients) or the 2020 dialect's name. */
  readonly dialect: string;
  /** '' when the client sent none. */
  readonly userAgent: string;
  /** '' when the client sent none (bots, servers). */
  readonly origin: string;
  /** HMAC-SHA256 (hex) of the client's address as limits count it (an IPv6 address by its prefix). */
  readonly addressHash: string;
}

/** What the hook is told of a connection besides its handshake: from the upgrade's headers. */
export interface Visitor {
  readonly userAgent: string;
  readonly origin: string;
}

/** What the gateway does with the client. */
export type HookVerdict =
  { readonly admit: true; readonly user: string } | { readonly admit: false; readonly code: number; readonly reason: string; readonly hookReason: string };

/** The hook's own answer (cached), or that it is down (never cached). */
type Answer =
  | { readonly kind: 'allow'; readonly user: string | null }
  | { readonly kind: 'refuse'; readonly code: 4002 | 4004; readonly reason: string }
  | { readonly kind: 'down'; readonly why: 'timeout' | 'error' | 'bad-answer' | 'busy' };

/** Outcome labels of cloudvars_handshake_hook_calls_total. */
type Outcome = 'allow' | 'rename' | 'refuse' | 'timeout' | 'error' | 'bad-answer' | 'busy';

/** Cached answers kept at most per pod: bounds memory whatever the traffic; the oldest go first. */
const MAX_CACHED = 10_000;
/** A longer answer body is no documented answer (and is not read further into memory). */
const MAX_ANSWER_BYTES = 4_096;
/** The hook's reason as logged, cut: it is the operator's text, but a log line stays short. */
const MAX_LOGGED_REASON = 200;

export interface HandshakeHookOptions {
  readonly config: HandshakeHookConfig;
  /** For the renamed user: the dialect's own username rules apply to it. */
  readonly protocolLimits: ProtocolLimits;
  readonly registry: Registry;
  readonly log: FastifyBaseLogger;
}

interface Cached {
  readonly answer: Answer;
  readonly expiresAt: number;
}

export class HandshakeHook {
  private readonly cache = new Map<string, Cached>();
  private readonly pending = new Map<string, Promise<Answer>>();
  private inFlight = 0;
  private readonly calls: Counter<'outcome'>;
  private readonly cacheHits: Counter;
  private readonly latency: Histogram;
  private readonly addressKey: string;

  constructor(private readonly options: HandshakeHookOptions) {
    const registers = [options.registry];
    this.calls = new Counter({
      name: 'cloudvars_handshake_hook_calls_total',
      help: 'Handshake hook calls by outcome: allow, rename, refuse, or the hook being down (timeout, error, bad-answer, busy: over HANDSHAKE_HOOK_MAX_IN_FLIGHT).',
      labelNames: ['outcome'],
      registers,
    });
    this.cacheHits = new Counter({
      name: 'cloudvars_handshake_hook_cache_hits_total',
      help: 'Handshakes answered from the hook cache, without a call.',
      registers,
    });
    this.latency = new Histogram({
      name: 'cloudvars_handshake_hook_seconds',
      help: 'Handshake hook calls, from the request to its answer (or the timeout).',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.addressKey = options.config.secret === '' ? options.config.url : options.config.secret;
    if (options.config.secret === '') {
      // The service knows its own URL: an IPv4 address hashed with it is found by trying all 2^32.
      options.log.warn(
        { code: 'CV_WARN_HOOK_NO_SECRET' },
        'HANDSHAKE_HOOK_SECRET is unset: the hook is called without a token and addressHash is keyed by the hook URL, so the service can recover IPv4 addresses; set a secret to keep them from it',
      );
    }
  }

  /** The request for a client: its address is only sent hashed. */
  request(fields: Omit<HookRequest, 'addressHash'>, address: string): HookRequest {
    return { ...fields, addressHash: createHmac('sha256', this.addressKey).update(address).digest('hex') };
  }

  /** What to do with the client: the hook's answer, or the fail mode's when it is down. */
  async decide(request: HookRequest, dialect: Dialect): Promise<HookVerdict> {
    const answer = await this.answer(request);
    switch (answer.kind) {
      case 'allow': {
        if (answer.user === null) return { admit: true, user: request.user };
        // The new name must be one the client's dialect accepts (and not blocked): else the answer is no answer.
        const limits = this.options.protocolLimits;
        const renamed = checkUsername(answer.user, limits, dialect.name === 'scratch' ? limits.scratchUsernameMinLength : limits.usernameMinLength);
        if (renamed.ok) return { admit: true, user: renamed.value };
        this.options.log.warn(
          { room: request.project, code: 'CV_ERR_HOOK_ANSWER' },
          'the handshake hook renamed a user to a name the dialect refuses; treating the hook as down',
        );
        return this.whenDown(request, 'bad-answer');
      }
      case 'refuse':
        return { admit: false, code: answer.code, reason: 'hook-refused', hookReason: answer.reason };
      case 'down':
        return this.whenDown(request, answer.why);
    }
  }

  private whenDown(request: HookRequest, why: string): HookVerdict {
    if (this.options.config.failOpen) return { admit: true, user: request.user };
    return { admit: false, code: CloseCode.InternalError, reason: 'hook-down', hookReason: why };
  }

  private async answer(request: HookRequest): Promise<Answer> {
    const key = JSON.stringify(request);
    const now = Date.now();
    const cached = this.cache.get(key);
    if (cached !== undefined) {
      if (cached.expiresAt > now) {
        this.cacheHits.inc();
        return cached.answer;
      }
      this.cache.delete(key);
    }
    const shared = this.pending.get(key);
    if (shared !== undefined) return shared;
    if (this.inFlight >= this.options.config.maxInFlight) {
      this.count({ kind: 'down', why: 'busy' }, request);
      return { kind: 'down', why: 'busy' };
    }
    const call = this.call(request).then((answer) => {
      this.pending.delete(key);
      if (answer.kind !== 'down' && this.options.config.cacheMs > 0) this.remember(key, answer);
      return answer;
    });
    this.pending.set(key, call);
    return call;
  }

  private remember(key: string, answer: Answer): void {
    if (this.cache.size >= MAX_CACHED) {
      const oldest = this.cache.keys().next();
      if (oldest.done !== true) this.cache.delete(oldest.value);
    }
    this.cache.set(key, { answer, expiresAt: Date.now() + this.options.config.cacheMs });
  }

  private async call(request: HookRequest): Promise<Answer> {
    const { url, timeoutMs, secret } = this.options.config;
    this.inFlight++;
    const stopTimer = this.latency.startTimer();
    let answer: Answer;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(secret !== '' && { authorization: `Bearer ${secret}` }) },
        body: JSON.stringify(request),
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'error',
      });
      const text = response.status === 200 ? await bodyWithin(response, MAX_ANSWER_BYTES) : null;
      answer = text === null ? { kind: 'down', why: 'bad-answer' } : readAnswer(text);
      if (answer.kind === 'down')
        this.options.log.warn({ room: request.project, status: response.status, code: 'CV_ERR_HOOK_ANSWER' }, 'the handshake hook gave no documented answer');
    } catch (error) {
      const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
      answer = { kind: 'down', why: timedOut ? 'timeout' : 'error' };
      this.options.log.warn(
        { room: request.project, err: timedOut ? undefined : error, timeoutMs, code: 'CV_ERR_HOOK_DOWN' },
        timedOut ? 'the handshake hook did not answer in time' : 'calling the handshake hook failed',
      );
    } finally {
      this.inFlight--;
      stopTimer();
    }
    this.count(answer, request);
    return answer;
  }

  private count(answer: Answer, request: HookRequest): void {
    const outcome: Outcome =
      answer.kind === 'down' ? answer.why : answer.kind === 'allow' ? (answer.user === null || answer.user === request.user ? 'allow' : 'rename') : 'refuse';
    this.calls.inc({ outcome });
  }
}

/**
 * The answer's body as text, or null once it passes `maxBytes`: reading stops there (and the
 * rest is dropped), so a hook that answers with megabytes costs the pod no more than that.
 */
async function bodyWithin(response: Response, maxBytes: number): Promise<string | null> {
  if (response.body === null) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += chunk.byteLength;
    // Leaving the loop cancels the stream (the iterator's return()).
    if (size > maxBytes) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The documented answers, and nothing else: any other field, type or code is no answer. */
function readAnswer(text: string): Answer {
  const bad: Answer = { kind: 'down', why: 'bad-answer' };
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return bad;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return bad;
  const { allow, user, code, reason } = body as Record<string, unknown>;
  if (allow === true) {
    if (code !== undefined || reason !== undefined) return bad;
    if (user === undefined) return { kind: 'allow', user: null };
    return typeof user === 'string' ? { kind: 'allow', user } : bad;
  }
  if (allow === false) {
    if (user !== undefined || (code !== CloseCode.Username && code !== CloseCode.ProjectUnavailable)) return bad;
    if (reason !== undefined && typeof reason !== 'string') return bad;
    return { kind: 'refuse', code, reason: (reason ?? '').slice(0, MAX_LOGGED_REASON) };
  }
  return bad;
}
