import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { helmTemplate, kubeTools, kustomize } from '../src/kube-tools.ts';
import { byKind, onlyOfKind, parseManifests, validateObject, type K8sObject } from '../src/manifests.ts';
import { envOf, gatewayProblems, redisProblems, type DeploymentSpec } from '../src/invariants.ts';
import { repoPath } from '../src/paths.ts';
import { run } from '../src/run.ts';

const chart = repoPath('k8s', 'helm', 'cloudvars');

/** Hook objects (helm test) are rendered too; CRDs are not modelled by kubernetes-models. */
function validateAll(objects: readonly K8sObject[]): void {
  for (const obj of objects) {
    if (obj.apiVersion === 'monitoring.coreos.com/v1') continue;
    validateObject(obj);
  }
}

function gatewayEnv(objects: readonly K8sObject[]): Map<string, string> {
  const container = (onlyOfKind(objects, 'Deployment').spec as DeploymentSpec).template.spec.containers[0];
  if (container === undefined) throw new Error('no container');
  return envOf(objects, container);
}

describe('helm chart', () => {
  it('passes helm lint --strict', () => {
    const result = run(kubeTools().helm, ['lint', chart, '--strict']);
    expect(result.stdout + result.stderr).toContain('0 chart(s) failed');
    expect(result.code).toBe(0);
  });

  it('renders with default values: valid objects, gateway invariants, in-cluster Redis', () => {
    const objects = parseManifests(helmTemplate(chart, 'cv'));
    validateAll(objects);
    expect(gatewayProblems(objects, { expectHpa: true })).toEqual([]);
    expect(redisProblems(objects)).toEqual([]);
    expect(gatewayEnv(objects).get('REDIS_URL')).toBe('redis://cv-cloudvars-redis:6379');
    // The HPA owns the replica count.
    expect((onlyOfKind(objects, 'Deployment').spec as DeploymentSpec).replicas).toBeUndefined();
  });

  it('renders a helm test hook pod that runs the WebSocket handshake script', () => {
    const objects = parseManifests(helmTemplate(chart, 'cv'));
    const pod = onlyOfKind(objects, 'Pod');
    expect(pod.metadata.annotations?.['helm.sh/hook']).toBe('test');
    const command = (pod.spec as { containers: { command: string[] }[] }).containers[0]?.command ?? [];
    expect(command.slice(0, 3)).toEqual(['node', '--experimental-websocket', '-e']);
    expect(command[3]).toContain("kind: 'handshake'");
  });

  it('with an external Redis, autoscaling off and 5 replicas: no StatefulSet, no HPA, replicas 5, the URL in the Secret', () => {
    const external = 'rediss://:secret@redis.example.internal:6380';
    const objects = parseManifests(helmTemplate(chart, 'cv', [`redis.external.url=${external}`, 'autoscaling.enabled=false', 'replicaCount=5']));
    validateAll(objects);
    expect(gatewayProblems(objects, { expectHpa: false })).toEqual([]);
    expect(byKind(objects, 'StatefulSet')).toEqual([]);
    expect(byKind(objects, 'HorizontalPodAutoscaler')).toEqual([]);
    expect((onlyOfKind(objects, 'Deployment').spec as DeploymentSpec).replicas).toBe(5);
    expect(onlyOfKind(objects, 'Secret').stringData).toEqual({ REDIS_URL: external });
    // Only the gateway NetworkPolicy: no Redis to protect.
    expect(byKind(objects, 'NetworkPolicy').map((n) => n.metadata.name)).toEqual(['cv-cloudvars-gateway']);
  });

  it('renders a ServiceMonitor on the metrics port (never the public one) when enabled', () => {
    const objects = parseManifests(helmTemplate(chart, 'cv', ['metrics.serviceMonitor.enabled=true']));
    validateAll(objects);
    expect(gatewayProblems(objects, { expectHpa: true })).toEqual([]);
    const monitor = onlyOfKind(objects, 'ServiceMonitor');
    expect(monitor.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(monitor.spec).toMatchObject({ endpoints: [{ port: 'metrics', path: '/metrics' }] });
    // It selects the ClusterIP metrics Service, and not the public one.
    const wanted = (monitor.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels;
    const selected = byKind(objects, 'Service').filter((s) => Object.entries(wanted).every(([k, v]) => s.metadata.labels?.[k] === v));
    expect(selected.map((s) => s.metadata.name)).toEqual(['cv-cloudvars-gateway-metrics']);
    const ingress = parseManifests(helmTemplate(chart, 'cv', ['ingress.enabled=true']));
    expect(JSON.stringify(onlyOfKind(ingress, 'Ingress').spec)).not.toContain('metrics');
  });

  it.each(['ClusterIP', 'NodePort', 'LoadBalancer'])('with service.type %s, /metrics stays on a ClusterIP Service of its own', (type) => {
    const objects = parseManifests(helmTemplate(chart, 'cv', [`service.type=${type}`, 'metrics.serviceMonitor.enabled=true']));
    validateAll(objects);
    expect(gatewayProblems(objects, { expectHpa: true })).toEqual([]);
    const service = (name: string): { type: string; ports: { name: string; port: number; targetPort: string }[] } => {
      const found = byKind(objects, 'Service').find((s) => s.metadata.name === name);
      if (found === undefined) throw new Error(`no Service ${name}`);
      return found.spec as { type: string; ports: { name: string; port: number; targetPort: string }[] };
    };
    const publicService = service('cv-cloudvars-gateway');
    expect(publicService.type).toBe(type);
    expect(publicService.ports.map((p) => [p.name, p.targetPort])).toEqual([['http', 'http']]);
    const metricsService = service('cv-cloudvars-gateway-metrics');
    expect(metricsService.type).toBe('ClusterIP');
    expect(metricsService.ports.map((p) => [p.name, p.port, p.targetPort])).toEqual([['metrics', 19080, 'metrics']]);
  });

  it('renders alert rules only over metrics the gateway exports', () => {
    const objects = parseManifests(helmTemplate(chart, 'cv', ['metrics.prometheusRule.enabled=true']));
    const rule = onlyOfKind(objects, 'PrometheusRule');
    const exprs = (rule.spec as { groups: { rules: { alert: string; expr: string }[] }[] }).groups.flatMap((g) => g.rules.map((r) => r.expr));
    expect(exprs.length).toBeGreaterThan(3);
    const exported = new Set(
      [...readFileSync(repoPath('services', 'gateway', 'src', 'metrics.ts'), 'utf8').matchAll(/name: '(cloudvars_[a-z_]+)'/g)].map((m) => m[1]),
    );
    const used = exprs.flatMap((e) => [...e.matchAll(/\b(cloudvars_[a-z_]+)/g)].map((m) => (m[1] ?? '').replace(/_bucket$/, '')));
    expect(used.length).toBeGreaterThan(0);
    for (const name of used) expect(exported, `${name} is exported by the gateway`).toContain(name);
  });

  it('renders the same kinds of objects as the kustomize dev overlay (which adds a Namespace)', () => {
    const kinds = (objects: readonly K8sObject[]): string[] =>
      objects
        .filter((o) => o.kind !== 'Namespace' && o.metadata.annotations?.['helm.sh/hook'] === undefined)
        .map((o) => o.kind)
        .sort();
    const fromHelm = kinds(parseManifests(helmTemplate(chart, 'cv')));
    const fromKustomize = kinds(parseManifests(kustomize(repoPath('k8s', 'overlays', 'dev'))));
    expect(fromHelm).toEqual(fromKustomize);
  });

  it('rejects values the schema forbids', () => {
    const args = ['template', 'cv', chart];
    const badScheme = run(kubeTools().helm, [...args, '--set', 'redis.external.url=ftp://x']);
    expect(badScheme.code).not.toBe(0);
    expect(badScheme.stderr).toContain('redis.external.url');
    const unknownKey = run(kubeTools().helm, [...args, '--set', 'replicas=3']);
    expect(unknownKey.code).not.toBe(0);
  });
});
