/**
 * `@turbowarp/mist`, TurboWarp's own Node bot library (npm), as a real client in the tests:
 * what a hobbyist's bot does against our server is what this drives, unchanged. Mist
 * reconnects by itself with a random back-off of up to 2-10 s, never resends a set it
 * wrote, stops for good on 4002/4003/4004/4006 and on any frame it cannot parse, and
 * then throws from inside its socket handler (an uncaught exception in a bot's process,
 * a failed test here): so a test of ours that ends with no `errors` proves Mist kept going.
 */
import { createRequire } from 'node:module';
import { until } from './until.ts';

/** A value Mist accepts and hands back: what a Scratch variable can hold. */
export type MistValue = string | number | boolean;

/** The part of Mist's `Connection` (CommonJS, untyped) the tests use. */
interface MistConnection {
  on(event: 'connected' | 'reconnecting', listener: () => void): void;
  on(event: 'set', listener: (name: string, value: MistValue) => void): void;
  on(event: 'error', listener: (error: Error) => void): void;
  set(name: string, value: MistValue): void;
  get(name: string): MistValue | undefined;
  close(): void;
  /** Mist's socket (`ws` in Node). Private to Mist; read only to drop it like a network would. */
  _ws: { terminate(): void } | null;
}

type MistConstructor = new (options: { cloudHost: string; projectId: string; userAgent: string; username?: string }) => MistConnection;

const require = createRequire(import.meta.url);
const Mist = require('@turbowarp/mist') as MistConstructor;

/** What Mist requires in Node: contact information, sent after its own name and version. */
const USER_AGENT = 'cloudvars-tests (test suite of this repository)';

export interface MistBot {
  readonly username: string;
  /** Mist's `set`: one frame per call, queued while disconnected. */
  set(name: string, value: MistValue): void;
  /** The newest value Mist received or set, `undefined` if none. */
  get(name: string): MistValue | undefined;
  /** Every `set` Mist received from the server, in order. */
  readonly received: ReadonlyArray<{ readonly name: string; readonly value: MistValue }>;
  /** Times Mist's socket opened (it sends its handshake then) and closed before `close()`. */
  readonly connections: number;
  readonly reconnects: number;
  /** What Mist gave up on (its `error` event): empty while it keeps going. */
  readonly errors: readonly Error[];
  /** Resolves once Mist's socket has opened `count` times in all (default: once). */
  untilConnected(count?: number, timeoutMs?: number): Promise<void>;
  /** Resolves once the newest value Mist received for `name` is `value` (same JSON type). */
  untilReceived(name: string, value: MistValue, timeoutMs?: number): Promise<void>;
  /** Cut the socket as a network would (no close frame): Mist reconnects by itself. */
  dropSocket(): void;
  close(): void;
}

export interface MistOptions {
  /** A `ws://` URL: our gateway or the peer. */
  readonly url: string;
  readonly projectId: string;
  /** Default: Mist's own `player1234`-style random name. */
  readonly username?: string;
}

/** A Mist connection to `url`, with what it did recorded for the test. */
export function openMist(options: MistOptions): MistBot {
  // Mist writes the random name it picks into the options object it is given.
  const mistOptions: { cloudHost: string; projectId: string; userAgent: string; username?: string } = {
    cloudHost: options.url,
    projectId: options.projectId,
    userAgent: USER_AGENT,
    ...(options.username === undefined ? {} : { username: options.username }),
  };
  const connection = new Mist(mistOptions);
  const received: Array<{ name: string; value: MistValue }> = [];
  const lastReceived = new Map<string, MistValue>();
  const errors: Error[] = [];
  let connections = 0;
  let reconnects = 0;
  connection.on('connected', () => {
    connections += 1;
  });
  connection.on('reconnecting', () => {
    reconnects += 1;
  });
  connection.on('set', (name, value) => {
    received.push({ name, value });
    lastReceived.set(name, value);
  });
  connection.on('error', (error) => {
    errors.push(error);
  });
  return {
    username: mistOptions.username ?? '',
    set: (name, value) => connection.set(name, value),
    get: (name) => connection.get(name),
    received,
    get connections() {
      return connections;
    },
    get reconnects() {
      return reconnects;
    },
    errors,
    untilConnected: (count = 1, timeoutMs = 15_000) =>
      until(() => connections >= count || errors.length > 0, { timeoutMs, what: `Mist connected ${count} time(s)` }).then(() => {
        if (errors.length > 0) throw errors[0];
      }),
    untilReceived: (name, value, timeoutMs = 15_000) =>
      until(() => Object.is(lastReceived.get(name), value) || errors.length > 0, {
        timeoutMs,
        what: `Mist to receive ${name} = ${JSON.stringify(value)} (last: ${JSON.stringify(lastReceived.get(name))})`,
      }).then(() => {
        if (errors.length > 0) throw errors[0];
      }),
    dropSocket: () => connection._ws?.terminate(),
    close: () => connection.close(),
  };
}
