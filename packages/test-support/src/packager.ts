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
 * Packaging is quick (about 0.3 s for the first project in a process, 0.1 s after), so
 * results are memoised in the process only, keyed by the project's hash and the options.
 * No disk cache: the cloud host holds a port that is new on every run, so entries of
 * 1.8 MB each would pile up under .tmp and never be read again.
 */
import { createRequire } from 'node:module';
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
  /** True when this process had packaged the same project with the same options before. */
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
  const key = JSON.stringify([project.sha256, options.cloudHost, options.projectId, username]);
  const memoised = packaged.get(key);
  if (memoised) return { html: await memoised, cached: true, packagingMs: 0 };

  const started = performance.now();
  const html = packageOnce(project, options.cloudHost, options.projectId, username);
  packaged.set(key, html);
  html.catch(() => packaged.delete(key));
  return { html: await html, cached: false, packagingMs: performance.now() - started };
}

const packaged = new Map<string, Promise<string>>();

async function packageOnce(project: ScratchProject, cloudHost: string, projectId: string, username: string): Promise<string> {
  const Packager = loadPackagerModule();
  const loaded = await Packager.loadProject(project.sb3);
  const packager = new Packager.Packager();
  packager.project = loaded;
  packager.options.target = 'html';
  packager.options.autoplay = true;
  packager.options.projectId = projectId;
  packager.options.username = username;
  packager.options.cloudVariables.mode = 'ws';
  packager.options.cloudVariables.cloudHost = cloudHost;
  // Nothing to fetch at package time: no extensions to bake.
  packager.options.extensions = [];
  const result = await packager.package();
  if (result.type !== 'text/html') throw new Error(`expected one HTML file, the packager made ${result.type}`);
  if (typeof result.data === 'string') return result.data;
  return Buffer.from(result.data instanceof ArrayBuffer ? new Uint8Array(result.data) : result.data).toString('utf8');
}
