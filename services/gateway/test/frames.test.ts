/**
 * Frames that are not the protocol's messages, before and after the handshake, and the
 * transport rules of PROTOCOL.md: binary frames, the payload limit, the handshake timeout,
 * the ping round, and invalid UTF-8.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { joinedTogether, TestClient, until } from './support/client.ts';
import { closeOf, cloud, handshakeOf, refusal, sendRaw, serverSet, type Outgoing } from './support/conformance.ts';
import { membersAre, startGateway, type RunningGateway } from './support/gateway.ts';

const VARS = { [cloud('a')]: '0' };
let roomCounter = 0;
const freshRoom = (): string => `fr${++roomCounter}`;

const MALFORMED: ReadonlyArray<readonly [string, Outgoing]> = [
  ['not JSON', 'hello'],
  ['truncated JSON', '{"kind":"set"'],
  ['an empty text frame', ''],
  ['a JSON array', '[{"kind":"handshake"}]'],
  ['a JSON number', '5'],
  ['a JSON string', '"handshake"'],
  ['JSON true', 'true'],
  ['JSON null', 'null'],
  ['an object without kind', { room: 'r', username: 'abc', variables: VARS }],
  ['an object whose kind is a number', { kind: 1 }],
  ['an object whose kind is null', { kind: null }],
  ['an object of unknown kind', { kind: 'hello' }],
  ['an object of kind "Handshake" (case matters)', { kind: 'Handshake' }],
  ['a binary frame', new TextEncoder().encode(JSON.stringify({ kind: 'set', variable: cloud('a'), value: '1' }))],
];

describe('frames on a default gateway', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(async () => {
    await gw.stop();
  });

  it.each(MALFORMED)('closes with 4000 on %s as the first frame', async (_what, frame) => {
    expect(await refusal(gw.url, [frame])).toEqual({ code: 4000, frames: [] });
  });

  it.each(MALFORMED)('closes with 4000 on %s after the handshake', async (_what, frame) => {
    const room = freshRoom();
    const client = await TestClient.join(gw.url, room, 'someone', VARS);
    await membersAre(gw, room, 1);
    sendRaw(client, frame);
    expect((await closeOf(client)).code).toBe(4000);
    expect(client.frames).toEqual([]);
  });

  it('ignores additional properties on a handshake, at the top level and in nested objects', async () => {
    const room = freshRoom();
    const creator = await TestClient.connect(gw.url);
    creator.sendJson({ ...handshakeOf('seed', room, 'creator', VARS), id: 'other-room', extra: [1, 2], nested: { kind: 'set' } });
    await membersAre(gw, room, 1);
    const reader = await TestClient.join(gw.url, room, 'reader', VARS);
    await reader.waitFrames(1);
    await joinedTogether(creator, reader, cloud('a'), '4');
    expect(creator.closed).toBeNull();
  });

  it("closes with 1009 on a frame over the default 1 MiB (TurboWarp's server's limit), as the first frame", async () => {
    expect(await refusal(gw.url, ['x'.repeat(1024 * 1024 + 1)])).toEqual({ code: 1009, frames: [] });
  });

  it('closes with 1007 on a text frame of invalid UTF-8, and keeps serving others', async () => {
    const room = freshRoom();
    const a = await TestClient.join(gw.url, room, 'alpha', VARS);
    await membersAre(gw, room, 1);
    const b = await TestClient.join(gw.url, room, 'bravo', VARS);
    await b.waitFrames(1);
    const bad = await TestClient.connect(gw.url);
    // ws sends a Buffer as a text frame without checking it, as a broken client would.
    bad.socket.send(Buffer.from([0x7b, 0xc3, 0x28, 0xff, 0x7d]), { binary: false });
    expect((await closeOf(bad)).code).toBe(1007);
    await joinedTogether(a, b, cloud('a'), '1');
    await joinedTogether(b, a, cloud('a'), '2');
    expect((await fetch(`${gw.httpUrl}/healthz`)).status).toBe(200);
  });

  it('sends its close frame (1007, 1009, 4000) to clients that keep sending after the fault: none sees the socket reset (1006)', async () => {
    const faults: ReadonlyArray<readonly [number, (client: TestClient) => void]> = [
      [1007, (client) => client.socket.send(Buffer.from([0x7b, 0xc3, 0x28, 0xff, 0x7d]), { binary: false })],
      [1009, (client) => client.send('x'.repeat(1024 * 1024 + 1))],
      [4000, (client) => client.send('not json')],
    ];
    const codes: number[] = [];
    const expected: number[] = [];
    await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        const [code, fault] = faults[i % faults.length] as (typeof faults)[number];
        expected.push(code);
        const client = await TestClient.connect(gw.url);
        fault(client);
        // Keep sending, as a fuzzer or a broken client does, until the close arrives.
        const flood = setInterval(() => {
          if (client.socket.readyState === client.socket.OPEN) client.send('{"kind":"set"}'.repeat(200));
        }, 1);
        try {
          codes.push((await closeOf(client, 10_000)).code);
        } finally {
          clearInterval(flood);
        }
      }),
    );
    expect(codes.sort()).toEqual(expected.sort());
  });
});

describe('payload limit', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await startGateway({ MAX_PAYLOAD_BYTES: '1024' });
  });
  afterAll(async () => {
    await gw.stop();
  });

  /** A handshake padded with an ignored property to exactly `bytes` bytes of UTF-8. */
  function paddedHandshake(room: string, bytes: number): string {
    const base = JSON.stringify({ ...handshakeOf('seed', room, 'padded', VARS), pad: '' });
    const text = base.replace('"pad":""', `"pad":"${'x'.repeat(bytes - Buffer.byteLength(base))}"`);
    expect(Buffer.byteLength(text)).toBe(bytes);
    return text;
  }

  it('admits a frame of exactly MAX_PAYLOAD_BYTES', async () => {
    const room = freshRoom();
    const client = await TestClient.connect(gw.url);
    client.send(paddedHandshake(room, 1024));
    await membersAre(gw, room, 1);
    expect(client.closed).toBeNull();
  });

  it('closes with 1009 on a frame one byte over MAX_PAYLOAD_BYTES, before and after the handshake', async () => {
    expect((await refusal(gw.url, [paddedHandshake(freshRoom(), 1025)])).code).toBe(1009);
    const room = freshRoom();
    const joined = await TestClient.join(gw.url, room, 'joined', VARS);
    await membersAre(gw, room, 1);
    joined.send(JSON.stringify({ kind: 'set', variable: cloud('a'), value: '1', pad: 'x'.repeat(1024) }));
    expect((await closeOf(joined)).code).toBe(1009);
  });
});

describe('handshake timeout', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await startGateway({ HANDSHAKE_TIMEOUT_MS: '200' });
  });
  afterAll(async () => {
    await gw.stop();
  });

  it('closes with 4000 a connection that sends no handshake within HANDSHAKE_TIMEOUT_MS, not one that did', async () => {
    const room = freshRoom();
    // Connected first, so its timer would have fired before the silent one's.
    const joined = await TestClient.join(gw.url, room, 'joined', VARS);
    await membersAre(gw, room, 1);
    const silent = await TestClient.connect(gw.url);
    expect((await closeOf(silent)).code).toBe(4000);
    expect(silent.frames).toEqual([]);
    expect(joined.closed).toBeNull();
    const reader = await TestClient.join(gw.url, room, 'reader', VARS);
    await reader.waitFrames(1);
    await joinedTogether(joined, reader, cloud('a'), '1');
  });
});

describe('ping round', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    // Short, but not so short that a loaded machine's scheduling gap delays a pong past a round.
    gw = await startGateway({ PING_INTERVAL_MS: '250' });
  });
  afterAll(async () => {
    await gw.stop();
  });

  it('terminates a client that does not answer pings (1006 on the client) while an answering client stays', async () => {
    const room = freshRoom();
    const answering = await TestClient.join(gw.url, room, 'answering', VARS);
    await membersAre(gw, room, 1);
    let pings = 0;
    answering.socket.on('ping', () => pings++);
    const mute = await TestClient.connect(gw.url, { autoPong: false });
    mute.send(JSON.stringify(handshakeOf('seed', room, 'mute', VARS)));
    expect((await closeOf(mute)).code).toBe(1006);
    // The mute client lasted two rounds; the answering one outlives more.
    const seen = pings;
    await until(() => pings >= seen + 3 || answering.closed !== null, { what: 'three more pings' });
    expect(answering.closed).toBeNull();
    await membersAre(gw, room, 1);
    const reader = await TestClient.join(gw.url, room, 'reader', VARS);
    expect(await reader.waitFrames(1)).toEqual([serverSet('seed', cloud('a'), '0')]);
    await joinedTogether(answering, reader, cloud('a'), '1');
  });
});
