import { createRequire } from 'node:module';
import { parseAllDocuments } from 'yaml';

/** One rendered Kubernetes object, as far as these checks need to know it. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

interface Validatable {
  validate(): void;
}
type ModelClass = new (data: unknown) => Validatable;

const require = createRequire(import.meta.url);

/** Splits multi-document YAML into objects, dropping empty documents; a YAML error throws. */
export function parseManifests(text: string): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) {
      throw Object.assign(new Error(`CV_ERR_YAML: ${doc.errors.map((e) => e.message).join('; ')}`), { code: 'CV_ERR_YAML' });
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (!isObject(value)) throw Object.assign(new Error('CV_ERR_YAML: a document is not a mapping'), { code: 'CV_ERR_YAML' });
    objects.push(value);
  }
  return objects;
}

function isObject(value: unknown): value is K8sObject {
  if (typeof value !== 'object' || value === null) return false;
  const o = value as Record<string, unknown>;
  const meta = o.metadata as Record<string, unknown> | undefined;
  return typeof o.apiVersion === 'string' && typeof o.kind === 'string' && typeof meta?.name === 'string';
}

/**
 * The kubernetes-models 4.x class for an object: core kinds live at `v1/<Kind>`, grouped
 * kinds at `<group>/<version>/<Kind>`, which is exactly apiVersion + kind.
 * Throws CV_ERR_UNKNOWN_KIND for kinds the package does not model (CRDs).
 */
function modelClass(apiVersion: string, kind: string): ModelClass {
  let mod: unknown;
  try {
    mod = require(`kubernetes-models/${apiVersion}/${kind}`);
  } catch (err) {
    throw Object.assign(new Error(`CV_ERR_UNKNOWN_KIND: no kubernetes-models class for ${apiVersion} ${kind}`, { cause: err }), {
      code: 'CV_ERR_UNKNOWN_KIND',
    });
  }
  const cls = (mod as Record<string, unknown>)[kind];
  if (typeof cls !== 'function') {
    throw Object.assign(new Error(`CV_ERR_UNKNOWN_KIND: kubernetes-models/${apiVersion}/${kind} exports no ${kind}`), {
      code: 'CV_ERR_UNKNOWN_KIND',
    });
  }
  return cls as ModelClass;
}

/** Validates one object against the Kubernetes OpenAPI schema; throws with the reason. */
export function validateObject(obj: K8sObject): void {
  const Model = modelClass(obj.apiVersion, obj.kind);
  try {
    new Model(obj).validate();
  } catch (err) {
    throw Object.assign(new Error(`CV_ERR_INVALID_OBJECT: ${obj.kind}/${obj.metadata.name}: ${String(err)}`, { cause: err }), {
      code: 'CV_ERR_INVALID_OBJECT',
    });
  }
}

export const byKind = (objects: readonly K8sObject[], kind: string): K8sObject[] => objects.filter((o) => o.kind === kind);

/** The single object of a kind; throws when there are none or several. */
export function onlyOfKind(objects: readonly K8sObject[], kind: string): K8sObject {
  const found = byKind(objects, kind);
  if (found.length !== 1 || found[0] === undefined) throw new Error(`CV_ERR_EXPECTED_ONE: ${found.length} objects of kind ${kind}`);
  return found[0];
}
