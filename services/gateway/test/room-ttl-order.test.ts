/**
 * ROOM_TTL_SECONDS may be shorter than UNTOUCHED_ROOM_TTL_SECONDS (an operator who wants
 * rooms gone 5 minutes after they empty, the untouched ttl left at its 10 minutes): then a
 * room's first change must not end it under its connected clients.
 *
 * Found by the soak (issue 12): touch() in lua/prelude.lua took the room's end as
 * `exp - fresh`, but `exp` had been set with the shorter of the two ttls (effective_ttl),
 * so the first change moved `exp` about (fresh - room ttl) into the past: the next script
 * forgot the room, every set was refused as unknown-room, and the pod closed its clients
 * with 1012, who rejoined, made a new room, changed it, and so on.
 */
import { encodeClientSet } from '@cloudvars/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClient, joinedTogether, until } from './support/client.ts';
import { cloud } from './support/conformance.ts';
import { membersAre } from './support/gateway.ts';
import { startTarget, TARGET_KINDS, type Target } from './support/targets.ts';

describe.each(TARGET_KINDS)('ROOM_TTL_SECONDS shorter than UNTOUCHED_ROOM_TTL_SECONDS (%s)', (kind) => {
  let target: Target;
  beforeAll(async () => {
    target = await startTarget(kind, { ROOM_TTL_SECONDS: '30', UNTOUCHED_ROOM_TTL_SECONDS: '600' });
  });
  afterAll(async () => {
    await target.stop();
  });

  it('keeps a room and its clients through its first changes', async () => {
    const room = `ttlorder${kind}`;
    const a = await TestClient.join(target.url(), room, 'alice', { [cloud('x')]: '0' });
    await membersAre(target.gw, room, 1);
    const b = await TestClient.join(target.url(), room, 'bob', { [cloud('x')]: '0' });
    await b.waitFrames(1);
    await joinedTogether(a, b, cloud('x'), '1'); // the room's first change
    for (let n = 2; n <= 5; n++) {
      a.send(encodeClientSet('seed', cloud('x'), String(n)));
      await until(() => b.view.get(cloud('x')) === String(n) || a.closed !== null || b.closed !== null, { what: `set ${n} to reach bob` });
    }
    expect([a.closed, b.closed]).toEqual([null, null]);
    expect((await target.gw.engine.store.snapshot(room))?.variables).toEqual([[cloud('x'), '5']]);
    a.close();
    b.close();
  });
});
