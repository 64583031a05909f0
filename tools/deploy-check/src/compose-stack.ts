/**
 * docker-compose.yml run on a real engine, as an operator runs it, under a project name of
 * its own and a free published port. Every engine command here is asynchronous: the tests
 * keep clients talking while containers are killed, stopped and scaled.
 */
import { spawn } from 'node:child_process';
import { DOCKER_CLI } from './engine.ts';
import { repoPath } from './paths.ts';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion without blocking the event loop; never throws for an exit code. */
export function runAsync(command: string, args: readonly string[], env: Record<string, string> = {}, cwd = repoPath()): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/** Like runAsync, but a non-zero exit is an error carrying the output. */
export async function runAsyncOk(command: string, args: readonly string[], env: Record<string, string> = {}): Promise<string> {
  const result = await runAsync(command, args, env);
  if (result.code !== 0) {
    throw new Error(`CV_ERR_COMMAND_FAILED: ${command} ${args.join(' ')} exited ${result.code}\n${result.stderr}${result.stdout}`.slice(0, 8000));
  }
  return result.stdout;
}

export interface ContainerState {
  id: string;
  name: string;
  running: boolean;
  health: string | undefined;
}

export class ComposeStack {
  readonly url: string;
  readonly httpUrl: string;

  constructor(
    readonly project: string,
    readonly port: number,
    /** DOCKER_HOST and the compose file's variables (CLOUDVARS_PORT, the admin tokens file). */
    readonly env: Record<string, string>,
  ) {
    this.url = `ws://127.0.0.1:${port}/`;
    this.httpUrl = `http://127.0.0.1:${port}`;
  }

  compose(...args: string[]): Promise<string> {
    // docker-compose 1.29 (Debian): the engine's own CLI does the image build, not compose.
    return runAsyncOk('docker-compose', ['--project-name', this.project, '--file', repoPath('docker-compose.yml'), ...args], this.env);
  }

  docker(...args: string[]): Promise<string> {
    return runAsyncOk(DOCKER_CLI, args, this.env);
  }

  dockerResult(...args: string[]): Promise<CommandResult> {
    return runAsync(DOCKER_CLI, args, this.env);
  }

  /** The service's containers (running or not), oldest first. */
  async containers(service: string): Promise<ContainerState[]> {
    const ids = (
      await this.docker(
        'ps',
        '--all',
        '--quiet',
        '--filter',
        `label=com.docker.compose.project=${this.project}`,
        '--filter',
        `label=com.docker.compose.service=${service}`,
      )
    )
      .split('\n')
      .filter(Boolean);
    if (ids.length === 0) return [];
    const format = '{{.Id}} {{.Name}} {{.State.Running}} {{if .State.Health}}{{.State.Health.Status}}{{end}} {{.Created}}';
    const rows = (await this.docker('inspect', '--format', format, ...ids)).split('\n').filter(Boolean);
    return rows
      .map((row) => row.split(' '))
      .sort((a, b) => (a[4] ?? '').localeCompare(b[4] ?? ''))
      .map(([id = '', name = '', running, health]) => ({
        id,
        name: name.replace(/^\//, ''),
        running: running === 'true',
        health: health === '' ? undefined : health,
      }));
  }

  async running(service: string): Promise<ContainerState[]> {
    return (await this.containers(service)).filter((c) => c.running);
  }

  /** Runs a Node one-liner inside a container (the image has node and nothing else to fetch with). */
  exec(container: string, ...command: string[]): Promise<CommandResult> {
    return this.dockerResult('exec', container, ...command);
  }

  /** A replica's `cloudvars_connections`, read from its metrics port inside the container. */
  async connections(container: string): Promise<number> {
    const script =
      "fetch('http://127.0.0.1:19080/metrics').then(r=>r.text()).then(t=>{const l=t.split('\\n').find(x=>x.startsWith('cloudvars_connections '));console.log(l?l.split(' ').pop():'NaN')})";
    const result = await this.exec(container, 'node', '-e', script);
    return Number(result.stdout.trim());
  }

  /** Containers, volumes and networks of this project: gone. */
  down(): Promise<string> {
    return this.compose('down', '--volumes', '--remove-orphans', '--timeout', '5');
  }
}
