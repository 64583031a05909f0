import { spawn, type ChildProcess } from 'node:child_process';

/** A spawned server process whose output is kept (the tail) for diagnostics. */
export interface Child {
  readonly name: string;
  readonly pid: number;
  readonly process: ChildProcess;
  /** Resolves with the exit code (null when killed by a signal) once the process is gone. */
  readonly exited: Promise<number | null>;
  /** The last lines of stdout and stderr, interleaved. */
  output(): string;
  isRunning(): boolean;
}

const OUTPUT_TAIL_CHARS = 64 * 1024;
const live = new Set<ChildProcess>();

// A crashed test run or Ctrl-C must not leave servers behind on fixed ports.
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export interface SpawnOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** Also write each output line, prefixed with the name (the CLI); tests keep it quiet. */
  echo?: boolean;
}

export function spawnChild(name: string, command: string, args: readonly string[], opts: SpawnOptions = {}): Child {
  const proc = spawn(command, args, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Own process group: a terminal's Ctrl-C reaches only the parent, which then stops the
    // children in order (a gateway given a second signal would skip its drain).
    detached: true,
  });
  if (proc.pid === undefined) {
    throw Object.assign(new Error(`CV_ERR_SPAWN: could not start ${name} (${command})`), { code: 'CV_ERR_SPAWN' });
  }
  live.add(proc);
  let tail = '';
  const collect = (chunk: Buffer): void => {
    const text = chunk.toString('utf8');
    tail = (tail + text).slice(-OUTPUT_TAIL_CHARS);
    if (opts.echo === true) {
      for (const line of text.split('\n')) if (line !== '') process.stdout.write(`[${name}] ${line}\n`);
    }
  };
  proc.stdout?.on('data', collect);
  proc.stderr?.on('data', collect);
  let running = true;
  const exited = new Promise<number | null>((resolve) => {
    proc.once('exit', (code) => {
      running = false;
      live.delete(proc);
      resolve(code);
    });
  });
  return { name, pid: proc.pid, process: proc, exited, output: () => tail, isRunning: () => running };
}

/** For the callers that took it from here (cluster.ts, the engine test): the repository's one freePort. */
export { freePort } from '@cloudvars/test-support/free-port';

/** Signals a child and waits for it to exit, escalating to SIGKILL after `graceMs`. */
export async function stopChild(child: Child, signal: NodeJS.Signals, graceMs: number): Promise<number | null> {
  if (!child.isRunning()) return child.exited;
  child.process.kill(signal);
  const timer = setTimeout(() => child.process.kill('SIGKILL'), graceMs);
  try {
    return await child.exited;
  } finally {
    clearTimeout(timer);
  }
}
