/**
 * The API's JSON schemas: Fastify validates requests and serializes responses with them,
 * and the OpenAPI document (openapi.ts) is made of the same objects.
 */
import { MAX_PROJECT_ID_LENGTH, MAX_VARIABLE_NAME_LENGTH } from '@cloudvars/protocol';
import { policy } from './policy-schemas.ts';

/** The longest ban, a year: a ban lapses by itself, so a forgotten one does not last forever. */
export const MAX_BAN_SECONDS = 365 * 24 * 60 * 60;
/** Bounds what one ban costs in the store and in every listing. */
export const MAX_BAN_REASON_LENGTH = 200;

const roomName = {
  type: 'string',
  minLength: 1,
  maxLength: MAX_PROJECT_ID_LENGTH,
  description:
    'The project id (or 2020 room name), URL-encoded. Any character may appear: it is mapped to the room id as the protocol maps project ids; a room id as the API answers it names the same room.',
} as const;

export const roomParams = {
  type: 'object',
  required: ['room'],
  properties: { room: roomName },
} as const;

export const errorBody = {
  type: 'object',
  description: 'Every error: a stable code and a sentence for people.',
  required: ['error', 'message'],
  properties: {
    error: { type: 'string', description: 'Stable code, e.g. unknown-room, token-required, rate-limited.' },
    message: { type: 'string' },
  },
} as const;

/** Every route answers its errors in one shape. */
export const errorResponses = { '4xx': errorBody, '5xx': errorBody } as const;

export const roomState = {
  type: 'object',
  required: ['room', 'variables', 'clients'],
  properties: {
    room: { type: 'string', description: 'The room id.' },
    variables: {
      type: 'object',
      additionalProperties: { type: ['string', 'number'] },
      description: 'Variable name -> value, with its JSON type: a number as set by a number (or by a 2020 client: number text), a string as set by a string.',
    },
    clients: { type: 'integer', minimum: 0, description: 'Clients in the room, across every pod.' },
    policy: {
      ...policy,
      description: 'The project policy in force on the pod that answered (PUT /api/v1/projects/{room}/policy); absent: the global settings apply.',
    },
  },
} as const;

export const logEntry = {
  type: 'object',
  required: ['user', 'verb', 'name', 'value', 'timestamp'],
  properties: {
    user: { type: 'string', description: "The client's username, or the operator's name for an admin call." },
    verb: { type: 'string', enum: ['set', 'rename', 'delete'] },
    name: { type: 'string', description: 'The variable (its old name for a rename).' },
    value: { type: 'string', description: 'set: the value (its first 1 KiB); rename: the new name; delete: "".' },
    timestamp: { type: 'integer', description: 'ms since the Unix epoch.' },
  },
} as const;

export const logQuery = {
  type: 'object',
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: 10_000, default: 100, description: 'At most this many entries (and at most CLOUD_LOG_LENGTH).' },
  },
} as const;

export const setBody = {
  type: 'object',
  required: ['name', 'value'],
  properties: {
    name: {
      type: 'string',
      minLength: 1,
      maxLength: MAX_VARIABLE_NAME_LENGTH,
      description: 'A cloud variable name: "☁ " or ":cloud: " and at least one more character.',
    },
    // A type list, not anyOf: Ajv coerces only data that matches none of the types, so 5 stays a number and "5" a string.
    value: {
      type: ['string', 'number'],
      description: "As a client's set, stored with its JSON type: a number (or number text, kept a string), or any text with ALLOW_TEXT_VALUES.",
    },
  },
} as const;

export const setResult = {
  type: 'object',
  required: ['room', 'name', 'value', 'seq'],
  properties: {
    room: { type: 'string' },
    name: { type: 'string' },
    value: { type: ['string', 'number'], description: 'As stored: a number stays a number, a string a string.' },
    seq: { type: 'integer', description: "The change's place in the room's order." },
  },
} as const;

export const kickBody = {
  type: 'object',
  required: ['user'],
  properties: { user: { type: 'string', minLength: 1, maxLength: 64, description: 'Every connection of the room with this username (any case).' } },
} as const;

export const roomActionResult = {
  type: 'object',
  required: ['room', 'seq'],
  properties: { room: { type: 'string' }, user: { type: 'string' }, seq: { type: 'integer' } },
} as const;

const banKind = { type: 'string', enum: ['username', 'address'] } as const;

export const ban = {
  type: 'object',
  required: ['kind', 'value', 'room', 'createdAt', 'expiresAt', 'by', 'reason'],
  properties: {
    kind: banKind,
    value: {
      type: 'string',
      description:
        'A lower-cased username; an IPv4 address; or the IPv6 prefix an IPv6 address ban covers, its /64 (IPV6_PREFIX_LENGTH): 2001:db8:0:0:0:0:0:0/64.',
    },
    room: { anyOf: [{ type: 'string' }, { type: 'null' }], description: 'The room id it applies to; null: every room.' },
    createdAt: { type: 'integer' },
    expiresAt: { type: 'integer', description: 'ms since the Unix epoch; the ban lapses then by itself.' },
    by: { type: 'string' },
    reason: { type: 'string' },
  },
} as const;

export const banBody = {
  type: 'object',
  required: ['kind', 'value', 'seconds'],
  properties: {
    kind: banKind,
    value: {
      type: 'string',
      minLength: 1,
      maxLength: 64,
      description: 'A username (1-20 of [A-Za-z0-9_-]) or an IPv4/IPv6 address (an IPv6 address bans its /64, IPV6_PREFIX_LENGTH).',
    },
    seconds: { type: 'integer', minimum: 1, maximum: MAX_BAN_SECONDS },
    room: {
      type: 'string',
      minLength: 1,
      maxLength: MAX_PROJECT_ID_LENGTH,
      description: 'Only this room: a project id or the room id the API answers, URL-encoded as in paths (a literal % is %25); absent: every room.',
    },
    reason: { type: 'string', maxLength: MAX_BAN_REASON_LENGTH },
  },
} as const;

export const banList = { type: 'object', required: ['bans'], properties: { bans: { type: 'array', items: ban } } } as const;

export const unbanParams = {
  type: 'object',
  required: ['kind', 'value'],
  properties: { kind: banKind, value: { type: 'string', minLength: 1, maxLength: 64 } },
} as const;

export const unbanQuery = {
  type: 'object',
  properties: {
    room: { type: 'string', minLength: 1, maxLength: MAX_PROJECT_ID_LENGTH, description: 'The room of a room ban; absent: the ban of every room.' },
  },
} as const;

export const removed = { type: 'object', required: ['removed'], properties: { removed: { type: 'boolean', const: true } } } as const;

export const blockList = {
  type: 'object',
  required: ['words', 'configured'],
  properties: {
    words: { type: 'array', items: { type: 'string' }, description: 'The run-time list, shared by every pod.' },
    configured: { type: 'array', items: { type: 'string' }, description: 'USERNAME_BLOCKLIST, fixed at start.' },
  },
} as const;

export const wordParams = {
  type: 'object',
  required: ['word'],
  properties: {
    word: { type: 'string', minLength: 1, maxLength: 20, pattern: '^[A-Za-z0-9_-]+$', description: 'A username may contain only these characters.' },
  },
} as const;

export const wordResult = {
  type: 'object',
  required: ['word', 'added'],
  properties: { word: { type: 'string' }, added: { type: 'boolean', description: 'False when it was on the list already.' } },
} as const;
