/**
 * The OpenAPI 3.1 document of the API, made from the routes' own JSON schemas as they are
 * registered (so it cannot drift from what Fastify validates and serializes). OpenAPI 3.1
 * takes JSON Schema as it is.
 */
import type { RouteOptions } from 'fastify';
import type { Access } from './access.ts';

type Schema = Readonly<Record<string, unknown>>;

interface RouteSchema {
  readonly summary?: string;
  readonly description?: string;
  readonly params?: Schema;
  readonly querystring?: Schema;
  readonly body?: Schema;
  readonly response?: Readonly<Record<string, Schema>>;
}

interface CollectedRoute {
  readonly method: string;
  readonly url: string;
  readonly schema: RouteSchema;
  readonly access: Access;
  /** A WebSocket route: documented as its upgrade. */
  readonly websocket: boolean;
}

function parameters(schema: Schema | undefined, where: 'path' | 'query'): object[] {
  const properties = (schema?.properties ?? {}) as Record<string, Schema>;
  const required = new Set((schema?.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => ({
    name,
    in: where,
    required: where === 'path' || required.has(name),
    ...(typeof property.description === 'string' ? { description: property.description } : {}),
    schema: property,
  }));
}

function statusKey(code: string): string {
  return /^[1-5]xx$/.test(code) ? code.toUpperCase() : code;
}

export class OpenApiDocument {
  private readonly routes: CollectedRoute[] = [];
  private built: object | null = null;

  constructor(private readonly info: { readonly title: string; readonly version: string; readonly description: string }) {}

  /** Fastify's onRoute: every route of the API scope, as it is registered. */
  collect(route: RouteOptions, access: Access): void {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      if (method === 'HEAD') continue;
      this.routes.push({
        method: method.toLowerCase(),
        url: route.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}'),
        schema: (route.schema ?? {}) as RouteSchema,
        access,
        websocket: route.wsHandler !== undefined,
      });
    }
    this.built = null;
  }

  document(): object {
    return (this.built ??= this.build());
  }

  private build(): object {
    const paths: Record<string, Record<string, object>> = {};
    for (const route of this.routes) {
      const { schema } = route;
      const responses: Record<string, object> = {};
      if (route.websocket) responses['101'] = { description: 'Switching protocols: the WebSocket opens.' };
      for (const [code, body] of Object.entries(schema.response ?? {})) {
        responses[statusKey(code)] = {
          description: typeof body.description === 'string' ? body.description : 'JSON',
          content: { 'application/json': { schema: body } },
        };
      }
      const operation: Record<string, unknown> = {
        summary: schema.summary ?? '',
        ...(schema.description !== undefined ? { description: schema.description } : {}),
        parameters: [...parameters(schema.params, 'path'), ...parameters(schema.querystring, 'query')],
        responses,
        // read: public unless API_READS_NEED_TOKEN; both schemes are listed and the empty one means "no token".
        security: route.access === 'admin' ? [{ bearer: [] }] : route.access === 'read' ? [{}, { bearer: [] }] : [],
        'x-access': route.access,
      };
      if (schema.body !== undefined) operation.requestBody = { required: true, content: { 'application/json': { schema: schema.body } } };
      (paths[route.url] ??= {})[route.method] = operation;
    }
    return {
      openapi: '3.1.0',
      info: this.info,
      paths,
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'A token of ADMIN_TOKENS (`name:token`): send the token.' },
        },
      },
    };
  }
}
