/**
 * The API's metrics, on the pod's registry (GET /metrics): calls by route and status, admin
 * calls by action and result, live subscriptions. Made once per registry.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

export interface ApiMetrics {
  readonly requests: Counter<'route' | 'status'>;
  readonly adminCalls: Counter<'action' | 'result'>;
  readonly liveViewers: Gauge;
}

const made = new WeakMap<Registry, ApiMetrics>();

export function apiMetrics(registry: Registry): ApiMetrics {
  let metrics = made.get(registry);
  if (metrics === undefined) {
    const registers = [registry];
    metrics = {
      requests: new Counter({
        name: 'cloudvars_api_requests_total',
        help: 'HTTP API calls by route (its pattern) and status code.',
        labelNames: ['route', 'status'],
        registers,
      }),
      adminCalls: new Counter({
        name: 'cloudvars_admin_calls_total',
        help: 'Admin API calls by action and result (ok, refused, unauthorized, forbidden, rate-limited, error).',
        labelNames: ['action', 'result'],
        registers,
      }),
      liveViewers: new Gauge({
        name: 'cloudvars_live_viewers',
        help: 'Live room page subscriptions on this pod, from their admission (before the upgrade) until their socket closed.',
        registers,
      }),
    };
    made.set(registry, metrics);
  }
  return metrics;
}
