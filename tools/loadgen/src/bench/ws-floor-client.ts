/** Child of ws-floor.ts: opens N plain WebSocket clients and counts what they receive. */
import WebSocket from 'ws';

const count = Number(process.argv[2]);
const url = process.argv[3] ?? '';
let received = 0;
for (let i = 0; i < count; i++) {
  const ws = new WebSocket(url, { perMessageDeflate: false, skipUTF8Validation: true });
  ws.on('message', () => {
    received += 1;
  });
  ws.on('error', (err) => process.stderr.write(`ws-floor client: ${err.message}\n`));
}
process.on('message', () => process.send?.(received));
process.on('disconnect', () => process.exit(0));
