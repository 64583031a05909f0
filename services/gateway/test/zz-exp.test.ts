import { it } from 'vitest';
import { TestClient } from './support/client.ts';
import { startGateway } from './support/gateway.ts';
it('exp', async () => {
  const gw = await startGateway();
  for (const n of [1, 10, 50, 100]) {
    const t0 = performance.now();
    const clients = await Promise.all(Array.from({ length: n }, () => TestClient.connect(gw.url)));
    const t1 = performance.now();
    for (const c of clients) c.send('x');
    await Promise.all(clients.map((c) => c.waitClose()));
    console.log('N', n, 'connect', Math.round(t1 - t0), 'close', Math.round(performance.now() - t1));
  }
  const t0 = performance.now();
  for (let i = 0; i < 50; i++) { const c = await TestClient.connect(gw.url); c.send('x'); await c.waitClose(); }
  console.log('seq50', Math.round(performance.now() - t0));
  await gw.stop();
});
