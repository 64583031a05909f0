/**
 * ADMIN_TOKENS (the HTTP API's admin tokens) reaches the gateways as a secret in every
 * deployment: the Helm chart (inline into its Secret, or from a Secret the operator manages),
 * compose (a Docker secret file, empty by default: no admin API) and kustomize (an optional
 * Secret the operator creates). Never through a ConfigMap.
 */
import { readFileSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { helmTemplate, kubeTools, kustomize } from '../src/kube-tools.ts';
import { onlyOfKind, parseManifests, validateObject, type K8sObject } from '../src/manifests.ts';
import type { Container, DeploymentSpec } from '../src/invariants.ts';
import { repoPath } from '../src/paths.ts';
import { run } from '../src/run.ts';

const chart = repoPath('k8s', 'helm', 'cloudvars');
const TOKENS = 'ops.alice:alice-token-0123456789';

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}

function gateway(objects: readonly K8sObject[]): Container & { env?: EnvVar[]; envFrom?: { secretRef?: { name: string; optional?: boolean } }[] } {
  const container = (onlyOfKind(objects, 'Deployment').spec as DeploymentSpec).template.spec.containers[0];
  if (container === undefined) throw new Error('no container');
  return container;
}

function secretData(objects: readonly K8sObject[]): Record<string, string> {
  return (onlyOfKind(objects, 'Secret').stringData as Record<string, string> | undefined) ?? {};
}

describe('ADMIN_TOKENS in the Helm chart', () => {
  it('renders no token by default: no admin API', () => {
    const objects = parseManifests(helmTemplate(chart, 'cv'));
    expect(secretData(objects).ADMIN_TOKENS).toBeUndefined();
    expect(gateway(objects).env?.map((env) => env.name)).not.toContain('ADMIN_TOKENS');
  });

  it("stores admin.tokens in the chart's Secret, which the gateway reads", () => {
    const objects = parseManifests(helmTemplate(chart, 'cv', [`admin.tokens=${TOKENS}`]));
    for (const obj of objects) if (obj.apiVersion !== 'monitoring.coreos.com/v1') validateObject(obj);
    expect(secretData(objects).ADMIN_TOKENS).toBe(TOKENS);
    const secretName = onlyOfKind(objects, 'Secret').metadata.name;
    expect(gateway(objects).envFrom?.some((source) => source.secretRef?.name === secretName)).toBe(true);
    expect(JSON.stringify(onlyOfKind(objects, 'ConfigMap'))).not.toContain('alice-token');
  });

  it('reads the list from a Secret the operator manages with admin.existingSecret', () => {
    const objects = parseManifests(helmTemplate(chart, 'cv', ['admin.existingSecret=cloudvars-admin']));
    for (const obj of objects) if (obj.apiVersion !== 'monitoring.coreos.com/v1') validateObject(obj);
    expect(gateway(objects).env).toContainEqual({ name: 'ADMIN_TOKENS', valueFrom: { secretKeyRef: { name: 'cloudvars-admin', key: 'ADMIN_TOKENS' } } });
    expect(secretData(objects).ADMIN_TOKENS).toBeUndefined();
  });

  it.each([
    ['both admin.tokens and admin.existingSecret', [`admin.tokens=${TOKENS}`, 'admin.existingSecret=x'], /set one of them/],
    ['a malformed list', ['admin.tokens=no-colon-here'], /admin.tokens|pattern/],
    ['a token in the ConfigMap', [`config.ADMIN_TOKENS=${TOKENS}`], /config|ADMIN_TOKENS/],
  ])('refuses %s', (_what, sets, message) => {
    const args = ['template', 'cv', chart, '--namespace', 'cloudvars'];
    for (const set of sets) args.push('--set', set);
    const result = run(kubeTools().helm, args);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(message);
  });
});

describe('ADMIN_TOKENS in docker-compose.yml', () => {
  const compose = parse(readFileSync(repoPath('docker-compose.yml'), 'utf8')) as {
    services: Record<string, { environment?: Record<string, string>; secrets?: string[] }>;
    secrets: Record<string, { file: string }>;
  };

  it('hands the gateways a Docker secret file, empty by default (no admin API), never a plain variable', () => {
    const gatewayService = compose.services.gateway;
    expect(gatewayService?.environment?.ADMIN_TOKENS_FILE).toBe('/run/secrets/admin_tokens');
    expect(gatewayService?.environment?.ADMIN_TOKENS).toBeUndefined();
    expect(gatewayService?.secrets).toContain('admin_tokens');
    const source = compose.secrets.admin_tokens?.file ?? '';
    const fallback = /^\$\{CLOUDVARS_ADMIN_TOKENS_FILE:-(.+)\}$/.exec(source)?.[1];
    expect(fallback).toBeDefined();
    expect(statSync(repoPath(fallback as string)).size).toBe(0);
  });
});

describe('ADMIN_TOKENS in the kustomize base', () => {
  it.each(['dev', 'production'])('%s: the gateway reads an optional cloudvars-admin Secret the operator creates', (overlay) => {
    const objects = parseManifests(kustomize(repoPath('k8s', 'overlays', overlay)));
    expect(gateway(objects).envFrom).toContainEqual({ secretRef: { name: 'cloudvars-admin', optional: true } });
    expect(objects.filter((obj) => obj.kind === 'Secret').map((obj) => obj.metadata.name)).not.toContain('cloudvars-admin');
  });
});
