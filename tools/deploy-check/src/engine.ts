/**
 * A real container engine for the engine test: a Docker that already answers, else (as root,
 * with Debian's docker.io installed) a dockerd of our own that shares nothing with a system
 * Docker or another test's testcontainers: its own data root, exec root, pidfile, socket,
 * default bridge and address pool. `stop()` stops it and removes what it made (bridges,
 * iptables rules and chains, the tables it created, the FORWARD policy and the kernel
 * settings it changed, and, unless asked to keep it, its data root), leaving the machine as
 * it found it.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './run.ts';
import { until } from './until.ts';

/** Debian's docker.io CLI: the newer one some machines have in /usr/local/bin lacks buildx/BuildKit. */
export const DOCKER_CLI = '/usr/bin/docker';
export const DOCKERD = '/usr/sbin/dockerd';

/** Where our own dockerd lives; nothing else on the machine uses these paths. */
export const ENGINE_STATE = process.env.CLOUDVARS_ENGINE_ROOT ?? '/var/lib/cloudvars-engine';
const ENGINE_RUN = '/run/cloudvars-engine';
const OWN_SOCKET = `unix://${ENGINE_RUN}/docker.sock`;
/** The default bridge of our dockerd, made by us (dockerd would otherwise take docker0). */
const OWN_BRIDGE = 'cve0';
const OWN_BRIDGE_ADDRESS = '10.213.255.1/24';
/** Compose networks come from here: clear of Docker's default 172.17+/16 pools. */
const OWN_ADDRESS_POOL = 'base=10.213.0.0/17,size=24';
const DOCKER_CHAINS = ['DOCKER', 'DOCKER-USER', 'DOCKER-ISOLATION-STAGE-1', 'DOCKER-ISOLATION-STAGE-2'];

export interface Engine {
  /** Environment for docker / docker-compose: DOCKER_HOST of the engine. */
  readonly env: Record<string, string>;
  /** True when this test started the dockerd (and will stop it). */
  readonly owned: boolean;
  /** Where stand-in root file systems are cached (inside our data root when we own it). */
  readonly cacheDir: string;
  stop(): Promise<void>;
}

export type EngineOrSkip = { engine: Engine } | { skip: string };

function answers(host: string | undefined): boolean {
  const env: Record<string, string> = host === undefined ? {} : { DOCKER_HOST: host };
  return run(DOCKER_CLI, ['version', '--format', '{{.Server.Version}}'], undefined, env).code === 0;
}

const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

/** A Docker that answers, else our own dockerd, else the reason there is none. */
export async function acquireEngine(): Promise<EngineOrSkip> {
  if (!existsSync(DOCKER_CLI)) {
    return { skip: `no ${DOCKER_CLI}: install Debian's docker.io and docker-compose (pnpm test does, as root)` };
  }
  const existing = process.env.DOCKER_HOST;
  if (answers(existing) && existing !== OWN_SOCKET) {
    const env: Record<string, string> = existing === undefined ? {} : { DOCKER_HOST: existing };
    const cacheDir = join(ENGINE_STATE, 'stand-ins');
    // Not ours to stop; the stand-in images stay in it, their root file systems go.
    const stop = (): Promise<void> => {
      if (process.env.CLOUDVARS_ENGINE_KEEP !== '1') {
        rmSync(cacheDir, { recursive: true, force: true });
        if (existsSync(ENGINE_STATE) && readdirSync(ENGINE_STATE).length === 0) rmdirSync(ENGINE_STATE);
      }
      return Promise.resolve();
    };
    return { engine: { env, owned: false, cacheDir, stop } };
  }
  if (!isRoot()) return { skip: 'no Docker answers and starting one needs root: run as root, or start Docker' };
  if (!existsSync(DOCKERD)) return { skip: `no ${DOCKERD}: install Debian's docker.io (pnpm test does, as root)` };
  return { engine: await startOwnDockerd() };
}

function sh(command: string): { code: number; out: string } {
  const result = run('sh', ['-c', command]);
  return { code: result.code, out: result.stdout + result.stderr };
}

const TABLES = ['filter', 'nat'] as const;
/**
 * Kernel settings dockerd writes: it turns on IPv4 forwarding when it is off (and then sets
 * the FORWARD policy to DROP), and bridge netfilter for its bridges.
 */
const SYSCTLS = ['/proc/sys/net/ipv4/ip_forward', '/proc/sys/net/bridge/bridge-nf-call-iptables', '/proc/sys/net/bridge/bridge-nf-call-ip6tables'];

/** What dockerd may change in the network setup, as it was before it started. */
interface NetworkSnapshot {
  /** iptables-save per table (a table that does not exist reads as empty built-in chains). */
  rules: Map<string, string[]>;
  /** With the nf_tables backend, the ip tables that existed: dockerd creates filter and nat where they do not. */
  nftTables: Set<string> | undefined;
  sysctls: Map<string, string>;
}

function readSetting(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    // Not on this kernel (no bridge netfilter): nothing to restore.
    return undefined;
  }
}

function networkSnapshot(): NetworkSnapshot {
  const nft = sh('iptables --version').out.includes('nf_tables') ? sh('nft list tables ip 2>/dev/null') : undefined;
  const sysctls = new Map<string, string>();
  for (const file of SYSCTLS) {
    const value = readSetting(file);
    if (value !== undefined) sysctls.set(file, value);
  }
  return {
    rules: new Map(TABLES.map((table) => [table, sh(`iptables-save -t ${table} 2>/dev/null`).out.split('\n')])),
    nftTables:
      nft === undefined || nft.code !== 0
        ? undefined
        : new Set(
            nft.out
              .split('\n')
              .map((line) => line.replace(/^table ip /, '').trim())
              .filter(Boolean),
          ),
    sysctls,
  };
}

async function startOwnDockerd(): Promise<Engine> {
  // A dockerd of ours left by a crashed run: stop it first (its pidfile says which process).
  await stopOwnDockerd();
  const networkBefore = networkSnapshot();
  mkdirSync(ENGINE_RUN, { recursive: true });
  mkdirSync(ENGINE_STATE, { recursive: true });
  if (sh(`ip link show ${OWN_BRIDGE}`).code !== 0) {
    const made = sh(`ip link add ${OWN_BRIDGE} type bridge && ip addr add ${OWN_BRIDGE_ADDRESS} dev ${OWN_BRIDGE} && ip link set ${OWN_BRIDGE} up`);
    if (made.code !== 0) throw new Error(`CV_ERR_ENGINE: cannot make bridge ${OWN_BRIDGE}: ${made.out}`);
  }
  const logFile = join(ENGINE_STATE, 'dockerd.log');
  const log = openSync(logFile, 'a');
  const daemon = spawn(
    DOCKERD,
    [
      '--data-root',
      join(ENGINE_STATE, 'docker'),
      '--exec-root',
      join(ENGINE_RUN, 'exec'),
      '--pidfile',
      join(ENGINE_RUN, 'dockerd.pid'),
      '--host',
      OWN_SOCKET,
      '--bridge',
      OWN_BRIDGE,
      '--default-address-pool',
      OWN_ADDRESS_POOL,
    ],
    { stdio: ['ignore', log, log], detached: true },
  );
  daemon.unref();
  const exited = new Promise<void>((resolve) => daemon.once('exit', () => resolve()));
  await until('our dockerd answers', () => answers(OWN_SOCKET), { timeoutMs: 60_000, intervalMs: 250 }).catch((err: unknown) => {
    throw new Error(`CV_ERR_ENGINE: dockerd did not start; its log:\n${readFileSync(logFile, 'utf8').slice(-4000)}`, { cause: err });
  });
  return {
    env: { DOCKER_HOST: OWN_SOCKET },
    owned: true,
    cacheDir: join(ENGINE_STATE, 'stand-ins'),
    stop: async () => {
      await stopOwnDockerd(exited);
      cleanNetwork(networkBefore);
      // Kept only when asked (a developer re-running the test); CI leaves nothing behind.
      if (process.env.CLOUDVARS_ENGINE_KEEP !== '1') rmSync(ENGINE_STATE, { recursive: true, force: true });
      rmSync(ENGINE_RUN, { recursive: true, force: true });
    },
  };
}

/** SIGTERM to our dockerd (by its pidfile), then wait for it to exit: it stops its containers. */
async function stopOwnDockerd(exited?: Promise<void>): Promise<void> {
  const pidfile = join(ENGINE_RUN, 'dockerd.pid');
  if (!existsSync(pidfile)) return;
  const pid = Number(readFileSync(pidfile, 'utf8').trim());
  const alive = (): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (Number.isInteger(pid) && pid > 0 && alive()) {
    process.kill(pid, 'SIGTERM');
    await (exited ?? until('our dockerd exits', () => !alive(), { timeoutMs: 60_000, intervalMs: 200 }));
  }
  rmSync(pidfile, { force: true });
}

/**
 * Removes the bridge we made and every iptables rule and chain dockerd added since we started
 * it, puts back the built-in chains' policies, drops the tables it created (nf_tables) and
 * restores the kernel settings it changed.
 */
function cleanNetwork(before: NetworkSnapshot): void {
  sh(`ip link delete ${OWN_BRIDGE} 2>/dev/null`);
  for (const table of TABLES) {
    const old = new Set(before.rules.get(table) ?? []);
    const now = sh(`iptables-save -t ${table}`).out.split('\n');
    // Rules first (a chain cannot go while a rule jumps to it), newest first.
    for (const rule of now.filter((line) => line.startsWith('-A ') && !old.has(line)).reverse()) {
      sh(`iptables -t ${table} ${rule.replace(/^-A /, '-D ')}`);
    }
    for (const chain of now.filter((line) => line.startsWith(':') && !old.has(line))) {
      const [name = '', policy = '-'] = chain.slice(1).split(' ');
      if (name === '') continue;
      // A built-in chain (INPUT ...) has a policy: dockerd sets FORWARD's to DROP.
      if (policy !== '-') {
        const was = [...old].find((line) => line.startsWith(`:${name} `))?.split(' ')[1];
        if (was !== undefined && was !== policy) sh(`iptables -t ${table} -P ${name} ${was}`);
        continue;
      }
      if (DOCKER_CHAINS.every((c) => c !== name)) continue;
      if ([...old].some((line) => line.startsWith(`:${name} `))) continue;
      sh(`iptables -t ${table} -F ${name} && iptables -t ${table} -X ${name}`);
    }
    // A table dockerd created is empty again now (no rule left): it goes too.
    const left = sh(`iptables-save -t ${table}`)
      .out.split('\n')
      .some((line) => line.startsWith('-A '));
    if (before.nftTables !== undefined && !before.nftTables.has(table) && !left) sh(`nft delete table ip ${table} 2>/dev/null`);
  }
  for (const [file, value] of before.sysctls) {
    if (readSetting(file) !== value) sh(`echo ${value} > ${file}`);
  }
}
