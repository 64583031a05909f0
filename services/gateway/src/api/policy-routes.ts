/**
 * Project policies (admin only): read, replace and remove the policy of one project. The
 * engine keeps them, so they hold on every pod and across restarts; each pod's policy book
 * hears of a change at once (policy/policy-book.ts). A PUT is in force on the pod that
 * answered it before the answer is sent.
 */
import type { FastifyInstance } from 'fastify';
import { parsePolicy, policyFromText } from '../policy/policy.ts';
import { fromEngine, type ApiContext } from './context.ts';
import { ApiError } from './errors.ts';
import { policy, policyAnswer } from './policy-schemas.ts';
import { parseRoom } from './rooms-routes.ts';
import * as schemas from './schemas.ts';

interface RoomParams {
  readonly room: string;
}

/** A policy's JSON: a few hundred names and rules at most. */
const POLICY_BODY_LIMIT = 256 * 1024;

function noPolicy(room: string): ApiError {
  return new ApiError(404, 'no-policy', `the room ${JSON.stringify(room)} has no policy: the global settings apply`);
}

export function policyRoutes(api: FastifyInstance, context: ApiContext): void {
  const { policies } = context.engine;
  const book = context.policies;

  api.get<{ Params: RoomParams }>(
    '/projects/:room/policy',
    {
      config: { access: 'admin', action: 'read-policy' },
      schema: { summary: "A project's policy, as stored", params: schemas.roomParams, response: { 200: policyAnswer, ...schemas.errorResponses } },
    },
    async (request) => {
      const room = parseRoom(request.params.room);
      request.audit = { room };
      const text = await fromEngine(policies.get(room));
      if (text === null) throw noPolicy(room);
      const parsed = policyFromText(text);
      if (!parsed.ok) throw new ApiError(500, 'invalid-stored-policy', `the stored policy is not valid: ${parsed.message}`);
      return { room, policy: parsed.policy };
    },
  );

  api.put<{ Params: RoomParams; Body: unknown }>(
    '/projects/:room/policy',
    {
      config: { access: 'admin', action: 'put-policy' },
      bodyLimit: POLICY_BODY_LIMIT,
      // The schema documents the body; parsePolicy validates it (see policy-schemas.ts), and parseRoom the room.
      validatorCompiler: () => (data: unknown) => ({ value: data }),
      schema: {
        summary: "Set (replace) a project's policy, in force on every pod within a second",
        description:
          'The whole policy: a field left out takes the global setting. Unknown fields, limits over their ceiling and names that are ' +
          'neither a cloud variable nor a "☁ start*" pattern are refused (400). Clients already in the room follow it without reconnecting.',
        params: schemas.roomParams,
        body: policy,
        response: { 200: policyAnswer, ...schemas.errorResponses },
      },
    },
    async (request) => {
      const room = parseRoom(request.params.room);
      const parsed = parsePolicy(request.body);
      request.audit = { room, policy: parsed.ok ? parsed.policy : null };
      if (!parsed.ok) throw new ApiError(400, 'invalid-policy', parsed.message);
      const result = await fromEngine(policies.put(room, JSON.stringify(parsed.policy)));
      if (result === 'too-many-policies') throw new ApiError(409, result, 'the server holds as many policies as it may (10,000)');
      book.stored(room, parsed.policy);
      return { room, policy: parsed.policy };
    },
  );

  api.delete<{ Params: RoomParams }>(
    '/projects/:room/policy',
    {
      config: { access: 'admin', action: 'delete-policy' },
      schema: {
        summary: "Remove a project's policy: the global settings apply again",
        params: schemas.roomParams,
        response: { 200: schemas.removed, ...schemas.errorResponses },
      },
    },
    async (request) => {
      const room = parseRoom(request.params.room);
      request.audit = { room };
      if (!(await fromEngine(policies.delete(room)))) throw noPolicy(room);
      book.stored(room, null);
      return { removed: true };
    },
  );
}
