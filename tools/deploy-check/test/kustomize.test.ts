import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { kustomize } from '../src/kube-tools.ts';
import { byKind, onlyOfKind, parseManifests, validateObject } from '../src/manifests.ts';
import { envOf, gatewayProblems, redisProblems, type DeploymentSpec } from '../src/invariants.ts';
import { repoPath } from '../src/paths.ts';

const overlays = readdirSync(repoPath('k8s', 'overlays'));

describe('kustomize overlays', () => {
  it('has the dev and production overlays', () => {
    expect(overlays.sort()).toEqual(['dev', 'production']);
  });

  describe.each(overlays)('overlay %s', (overlay) => {
    const objects = parseManifests(kustomize(repoPath('k8s', 'overlays', overlay)));

    it('renders only objects that pass the Kubernetes schema', () => {
      expect(objects.length).toBeGreaterThan(5);
      for (const obj of objects) validateObject(obj);
    });

    it('keeps the gateway invariants (probes, drain, security, HPA, PDB, ingress timeouts)', () => {
      expect(gatewayProblems(objects, { expectHpa: true })).toEqual([]);
    });

    it('serves /metrics only on the ClusterIP Service cloudvars-gateway-metrics, never on the public one', () => {
      const services = new Map(
        byKind(objects, 'Service').map((s) => [s.metadata.name, s.spec as { type?: string; ports: { name: string; targetPort: string }[] }]),
      );
      expect(services.get('cloudvars-gateway')?.ports.map((p) => p.targetPort)).toEqual(['http']);
      const metrics = services.get('cloudvars-gateway-metrics');
      expect(metrics?.type).toBe('ClusterIP');
      expect(metrics?.ports).toEqual([{ name: 'metrics', port: 19080, targetPort: 'metrics', protocol: 'TCP' }]);
    });

    it('puts every namespaced object in the overlay namespace', () => {
      const namespaces = new Set(objects.filter((o) => o.kind !== 'Namespace').map((o) => o.metadata.namespace));
      expect([...namespaces]).toEqual([onlyOfKind(objects, 'Namespace').metadata.name]);
    });
  });

  it('dev runs Redis in the cluster with AOF on a PVC, and the gateway points at it', () => {
    const objects = parseManifests(kustomize(repoPath('k8s', 'overlays', 'dev')));
    expect(redisProblems(objects)).toEqual([]);
    const redisService = byKind(objects, 'Service').find((s) => s.metadata.name === 'cloudvars-redis');
    expect(redisService).toBeDefined();
    const container = (onlyOfKind(objects, 'Deployment').spec as DeploymentSpec).template.spec.containers[0];
    expect(container && envOf(objects, container).get('REDIS_URL')).toBe('redis://cloudvars-redis:6379');
  });

  it('production uses an external Redis: no StatefulSet, a rediss:// URL in the Secret', () => {
    const objects = parseManifests(kustomize(repoPath('k8s', 'overlays', 'production')));
    // The HPA owns the replica count.
    expect((onlyOfKind(objects, 'Deployment').spec as DeploymentSpec).replicas).toBeUndefined();
    expect(byKind(objects, 'StatefulSet')).toEqual([]);
    const container = (onlyOfKind(objects, 'Deployment').spec as DeploymentSpec).template.spec.containers[0];
    expect(container && envOf(objects, container).get('REDIS_URL')).toMatch(/^rediss:\/\//);
  });
});
