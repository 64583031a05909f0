/**
 * Calling the operators' HTTP API in tests, and checking answers against the schemas the
 * API publishes in its own OpenAPI document (a small JSON Schema checker for the keywords
 * the API uses: the shapes tested are the shapes documented).
 */
import { afterEach, expect } from 'vitest';
import type { RunningGateway } from './gateway.ts';
import { startTarget, type Target, type TargetKind } from './targets.ts';

export const OPERATOR = { name: 'ops.alice', token: 'alice-token-0123456789' } as const;
export const OTHER_OPERATOR = { name: 'ops.bob', token: 'bob-token-9876543210ab' } as const;

/** Settings for a gateway with an admin API, and rate limits no test reaches by accident. */
export const API_ENV: Readonly<Record<string, string>> = {
  ADMIN_TOKENS: `${OPERATOR.name}:${OPERATOR.token},${OTHER_OPERATOR.name}:${OTHER_OPERATOR.token}`,
  API_RATE_LIMIT_PER_MINUTE: '100000',
  API_OPERATOR_RATE_LIMIT_PER_MINUTE: '100000',
};

/** The gateways of one test, started on demand and stopped after it. */
export interface TestPods {
  /** Two pods (the same gateway twice on memory) with API_ENV and `env`: clients and calls go to both. */
  pods(env?: Record<string, string>): Promise<[RunningGateway, RunningGateway]>;
  /** The target itself, with exactly `env` (no API_ENV). */
  start(env: Record<string, string>): Promise<Target>;
}

/** For a describe block of API tests: each test starts its pods, and they stop after it. */
export function podsPerTest(kind: TargetKind): TestPods {
  let target: Target | undefined;
  afterEach(async () => {
    await target?.stop();
    target = undefined;
  });
  const start = async (env: Record<string, string>): Promise<Target> => (target = await startTarget(kind, env));
  return {
    start,
    async pods(env = {}) {
      const started = await start({ ...API_ENV, ...env });
      return [started.gw, started.other ?? started.gw];
    },
  };
}

export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  /** Parsed JSON, or the text when it is not JSON. */
  readonly body: unknown;
}

export interface CallOptions {
  /** A bearer token; OPERATOR's by default for `admin`, none otherwise. */
  readonly token?: string | null;
  /** Sent as JSON unless it is a string (sent as it is). */
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

export async function call(base: string, method: string, path: string, options: CallOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(`${base}${path}`, { method, headers, body });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON: kept as text for the assertion to show.
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

/** An admin call with OPERATOR's token. */
export function admin(base: string, method: string, path: string, body?: unknown): Promise<Answer> {
  return call(base, method, path, { token: OPERATOR.token, body });
}

/** A room's path segment: a project id, URL-encoded. */
export function roomPath(projectId: string): string {
  return `/api/v1/rooms/${encodeURIComponent(projectId)}`;
}

type Schema = Record<string, unknown>;

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function typeMatches(expected: string, actual: string): boolean {
  return expected === actual || (expected === 'number' && actual === 'integer');
}

/** Where `value` breaks `schema`: one line per breach, empty when it conforms. */
export function schemaErrors(schema: Schema, value: unknown, path = '$'): string[] {
  const errors: string[] = [];
  const types = schema.type === undefined ? [] : Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
  const actual = typeOf(value);
  if (types.length > 0 && !types.some((type) => typeMatches(type, actual))) return [`${path}: ${actual}, not ${types.join('|')}`];
  if (Array.isArray(schema.anyOf) && !(schema.anyOf as Schema[]).some((option) => schemaErrors(option, value, path).length === 0)) {
    errors.push(`${path}: matches none of anyOf`);
  }
  if (schema.enum !== undefined && !(schema.enum as unknown[]).includes(value)) errors.push(`${path}: ${JSON.stringify(value)} not in enum`);
  if (schema.const !== undefined && schema.const !== value) errors.push(`${path}: not ${JSON.stringify(schema.const)}`);
  if (typeof value === 'number' && typeof schema.minimum === 'number' && value < schema.minimum) errors.push(`${path}: below ${schema.minimum}`);
  if (actual === 'object') {
    const object = value as Record<string, unknown>;
    for (const name of (schema.required ?? []) as string[]) if (!Object.hasOwn(object, name)) errors.push(`${path}.${name}: missing`);
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    for (const [name, item] of Object.entries(object)) {
      const declared = properties[name];
      if (declared !== undefined) errors.push(...schemaErrors(declared, item, `${path}.${name}`));
      else if (typeof schema.additionalProperties === 'object') errors.push(...schemaErrors(schema.additionalProperties as Schema, item, `${path}.${name}`));
      else if (schema.additionalProperties === false || schema.properties !== undefined) errors.push(`${path}.${name}: not in the schema`);
    }
  }
  if (actual === 'array' && schema.items !== undefined) {
    (value as unknown[]).forEach((item, index) => errors.push(...schemaErrors(schema.items as Schema, item, `${path}[${index}]`)));
  }
  return errors;
}

interface OpenApi {
  readonly paths: Record<string, Record<string, { responses: Record<string, { content?: { 'application/json': { schema: Schema } } }> }>>;
}

const documents = new Map<string, Promise<OpenApi>>();

/** The API's own OpenAPI document, read once per gateway. */
export function openApi(base: string): Promise<OpenApi> {
  let document = documents.get(base);
  if (document === undefined) {
    document = call(base, 'GET', '/api/v1/openapi.json').then((answer) => answer.body as OpenApi);
    documents.set(base, document);
  }
  return document;
}

/**
 * Asserts that an answer has `status` and a body that conforms to the schema the document
 * gives for that route (an OpenAPI path such as /api/v1/rooms/{room}) and status.
 */
export async function expectDocumented(base: string, method: string, route: string, answer: Answer, status: number): Promise<void> {
  expect(answer.status, JSON.stringify(answer.body)).toBe(status);
  const responses = (await openApi(base)).paths[route]?.[method.toLowerCase()]?.responses ?? {};
  const documented = responses[String(status)] ?? responses[`${String(status)[0]}XX`];
  const schema = documented?.content?.['application/json'].schema;
  expect(schema, `${method} ${route} documents ${status}`).toBeDefined();
  expect(schemaErrors(schema as Schema, answer.body), `${method} ${route} ${status}`).toEqual([]);
}
