// A Mist 0.0.2 bot in a process of its own (mist-identify.test.ts): Mist throws from its
// socket's close handler on 4002/4003/4004/4006, which would fail the test runner's worker.
// It records every text frame and the close frame before Mist's handlers see them, catches
// Mist's throw as a bot's uncaughtException hook would, and prints one JSON report.
// argv: the gateway's ws:// URL, a project id, the User-Agent contact Mist sends after its name.
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../../../packages/test-support/package.json', import.meta.url));
const Mist = require('@turbowarp/mist');

const [url, projectId, userAgent] = process.argv.slice(2);
const report = { frames: [], close: null, uncaught: null, errors: [] };
let finished = false;
function finish() {
  if (finished) return;
  finished = true;
  process.stdout.write(`${JSON.stringify(report)}\n`);
  process.exit(0);
}
process.on('uncaughtException', (error) => {
  report.uncaught = error instanceof Error ? error.message : String(error);
  finish();
});
// A bound for a failing run only: the report then says what was seen.
setTimeout(finish, 15_000).unref();

const connection = new Mist({ cloudHost: url, projectId, userAgent });
connection.on('error', (error) => report.errors.push(error.message));
const socket = connection._ws;
const mistOnMessage = socket.onmessage;
socket.onmessage = (event) => {
  report.frames.push(String(event.data));
  mistOnMessage(event);
};
const mistOnClose = socket.onclose;
socket.onclose = (event) => {
  report.close = { code: event.code, reason: event.reason };
  mistOnClose(event);
  // Mist did not throw: it reconnects; the report says so.
  finish();
};
