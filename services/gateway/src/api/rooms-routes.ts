/**
 * Room routes: read a room and its log (public unless API_READS_NEED_TOKEN), subscribe to it
 * live, and the admin calls that change it: set a variable, delete the room, kick a user.
 * Every answer comes from the room engine, so every pod answers alike.
 */
import { readStoredValue, scratchDialect, typedVariables } from '@cloudvars/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { addressForLimits } from '../address.ts';
import { roomBudget } from '../policy/policy.ts';
import { roomProtocolLimits } from '../policy/room-limits.ts';
import { LIVE_SUBPROTOCOL } from './access.ts';
import { fromEngine, operatorOrigin, type ApiContext } from './context.ts';
import { ApiError } from './errors.ts';
import { logAsText } from './log-text.ts';
import { roomFromBody, roomFromPath } from './room-param.ts';
import * as schemas from './schemas.ts';
import { assertApiUsername } from './username-param.ts';

interface RoomParams {
  readonly room: string;
}

export function parseRoom(raw: string, from: 'path' | 'body' = 'path'): string {
  const room = from === 'path' ? roomFromPath(raw) : roomFromBody(raw);
  if (room === null) throw new ApiError(400, 'invalid-room', 'a room is a project id of 1-999 characters, URL-encoded');
  return room;
}

function unknownRoom(room: string): ApiError {
  return new ApiError(404, 'unknown-room', `there is no room ${JSON.stringify(room)}`);
}

function operatorOf(request: FastifyRequest): string {
  // The access hook let an admin call through only with an operator's token.
  if (request.operator === null) throw new ApiError(403, 'token-refused', 'an admin call needs an operator token');
  return request.operator;
}

export function roomRoutes(api: FastifyInstance, context: ApiContext): void {
  const { engine, config, viewers } = context;
  const { store } = engine;

  api.get<{ Params: RoomParams }>(
    '/rooms/:room',
    {
      config: { access: 'read' },
      schema: {
        summary: 'A room: its variables and how many clients it has across the cluster',
        params: schemas.roomParams,
        response: { 200: schemas.roomState, ...schemas.errorResponses },
      },
    },
    async (request) => {
      const room = parseRoom(request.params.room);
      const [snapshot, clients] = await fromEngine(Promise.all([store.snapshot(room), store.memberCount(room)]));
      if (snapshot === null) throw unknownRoom(room);
      // fromEntries defines own properties: a name like "__proto__" stays data.
      const policy = context.policies.get(room);
      return { room, variables: typedVariables(snapshot.variables), clients, ...(policy !== null && { policy }) };
    },
  );

  api.get<{ Params: RoomParams; Querystring: { limit: number } }>(
    '/rooms/:room/log',
    {
      config: { access: 'read' },
      schema: {
        summary: "The room's cloud log, newest first (the shape of Scratch's cloud log)",
        params: schemas.roomParams,
        querystring: schemas.logQuery,
        response: { 200: { type: 'array', items: schemas.logEntry }, ...schemas.errorResponses },
      },
    },
    async (request) => {
      const room = parseRoom(request.params.room);
      const log = await fromEngine(store.log(room, request.query.limit));
      if (log === null) throw unknownRoom(room);
      return logAsText(log);
    },
  );

  api.route<{ Params: RoomParams }>({
    method: 'GET',
    url: '/rooms/:room/live',
    config: { access: 'read' },
    schema: {
      summary: 'A read-only WebSocket subscription to the room (the live room page uses it)',
      description:
        'Upgrade with the subprotocol "cloudvars-live" (a browser may offer its token as a second one, "bearer.<base64url token>"). ' +
        'Frames, one JSON object each: {"type":"snapshot","room","variables"} first and after a resync; {"type":"set","name","value"}, ' +
        '{"type":"rename","name","newName"}, {"type":"delete","name"} as they happen; {"type":"status","clients","log"} every few seconds ' +
        'when it changed. Close codes: 4404 no such room, 4010 room deleted, 1003 the page sent something, 1008 it did not read, ' +
        '1011 the store failed, 1012 the pod drains. Not a member of the room: it counts toward no limit of the room and cannot set.',
      params: schemas.roomParams,
      response: { ...schemas.errorResponses },
    },
    preHandler: async (request) => {
      parseRoom(request.params.room);
      // request.ws: node handed the socket over as an upgrade (an Upgrade header alone, on a
      // socket kept alive, is no upgrade), so the seat admit() takes is given back when it closes.
      if (!request.ws) {
        throw new ApiError(426, 'upgrade-required', 'open this URL as a WebSocket', { upgrade: 'websocket' });
      }
      const refusal = viewers.admit(addressForLimits(request.ip, config.ipv6PrefixLength), request.raw.socket);
      if (refusal !== null) throw new ApiError(refusal.status, refusal.error, refusal.message, { 'retry-after': '5' });
    },
    handler: async () => {
      throw new ApiError(426, 'upgrade-required', 'open this URL as a WebSocket', { upgrade: 'websocket' });
    },
    wsHandler: (socket: WebSocket, request: FastifyRequest<{ Params: RoomParams }>) => {
      viewers.upgraded(socket, request.raw.socket);
      if (socket.protocol !== '' && socket.protocol !== LIVE_SUBPROTOCOL) {
        socket.close(1002, 'subprotocol');
        return;
      }
      void viewers.open(socket, parseRoom(request.params.room), addressForLimits(request.ip, config.ipv6PrefixLength));
    },
  });

  api.post<{ Params: RoomParams; Body: { name: string; value: string | number } }>(
    '/rooms/:room/set',
    {
      config: { access: 'admin', action: 'set' },
      // A value may be as long as a client's frame may be.
      bodyLimit: config.maxPayloadBytes,
      schema: {
        summary: 'Set a variable as a client would: same validation, same order, fanned out to every client; logged as the operator',
        params: schemas.roomParams,
        body: schemas.setBody,
        response: { 200: schemas.setResult, ...schemas.errorResponses },
      },
    },
    async (request) => {
      const room = parseRoom(request.params.room);
      const { name, value } = request.body;
      request.audit = { room, name };
      // The scratch dialect's own reading of a set (the broadest any client gets), by the
      // room's limits: its policy's text values, value length, variables and bytes hold for
      // the operator too (frozen and protected do not: they are about clients).
      const policy = context.policies.get(room);
      const limits = roomProtocolLimits(context.protocolLimits, policy);
      const parsed = scratchDialect.parseMessage({ method: 'set', name, value }, limits);
      if (!parsed.ok || parsed.value.kind !== 'set') throw new ApiError(400, 'invalid-name', 'a name starts with "☁ " or ":cloud: " and has more after it');
      if (!parsed.value.valid) {
        throw new ApiError(
          400,
          'invalid-value',
          limits.allowTextValues ? `a value has at most ${limits.maxValueLength} characters` : 'a value is a number (text values are off for this room)',
        );
      }
      const operator = operatorOf(request);
      // Stored with its type, as a Scratch 3 client's set: 5 stays a number, "5" a string.
      const stored = parsed.value.value;
      const result = await fromEngine(store.set(room, operatorOrigin(operator), name, stored, { create: true, user: operator, ...roomBudget(policy) }));
      if (!result.ok) {
        if (result.reason === 'unknown-room') throw unknownRoom(room);
        throw new ApiError(
          409,
          result.reason,
          result.reason === 'over-budget'
            ? "the room would exceed its byte budget (MAX_ROOM_BYTES, or its policy's maxRoomBytes)"
            : "the room has as many variables as it may (MAX_VARIABLES, or its policy's maxVariables)",
        );
      }
      return { room, name, value: readStoredValue(stored), seq: result.seq };
    },
  );

  api.delete<{ Params: RoomParams }>(
    '/rooms/:room',
    {
      config: { access: 'admin', action: 'delete-room' },
      schema: {
        summary: 'Delete a room: its clients on every pod are closed (4010, they reconnect to an empty room); its values and log are gone',
        params: schemas.roomParams,
        response: { 200: schemas.roomActionResult, ...schemas.errorResponses },
      },
    },
    async (request) => {
      const room = parseRoom(request.params.room);
      request.audit = { room };
      const result = await fromEngine(store.deleteRoom(room, operatorOrigin(operatorOf(request))));
      if (!result.ok) throw unknownRoom(room);
      return { room, seq: result.seq };
    },
  );

  api.post<{ Params: RoomParams; Body: { user: string } }>(
    '/rooms/:room/kick',
    {
      config: { access: 'admin', action: 'kick' },
      bodyLimit: 16 * 1024,
      schema: {
        summary: 'Close every connection of the room with this username, on every pod (4002: TurboWarp and the Packager stop and ask for another name)',
        params: schemas.roomParams,
        body: schemas.kickBody,
        response: { 200: schemas.roomActionResult, ...schemas.errorResponses },
      },
    },
    async (request) => {
      const room = parseRoom(request.params.room);
      const { user } = request.body;
      request.audit = { room, user };
      assertApiUsername(user, 'invalid-user');
      const result = await fromEngine(store.kick(room, operatorOrigin(operatorOf(request)), user));
      if (!result.ok) throw unknownRoom(room);
      return { room, user, seq: result.seq };
    },
  );
}
