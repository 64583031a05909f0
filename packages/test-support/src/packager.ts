/**
 * Packages a Scratch project into one HTML file with the TurboWarp Packager's Node API
 * (npm `@turbowarp/packager`, pinned: its API is beta), cloud variables in mode `ws` against
 * a given cloud host: today's real client, as people ship it.
 *
 * Offline: the HTML target embeds the player (scaffolding-min, read from the package's own
 * dist/) and the project; the packager downloads nothing for it. It would only go online
 * for a project.json without its assets (we pass a whole .sb3), extensions (none), or
 * Electron/NW.js targets (not used).
 *
 * The result is cached under the repo's `.tmp/packaged/`, keyed by the packager's version,
 * the project's bytes and the options, so a second run does not package again.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { REPO_ROOT } from './peer.ts';
import type { ScratchProject } from './scratch-project.ts';

export interface PackageOptions {
  /** ws:// or wss:// URL the page connects to (the Packager's "cloud host"). */
  readonly cloudHost: string;
  /**
   * Sent as `project_id` in every message. The Node API's default is '' (the packager's
   * website fills in the Scratch project id, or `p4-<hash>` for a file), which TurboWarp's
   * server refuses (4000, an invalid room id): give one.
   */
  readonly projectId: string;
  /** `#` become random digits when the page loads (the packager's default: `player####`). */
  readonly username?: string;
}

export interface PackagedProject {
  readonly html: string;
  /** True when the HTML came from the .tmp cache. */
  readonly cached: boolean;
  /** Time spent packaging (0 when cached). */
  readonly packagingMs: number;
}

/** The part of the Packager's Node API used here (the package ships no types). */
interface PackagerModule {
  loadProject(data: Uint8Array | ArrayBuffer, progress?: (type: string, a: number, b: number) => void): Promise<unknown>;
  Packager: new () => PackagerInstance;
}

interface PackagerInstance {
  project: unknown;
  options: {
    target: string;
    projectId: string;
    username: string;
    autoplay: boolean;
    cloudVariables: { mode: string; cloudHost: string | string[]; specialCloudBehaviors: boolean; unsafeCloudBehaviors: boolean };
    extensions: string[];
    bakeExtensions: boolean;
  };
  package(): Promise<{ type: string; data: Uint8Array | ArrayBuffer | string }>;
}

const require = createRequire(import.meta.url);
const PACKAGER_VERSION = (require('@turbowarp/packager/package.json') as { version: string }).version;

function loadPackagerModule(): PackagerModule {
  return require('@turbowarp/packager') as PackagerModule;
}

export function packagerVersion(): string {
  return PACKAGER_VERSION;
}

/**
 * One HTML file playing `project`, started at once (autoplay, so the project's scripts run
 * without a click on the green flag screen), cloud variables over a WebSocket to
 * `options.cloudHost`.
 */
export async function packageScratchProject(project: ScratchProject, options: PackageOptions): Promise<PackagedProject> {
  if (!/^wss?:\/\//.test(options.cloudHost)) throw new Error(`cloud host must be a ws:// or wss:// URL: ${options.cloudHost}`);
  const username = options.username ?? 'player####';
  const key = createHash('sha256')
    .update(JSON.stringify({ packager: PACKAGER_VERSION, project: project.sha256, cloudHost: options.cloudHost, projectId: options.projectId, username }))
    .digest('hex')
    .slice(0, 24);
  const cacheDir = join(REPO_ROOT, '.tmp', 'packaged');
  const cacheFile = join(cacheDir, `${key}.html`);
  if (existsSync(cacheFile)) return { html: readFileSync(cacheFile, 'utf8'), cached: true, packagingMs: 0 };

  const started = performance.now();
  const Packager = loadPackagerModule();
  const loaded = await Packager.loadProject(project.sb3);
  const packager = new Packager.Packager();
  packager.project = loaded;
  packager.options.target = 'html';
  packager.options.autoplay = true;
  packager.options.projectId = options.projectId;
  packager.options.username = username;
  packager.options.cloudVariables.mode = 'ws';
  packager.options.cloudVariables.cloudHost = options.cloudHost;
  // Nothing to fetch at package time: no extensions to bake.
  packager.options.extensions = [];
  const result = await packager.package();
  if (result.type !== 'text/html') throw new Error(`expected one HTML file, the packager made ${result.type}`);
  const html = typeof result.data === 'string' ? result.data : Buffer.from(result.data instanceof ArrayBuffer ? new Uint8Array(result.data) : result.data).toString('utf8');
  const packagingMs = performance.now() - started;

  mkdirSync(cacheDir, { recursive: true });
  const partial = `${cacheFile}.${process.pid}.partial`;
  writeFileSync(partial, html);
  renameSync(partial, cacheFile);
  return { html, cached: false, packagingMs };
}
