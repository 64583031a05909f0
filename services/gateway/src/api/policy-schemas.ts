/**
 * The JSON schemas of project policies, for the OpenAPI document and for serializing
 * answers. Requests are validated by parsePolicy (policy/policy.ts), which refuses what
 * Fastify's default validation would quietly drop or coerce (unknown fields, "true").
 */
import { MAX_POLICY_ENTRIES, MAX_REASON_LENGTH, POLICY_CEILINGS } from '../policy/policy.ts';

const pattern = {
  type: 'string',
  minLength: 1,
  maxLength: 1024,
  description: 'A cloud variable name ("☁ score"), or the start of names followed by one * at the end ("☁ top*", "☁ *" for every variable).',
} as const;

const rule = {
  type: 'object',
  additionalProperties: false,
  properties: {
    min: { type: 'number', description: 'A set to a number below it is ignored and counted.' },
    max: { type: 'number', description: 'A set to a number above it is ignored and counted.' },
    increasing: { type: 'boolean', description: 'True: only a number above the stored one is kept (a high score).' },
  },
} as const;

const limit = (name: keyof typeof POLICY_CEILINGS, description: string) =>
  ({ type: 'integer', minimum: 1, maximum: POLICY_CEILINGS[name], description: `${description} Ceiling: ${POLICY_CEILINGS[name]}.` }) as const;

export const policy = {
  type: 'object',
  additionalProperties: false,
  description: "A project's policy: each field absent keeps the global setting. A PUT replaces the whole policy.",
  properties: {
    blocked: { type: 'boolean', description: 'True: clients in the room are closed and new ones refused with 4004 ("project unavailable"), on every pod.' },
    frozen: {
      type: 'boolean',
      description: 'True: read-only for clients (their sets, renames and deletes ignored and counted); joins are served; the API may still set.',
    },
    reason: { type: 'string', maxLength: MAX_REASON_LENGTH, description: "The operator's note, logged with every client a block closes or refuses." },
    textValues: { type: 'boolean', description: 'Any text is a value in this room (true), or only numbers (false), whatever ALLOW_TEXT_VALUES says.' },
    protected: {
      type: 'array',
      maxItems: MAX_POLICY_ENTRIES,
      items: pattern,
      description: "Variables only the API may set; clients' changes to them are ignored and counted.",
    },
    rules: {
      type: 'object',
      maxProperties: MAX_POLICY_ENTRIES,
      additionalProperties: rule,
      description: 'Variable name or pattern -> its rule; a set that breaks it is ignored and counted.',
    },
    limits: {
      type: 'object',
      additionalProperties: false,
      description: "This project's limits instead of the global settings, each within its ceiling.",
      properties: {
        maxVariables: limit('maxVariables', 'Variables the room may hold (MAX_VARIABLES).'),
        maxValueLength: limit('maxValueLength', 'Longest value in characters (MAX_VALUE_LENGTH).'),
        maxRoomBytes: limit('maxRoomBytes', 'Bytes of names and values (MAX_ROOM_BYTES).'),
        maxClientsPerRoom: limit('maxClientsPerRoom', 'Clients in the room across the cluster (MAX_CLIENTS_PER_ROOM).'),
        setsPerSecond: limit('setsPerSecond', 'Sets per second per connection (RATE_LIMIT_PER_SECOND).'),
      },
    },
  },
} as const;

export const policyAnswer = {
  type: 'object',
  required: ['room', 'policy'],
  properties: { room: { type: 'string', description: 'The room id.' }, policy },
} as const;
