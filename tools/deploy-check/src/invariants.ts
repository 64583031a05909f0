import type { K8sObject } from './manifests.ts';

/**
 * What every rendering of the gateway tier (each kustomize overlay, the Helm chart with any
 * values) must keep. Returns human-readable problems; an empty list means all hold.
 * The numbers come from the gateway contract: pings every 30 s, drain bounded by
 * SHUTDOWN_TIMEOUT_MS (default 30 s).
 */
export function gatewayProblems(objects: readonly K8sObject[], opts: { expectHpa: boolean }): string[] {
  const problems: string[] = [];
  const check = (ok: boolean, problem: string): void => {
    if (!ok) problems.push(problem);
  };
  const deployments = objects.filter((o) => o.kind === 'Deployment');
  check(deployments.length === 1, `expected one Deployment, found ${deployments.length}`);
  const deployment = deployments[0];
  if (deployment === undefined) return problems;

  const spec = deployment.spec as DeploymentSpec;
  const pod = spec.template.spec;
  const container = pod.containers.find((c) => c.name === 'gateway');
  check(container !== undefined, 'no container named gateway');
  if (container === undefined) return problems;

  check(container.readinessProbe?.httpGet?.path === '/readyz', 'readiness probe is not GET /readyz');
  check(container.livenessProbe?.httpGet?.path === '/healthz', 'liveness probe is not GET /healthz');
  const preStop = container.lifecycle?.preStop?.exec?.command;
  const preStopSeconds = preStop?.[0] === 'sleep' ? Number(preStop[1]) : NaN;
  check(Number.isFinite(preStopSeconds) && preStopSeconds > 0, 'no preStop sleep');

  const env = envOf(objects, container);
  const shutdownSeconds = Number(env.get('SHUTDOWN_TIMEOUT_MS') ?? '30000') / 1000;
  const grace = pod.terminationGracePeriodSeconds ?? 30;
  check(
    grace > shutdownSeconds + (Number.isFinite(preStopSeconds) ? preStopSeconds : 0),
    `terminationGracePeriodSeconds ${grace} does not exceed preStop + SHUTDOWN_TIMEOUT_MS (${shutdownSeconds} s)`,
  );
  check(env.has('REDIS_URL'), 'REDIS_URL does not reach the container');
  check(container.resources?.requests?.cpu !== undefined && container.resources.requests.memory !== undefined, 'no resource requests');
  check(container.resources?.limits?.memory !== undefined, 'no memory limit');

  const podSec = pod.securityContext ?? {};
  const sec = container.securityContext ?? {};
  check(podSec.runAsNonRoot === true || sec.runAsNonRoot === true, 'runAsNonRoot is not set');
  check(sec.readOnlyRootFilesystem === true, 'root filesystem is writable');
  check(sec.allowPrivilegeEscalation === false, 'privilege escalation allowed');
  check(sec.capabilities?.drop?.includes('ALL') === true, 'capabilities not dropped');
  check((pod.topologySpreadConstraints?.length ?? 0) > 0 || pod.affinity?.podAntiAffinity !== undefined, 'no topology spread or pod anti-affinity');

  const service = objects.find((o) => o.kind === 'Service' && o.metadata.name === deployment.metadata.name);
  check(service !== undefined, 'no Service named like the Deployment');
  problems.push(...metricsExposureProblems(objects, deployment.metadata.name, container, spec));

  const hpas = objects.filter((o) => o.kind === 'HorizontalPodAutoscaler');
  if (opts.expectHpa) {
    const hpa = hpas[0];
    check(hpas.length === 1 && hpa?.apiVersion === 'autoscaling/v2', 'expected one autoscaling/v2 HPA');
    if (hpa !== undefined) {
      const hs = hpa.spec as HpaSpec;
      check(hs.scaleTargetRef.name === deployment.metadata.name, 'HPA does not target the Deployment');
      check(
        hs.metrics.some((m) => m.type === 'Resource' && m.resource?.name === 'cpu'),
        'HPA has no CPU metric',
      );
      check(
        hs.metrics.some((m) => m.type === 'Pods' && m.pods?.metric.name === 'cloudvars_connections' && m.pods.target.type === 'AverageValue'),
        'HPA has no Pods metric cloudvars_connections (AverageValue)',
      );
      check((hs.behavior?.scaleDown?.stabilizationWindowSeconds ?? 0) >= 600, 'HPA scale-down stabilization under 10 minutes');
      check(spec.replicas === undefined || hs.minReplicas !== undefined, 'HPA without minReplicas');
    }
  } else {
    check(hpas.length === 0, 'HPA rendered although autoscaling is off');
  }

  check(
    objects.some((o) => o.kind === 'PodDisruptionBudget'),
    'no PodDisruptionBudget',
  );
  check(
    objects.some((o) => o.kind === 'NetworkPolicy'),
    'no NetworkPolicy',
  );
  const ingress = objects.find((o) => o.kind === 'Ingress');
  check(ingress !== undefined, 'no Ingress');
  if (ingress !== undefined) {
    const a = ingress.metadata.annotations ?? {};
    for (const key of ['proxy-read-timeout', 'proxy-send-timeout']) {
      const seconds = Number(a[`nginx.ingress.kubernetes.io/${key}`]);
      check(seconds >= 75, `Ingress ${key} missing or under 75 s (two ping intervals)`);
    }
  }
  const annotations = spec.template.metadata?.annotations ?? {};
  check(
    annotations['prometheus.io/scrape'] === 'true' || objects.some((o) => o.kind === 'ServiceMonitor'),
    'no Prometheus scrape annotations and no ServiceMonitor',
  );
  return problems;
}

/**
 * GET /metrics (the container port named `metrics`) must never be public: the Service named
 * like the Deployment (which may be a NodePort or LoadBalancer, and which the Ingress routes)
 * has no port to it; a separate ClusterIP Service `<deployment>-metrics` selecting the same
 * pods does, and a ServiceMonitor, if any, selects that one only. Pod annotations for
 * annotation-based scraping name the container's metrics port.
 */
export function metricsExposureProblems(objects: readonly K8sObject[], deploymentName: string, container: Container, deployment: DeploymentSpec): string[] {
  const problems: string[] = [];
  const check = (ok: boolean, problem: string): void => {
    if (!ok) problems.push(problem);
  };
  const metricsPort = container.ports?.find((p) => p.name === 'metrics');
  check(metricsPort !== undefined, 'the gateway container has no port named metrics');
  if (metricsPort === undefined) return problems;
  const toMetrics = (port: ServicePort): boolean => port.name === 'metrics' || port.targetPort === 'metrics' || port.targetPort === metricsPort.containerPort;
  const services = objects.filter((o) => o.kind === 'Service');

  const publicService = services.find((o) => o.metadata.name === deploymentName);
  if (publicService !== undefined) {
    const ports = (publicService.spec as ServiceSpec).ports;
    check(!ports.some(toMetrics), `Service ${deploymentName} exposes the metrics port (it may be NodePort or LoadBalancer)`);
  }

  const metricsName = `${deploymentName}-metrics`;
  const metricsService = services.find((o) => o.metadata.name === metricsName);
  check(metricsService !== undefined, `no Service ${metricsName} for the metrics port`);
  if (metricsService !== undefined) {
    const ms = metricsService.spec as ServiceSpec;
    check((ms.type ?? 'ClusterIP') === 'ClusterIP', `Service ${metricsName} is ${ms.type}, not ClusterIP`);
    check(ms.ports.length > 0 && ms.ports.every(toMetrics), `Service ${metricsName} has ports other than the metrics port`);
    check(
      ms.ports.some((p) => p.name === 'metrics'),
      `Service ${metricsName} has no port named metrics`,
    );
    const podLabels = deployment.template.metadata?.labels ?? {};
    const selector = Object.entries(ms.selector ?? {});
    check(selector.length > 0 && selector.every(([k, v]) => podLabels[k] === v), `Service ${metricsName} does not select the gateway pods`);
  }

  for (const monitor of objects.filter((o) => o.kind === 'ServiceMonitor')) {
    const ms = monitor.spec as { selector?: { matchLabels?: Record<string, string> }; endpoints?: { port?: string }[] };
    const wanted = Object.entries(ms.selector?.matchLabels ?? {});
    const selects = (svc: K8sObject): boolean => wanted.every(([k, v]) => svc.metadata.labels?.[k] === v);
    const selected = services.filter((svc) => svc.metadata.namespace === monitor.metadata.namespace && selects(svc));
    check(
      wanted.length > 0 && selected.length === 1 && selected[0]?.metadata.name === metricsName,
      `ServiceMonitor ${monitor.metadata.name} selects ${selected.map((svc) => svc.metadata.name).join(', ') || 'no Service'}, not only ${metricsName}`,
    );
    check(
      (ms.endpoints?.length ?? 0) > 0 && (ms.endpoints ?? []).every((e) => e.port === 'metrics'),
      `ServiceMonitor ${monitor.metadata.name} scrapes a port other than metrics`,
    );
  }

  const annotations = deployment.template.metadata?.annotations ?? {};
  if (annotations['prometheus.io/scrape'] === 'true') {
    check(
      annotations['prometheus.io/port'] === String(metricsPort.containerPort),
      `prometheus.io/port is ${annotations['prometheus.io/port']}, not the metrics port ${metricsPort.containerPort}`,
    );
  }

  for (const ingress of objects.filter((o) => o.kind === 'Ingress')) {
    const text = JSON.stringify(ingress.spec);
    check(!text.includes(metricsName) && !text.includes('"metrics"'), `Ingress ${ingress.metadata.name} routes to the metrics port`);
  }
  return problems;
}

/** Problems of an in-cluster Redis StatefulSet (AOF everysec on a PVC). */
export function redisProblems(objects: readonly K8sObject[]): string[] {
  const problems: string[] = [];
  const sts = objects.filter((o) => o.kind === 'StatefulSet');
  if (sts.length !== 1 || sts[0] === undefined) return [`expected one Redis StatefulSet, found ${sts.length}`];
  const spec = sts[0].spec as { template: { spec: PodSpec }; volumeClaimTemplates?: unknown[] };
  const redis = spec.template.spec.containers[0];
  const args = [...(redis?.command ?? []), ...(redis?.args ?? [])].join(' ');
  if (!args.includes('--appendonly yes')) problems.push('Redis without --appendonly yes');
  if (!args.includes('--maxmemory-policy noeviction'))
    problems.push('Redis without --maxmemory-policy noeviction (an evicted half room breaks joins and sets)');
  if (!args.includes('--appendfsync everysec')) problems.push('Redis without --appendfsync everysec');
  if ((spec.volumeClaimTemplates?.length ?? 0) === 0) problems.push('Redis data is not on a PVC');
  return problems;
}

/** Environment the gateway container sees: env, plus the ConfigMaps and Secrets it loads. */
export function envOf(objects: readonly K8sObject[], container: Container): Map<string, string> {
  const env = new Map<string, string>();
  for (const source of container.envFrom ?? []) {
    const name = source.configMapRef?.name ?? source.secretRef?.name;
    const kind = source.configMapRef !== undefined ? 'ConfigMap' : 'Secret';
    const obj = objects.find((o) => o.kind === kind && o.metadata.name === name);
    // Secret `data` is base64; `stringData` (and ConfigMap `data`) is plain text.
    const data = (obj?.data as Record<string, string> | undefined) ?? {};
    for (const [k, v] of Object.entries(data)) env.set(k, kind === 'Secret' ? Buffer.from(v, 'base64').toString() : v);
    for (const [k, v] of Object.entries((obj?.stringData as Record<string, string> | undefined) ?? {})) env.set(k, v);
  }
  for (const e of container.env ?? []) if (e.value !== undefined) env.set(e.name, e.value);
  return env;
}

// The slices of the Kubernetes types these checks read (kubernetes-models validated the rest).
interface Probe {
  httpGet?: { path?: string };
}
export interface Container {
  name: string;
  ports?: { name?: string; containerPort: number }[];
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command?: string[] } } };
  resources?: { requests?: { cpu?: string; memory?: string }; limits?: { cpu?: string; memory?: string } };
  securityContext?: {
    runAsNonRoot?: boolean;
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    capabilities?: { drop?: string[] };
  };
}
interface PodSpec {
  containers: Container[];
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean };
  topologySpreadConstraints?: unknown[];
  affinity?: { podAntiAffinity?: unknown };
}
export interface DeploymentSpec {
  replicas?: number;
  template: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec: PodSpec };
}
interface ServicePort {
  name?: string;
  port: number;
  targetPort?: string | number;
}
interface ServiceSpec {
  type?: string;
  selector?: Record<string, string>;
  ports: ServicePort[];
}
interface HpaSpec {
  scaleTargetRef: { name: string };
  minReplicas?: number;
  metrics: { type: string; resource?: { name: string }; pods?: { metric: { name: string }; target: { type: string } } }[];
  behavior?: { scaleDown?: { stabilizationWindowSeconds?: number } };
}
