/**
 * Helpers for the conformance tests: raw frames in either dialect, "send these frames and
 * report how the server closed", and readers for /metrics. They build frames by hand (not
 * through @cloudvars/protocol's encoders) so a test can send what a real encoder never would.
 */
import type { DialectName } from '@cloudvars/protocol';
import WebSocket from 'ws';
import { TestClient, until, type Closed } from './client.ts';

/** A cloud variable name: Scratch's prefix (U+2601 and a space) plus `name`. */
export function cloud(name: string): string {
  return `\u2601 ${name}`;
}

/** The dialect's name for the handshake's room field. */
export function roomField(dialect: DialectName): 'room' | 'id' {
  return dialect === 'seed' ? 'room' : 'id';
}

/** The dialect's name for a set's variable field. */
export function variableField(dialect: DialectName): 'variable' | 'var' {
  return dialect === 'seed' ? 'variable' : 'var';
}

/** A handshake object as a client of `dialect` spells it; any field may be any JSON. */
export function handshakeOf(dialect: DialectName, room: unknown, username: unknown, variables: unknown): Record<string, unknown> {
  return { kind: 'handshake', [roomField(dialect)]: room, username, variables };
}

/** A set object as a client of `dialect` spells it. */
export function setOf(dialect: DialectName, variable: unknown, value: unknown): Record<string, unknown> {
  return { kind: 'set', [variableField(dialect)]: variable, value };
}

/** The exact text the server sends for one set in `dialect`. */
export function serverSet(dialect: DialectName, variable: string, value: string): string {
  return JSON.stringify({ kind: 'set', [variableField(dialect)]: variable, value });
}

/** Resolves with the server's close of `client`, bounded so a missing close fails the test. */
export async function closeOf(client: TestClient, timeoutMs = 5_000): Promise<Closed> {
  await until(() => client.closed !== null, { timeoutMs, what: 'the connection to close' });
  return client.closed as Closed;
}

/** A frame to send: a string goes as a text frame, bytes as a binary frame, anything else as JSON text. */
export type Outgoing = string | Uint8Array | Record<string, unknown> | unknown[];

export function sendRaw(client: TestClient, frame: Outgoing): void {
  if (typeof frame === 'string') client.socket.send(frame);
  else if (frame instanceof Uint8Array) client.socket.send(frame, { binary: true });
  else client.socket.send(JSON.stringify(frame));
}

export interface Refusal {
  readonly code: number;
  /** Every frame the server sent before closing. */
  readonly frames: readonly string[];
}

/** Opens a connection, sends `frames` in one burst and returns how the server closed it. */
export async function refusal(url: string, frames: readonly Outgoing[], dialect: DialectName = 'seed'): Promise<Refusal> {
  const client = await TestClient.connect(url, { dialect });
  for (const frame of frames) sendRaw(client, frame);
  const { code } = await closeOf(client);
  return { code, frames: client.frames };
}

/** One sample of a Prometheus text exposition, e.g. `cloudvars_closes_total{code="4000"}`; undefined when absent. */
export function metricValue(exposition: string, sample: string): number | undefined {
  for (const line of exposition.split('\n')) {
    if (line.startsWith(sample + ' ')) return Number(line.slice(sample.length + 1));
  }
  return undefined;
}

/** A bare socket with request headers (TestClient sends none), e.g. X-Forwarded-For. */
export interface HeaderSocket {
  readonly socket: WebSocket;
  /** The close code, once closed. */
  code(): number | null;
}

export async function socketWithHeaders(url: string, headers: Record<string, string>): Promise<HeaderSocket> {
  const socket = new WebSocket(url, { headers, perMessageDeflate: false });
  let closedWith: number | null = null;
  socket.on('close', (code) => {
    closedWith = code;
  });
  socket.on('error', () => undefined); // a refused or reset socket reports through 'close'
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return { socket, code: () => closedWith };
}

/** A server frame's messages in a canonical order: the store's order of variables is its own (Redis sorts them). */
export function messagesOf(frame: string | undefined): string[] {
  return frame === undefined ? [] : frame.split('\n').sort();
}
