/**
 * Moderation routes (admin only): bans of a username or an address, everywhere or in one
 * room, for a time; the username block list, changed at run time. Both live in the room
 * engine, so they hold on every pod, and joins check them at every handshake.
 */
import { isIP } from 'node:net';
import { canonicalAddress, type BanKind } from '@cloudvars/rooms';
import type { FastifyInstance } from 'fastify';
import { addressForLimits } from '../address.ts';
import { fromEngine, type ApiContext } from './context.ts';
import { ApiError } from './errors.ts';
import { parseRoom } from './rooms-routes.ts';
import * as schemas from './schemas.ts';
import { assertApiUsername } from './username-param.ts';

/**
 * A ban's value as the engine keeps it, or a 400 saying what a value of that kind is. An
 * address is the key every per-address limit counts it under (addressForLimits), which is
 * also what a handshake's ban check is given: an IPv4 address as it is, an IPv6 address
 * as its IPV6_PREFIX_LENGTH prefix (`2001:db8::1` -> `2001:db8:0:0:0:0:0:0/64`), since its
 * holder has every other address of that prefix. The prefix form itself (what the bans list
 * shows) is taken too, so a listed ban can be lifted as listed.
 */
function banValue(kind: BanKind, value: string, ipv6PrefixLength: number): string {
  if (kind === 'username') {
    assertApiUsername(value, 'invalid-ban-value');
    return value.toLowerCase();
  }
  const slash = value.indexOf('/');
  const address = slash === -1 ? value : value.slice(0, slash);
  if (slash !== -1 && (isIP(address) !== 6 || value.slice(slash + 1) !== String(ipv6PrefixLength))) {
    throw new ApiError(
      400,
      'invalid-ban-value',
      `a prefix is an IPv6 address's /${ipv6PrefixLength} (IPV6_PREFIX_LENGTH): ban an address, it covers its prefix`,
    );
  }
  if (isIP(address) === 0)
    throw new ApiError(400, 'invalid-ban-value', 'an address is an IPv4 or IPv6 address, as the server sees the client (after TRUST_PROXY)');
  return addressForLimits(canonicalAddress(address), ipv6PrefixLength);
}

export function moderationRoutes(api: FastifyInstance, context: ApiContext): void {
  const { moderation } = context.engine;
  const { ipv6PrefixLength } = context.config;

  api.get(
    '/bans',
    {
      config: { access: 'admin', action: 'list-bans' },
      schema: { summary: 'Every live ban, the soonest to lapse first', response: { 200: schemas.banList, ...schemas.errorResponses } },
    },
    async () => ({ bans: await fromEngine(moderation.bans()) }),
  );

  api.post<{ Body: { kind: BanKind; value: string; seconds: number; room?: string; reason?: string } }>(
    '/bans',
    {
      config: { access: 'admin', action: 'ban' },
      bodyLimit: 16 * 1024,
      schema: {
        summary: 'Ban a username or an address, everywhere or in one room, for a time (checked at every handshake on every pod)',
        description:
          'A banned username is refused with 4002 (TurboWarp and the Packager ask for another name); a banned address with 4004 ' +
          "(today's clients stop for good). An IPv6 address ban covers its /64 (IPV6_PREFIX_LENGTH), the unit every per-address " +
          "limit counts: the ban's value is that prefix (2001:db8::1 is kept as 2001:db8:0:0:0:0:0:0/64). " +
          'Clients already connected stay: kick them. Banning a target again replaces its ban.',
        body: schemas.banBody,
        response: { 201: schemas.ban, ...schemas.errorResponses },
      },
    },
    async (request, reply) => {
      const { kind, seconds, reason = '' } = request.body;
      const value = banValue(kind, request.body.value, ipv6PrefixLength);
      const room = request.body.room === undefined ? null : parseRoom(request.body.room, 'body');
      request.audit = { kind, value, room, seconds, reason };
      const by = request.operator ?? '';
      const result = await fromEngine(moderation.ban({ kind, value, room, ttlMs: seconds * 1000, by, reason }));
      if (!result.ok) throw new ApiError(409, result.reason, 'the server holds as many live bans as it may (10,000)');
      return reply.code(201).send(result.ban);
    },
  );

  api.delete<{ Params: { kind: BanKind; value: string }; Querystring: { room?: string } }>(
    '/bans/:kind/:value',
    {
      config: { access: 'admin', action: 'unban' },
      schema: {
        summary: 'Lift a ban',
        description:
          'The value as banned, or as listed: an IPv6 address lifts the ban of its /64 (IPV6_PREFIX_LENGTH), as does that prefix (URL-encoded, /: %2F).',
        params: schemas.unbanParams,
        querystring: schemas.unbanQuery,
        response: { 200: schemas.removed, ...schemas.errorResponses },
      },
    },
    async (request) => {
      const { kind } = request.params;
      const value = banValue(kind, request.params.value, ipv6PrefixLength);
      const room = request.query.room === undefined ? null : parseRoom(request.query.room);
      request.audit = { kind, value, room };
      let removed = await fromEngine(moderation.unban({ kind, value, room }));
      const asWritten = canonicalAddress(request.params.value);
      if (!removed && kind === 'address' && asWritten !== value && isIP(asWritten) === 6) {
        // Made before IPv6 bans covered a prefix, a ban was kept under the address itself (and never matched a client).
        removed = await fromEngine(moderation.unban({ kind, value: asWritten, room }));
      }
      if (!removed) throw new ApiError(404, 'not-banned', 'no live ban of that target');
      return { removed: true };
    },
  );

  api.get(
    '/blocklist',
    {
      config: { access: 'admin', action: 'list-blocklist' },
      schema: {
        summary: "The username block list: the run-time words, and USERNAME_BLOCKLIST's",
        response: { 200: schemas.blockList, ...schemas.errorResponses },
      },
    },
    async () => ({ words: await fromEngine(moderation.blockedWords()), configured: context.config.usernameBlockList }),
  );

  api.put<{ Params: { word: string } }>(
    '/blocklist/:word',
    {
      config: { access: 'admin', action: 'block-word' },
      schema: {
        summary: 'Refuse usernames containing this word (any case) from the next handshake on, on every pod (4002)',
        params: schemas.wordParams,
        response: { 200: schemas.wordResult, ...schemas.errorResponses },
      },
    },
    async (request) => {
      const word = request.params.word.toLowerCase();
      request.audit = { word };
      const result = await fromEngine(moderation.blockWord(word));
      if (result === 'list-full') throw new ApiError(409, 'list-full', 'the block list holds as many words as it may (1,000)');
      return { word, added: result === 'added' };
    },
  );

  api.delete<{ Params: { word: string } }>(
    '/blocklist/:word',
    {
      config: { access: 'admin', action: 'unblock-word' },
      schema: { summary: 'Take a word off the run-time block list', params: schemas.wordParams, response: { 200: schemas.removed, ...schemas.errorResponses } },
    },
    async (request) => {
      const word = request.params.word.toLowerCase();
      request.audit = { word };
      if (!(await fromEngine(moderation.unblockWord(word)))) throw new ApiError(404, 'not-blocked', 'the word is not on the run-time block list');
      return { removed: true };
    },
  );
}
