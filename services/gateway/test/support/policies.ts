/**
 * What the project-policy tests share (api-policies*.test.ts): putting a policy on one pod
 * and waiting until another enforces it, and the changes every pod ignored.
 */
import { admin, call, roomPath } from './api.ts';
import { until } from './client.ts';
import type { RunningGateway } from './gateway.ts';

export const policyPath = (room: string): string => `/api/v1/projects/${encodeURIComponent(room)}/policy`;

/** The policy GET /api/v1/rooms/{room} shows in force on that pod, or undefined. */
export async function policyShown(pod: RunningGateway, room: string): Promise<unknown> {
  return ((await call(pod.httpUrl, 'GET', roomPath(room))).body as { policy?: unknown }).policy;
}

/**
 * Puts the room's policy through `via` (null: deletes it) and waits until `enforcer`, the
 * pod whose clients are tested, has it in force: no client there reconnects.
 */
export async function policyInForce(via: RunningGateway, enforcer: RunningGateway, room: string, policy: object | null): Promise<void> {
  const answer = policy === null ? await admin(via.httpUrl, 'DELETE', policyPath(room)) : await admin(via.httpUrl, 'PUT', policyPath(room), policy);
  if (answer.status !== 200) throw new Error(`the policy call answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  const expected = JSON.stringify(policy ?? undefined);
  await until(async () => JSON.stringify(await policyShown(enforcer, room)) === expected, { what: `the policy of ${room} in force on the other pod` });
}

/** Changes the pods ignored for `reason` (cloudvars_changes_ignored_total), added up. */
export async function ignored(pods: readonly RunningGateway[], reason: string): Promise<number> {
  let total = 0;
  for (const pod of new Set(pods)) {
    const metric = await pod.metrics.changesIgnored.get();
    total += metric.values.find((value) => value.labels.reason === reason)?.value ?? 0;
  }
  return total;
}
