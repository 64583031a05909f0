// End-to-end smoke test of a deployed gateway: run with
//   CLOUDVARS_URL=ws://host:port/ node --experimental-websocket handshake-test.js
// (Node 20 keeps its WebSocket client behind that flag). Two clients hand-shake into one
// fresh room with the same variable. Whichever joins second receives the room's value in
// a `set` frame: that proves a handshake was accepted. It then sets a new value, which the
// other client must receive: that proves fan-out. Exit 0 on success, 1 otherwise.
'use strict';
const url = process.env.CLOUDVARS_URL;
if (!url) {
  console.error('FAIL: CLOUDVARS_URL is not set');
  process.exit(1);
}
const room = 'helm-test-' + Date.now().toString(36) + Math.random().toString(36).slice(2, 8);
const variable = '\u2601 helm test';
const probeValue = String(Math.floor(Math.random() * 1e9));
let finished = false;
const sockets = {};

function finish(code, message) {
  if (finished) return;
  finished = true;
  (code === 0 ? console.log : console.error)(message);
  for (const ws of Object.values(sockets)) ws.close(1000);
  process.exit(code);
}
setTimeout(() => finish(1, 'FAIL: timed out after 20 s'), 20000).unref();

// A server frame may carry several messages separated by newlines.
function sets(data) {
  return String(data)
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line))
    .filter((msg) => msg.kind === 'set' && msg.variable === variable);
}

function connect(name) {
  const ws = new WebSocket(url);
  sockets[name] = ws;
  ws.addEventListener('open', () => {
    ws.send(JSON.stringify({ kind: 'handshake', room, username: name, variables: { [variable]: '1' } }));
  });
  ws.addEventListener('message', (event) => {
    for (const msg of sets(event.data)) {
      if (msg.value === probeValue) {
        finish(0, 'OK: handshake and set delivered through ' + url);
      } else if (msg.value === '1') {
        // This client joined an existing room: the other one is in it. Set a new value.
        sockets[name].send(JSON.stringify({ kind: 'set', variable, value: probeValue }));
      }
    }
  });
  ws.addEventListener('close', (event) => finish(1, 'FAIL: ' + name + ' closed with code ' + event.code));
  ws.addEventListener('error', () => finish(1, 'FAIL: ' + name + ' could not talk to ' + url));
}

connect('helmtestA');
connect('helmtestB');
