/**
 * One error shape for the whole API, `{"error": code, "message": text}`, whatever raised it:
 * a handler (ApiError), Fastify's validation and body parsing, or the engine.
 */
import { RoomEngineError } from '@cloudvars/rooms';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    /** Headers the answer carries (Retry-After, WWW-Authenticate). */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Fastify's own request errors, by its code, as ours. */
const FASTIFY_ERRORS: Readonly<Record<string, { status: number; error: string }>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, error: 'body-too-large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, error: 'unsupported-media-type' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, error: 'invalid-content-length' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, error: 'invalid-json' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, error: 'invalid-json' },
};

export function sendApiError(reply: FastifyReply, error: FastifyError | Error, request: FastifyRequest): FastifyReply {
  if (error instanceof ApiError) {
    for (const [name, value] of Object.entries(error.headers)) void reply.header(name, value);
    return reply.code(error.statusCode).send({ error: error.code, message: error.message });
  }
  const fastifyError = error as FastifyError;
  if (fastifyError.validation !== undefined) {
    return reply.code(400).send({ error: 'invalid-request', message: fastifyError.message });
  }
  const known = fastifyError.code === undefined ? undefined : FASTIFY_ERRORS[fastifyError.code];
  if (known !== undefined) return reply.code(known.status).send({ error: known.error, message: fastifyError.message });
  // JSON.parse's SyntaxError, raised through the content-type parser.
  if (error instanceof SyntaxError || (fastifyError.statusCode === 400 && /JSON/i.test(fastifyError.message))) {
    return reply.code(400).send({ error: 'invalid-json', message: 'the body is not valid JSON' });
  }
  if (error instanceof RoomEngineError) {
    request.log.error({ err: error, code: error.code, url: request.url }, 'api: the room engine failed');
    return reply.code(503).header('retry-after', '1').send({ error: 'store-unavailable', message: 'the room store did not answer; try again' });
  }
  const status = fastifyError.statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    return reply.code(status).send({ error: 'bad-request', message: fastifyError.message });
  }
  request.log.error({ err: error, url: request.url, code: 'CV_ERR_API' }, 'api: request failed');
  return reply.code(500).send({ error: 'internal-error', message: 'the request failed on this server' });
}
