/**
 * A minimal Scratch 3 project made in code, for tests that run today's real clients: a stage
 * (one blank SVG backdrop, no sprites) with cloud variables and, for each of them, a script a
 * test can trigger so that the project itself sets the cloud variable and the VM's cloud path
 * sends the update:
 *
 *   when I receive [set a]
 *   set [☁ a] to (a input)
 *
 * The test writes the value into the ordinary stage variable `a input` and broadcasts
 * `set a` (see browser.ts). The .sb3 is a zip written here with stored (uncompressed)
 * entries and a fixed date, so the same project is the same bytes (packaged HTML is memoised
 * by its hash).
 */
import { createHash } from 'node:crypto';

export const DEFAULT_CLOUD_VARIABLES: readonly string[] = ['☁ a', '☁ b'];

/** What a test uses to make the project set one cloud variable. */
export interface CloudTrigger {
  /** The cloud variable, e.g. `☁ a`. */
  readonly cloud: string;
  /** The ordinary stage variable the script copies from, e.g. `a input`. */
  readonly input: string;
  /** The broadcast whose script sets the cloud variable, e.g. `set a`. */
  readonly broadcast: string;
}

export interface ScratchProject {
  /** The project.json object. */
  readonly json: ProjectJson;
  /** The whole .sb3 (zip with project.json and the backdrop). */
  readonly sb3: Uint8Array;
  /** sha256 of the .sb3, hex: a cache key. */
  readonly sha256: string;
  readonly triggers: ReadonlyMap<string, CloudTrigger>;
}

export interface ProjectJson {
  readonly targets: readonly unknown[];
  readonly monitors: readonly unknown[];
  readonly extensions: readonly string[];
  readonly meta: Readonly<Record<string, string>>;
}

/** Valid cloud names start with `☁ ` (Scratch) and hold something after it. */
function checkCloudName(name: string): void {
  if (!name.startsWith('☁ ') || name.length <= 2) throw new Error(`cloud variable names start with "☁ ": ${JSON.stringify(name)}`);
}

const BACKDROP_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="480" height="360" viewBox="0 0 480 360">' + '<rect width="480" height="360" fill="#ffffff"/></svg>';

/**
 * The input and broadcast of `cloud`, named without the cloud sign: the packager makes
 * every stage variable whose name starts with ☁ a cloud variable.
 */
export function triggerFor(cloud: string): CloudTrigger {
  const base = cloud.slice('☁ '.length);
  return { cloud, input: `${base} input`, broadcast: `set ${base}` };
}

/** The project with `cloudVariables` (default `☁ a`, `☁ b`), each starting at `initial`. */
export function buildScratchProject(cloudVariables: readonly string[] = DEFAULT_CLOUD_VARIABLES, initial = '0'): ScratchProject {
  if (cloudVariables.length === 0) throw new Error('a cloud project needs at least one cloud variable');
  const variables: Record<string, unknown[]> = {};
  const broadcasts: Record<string, string> = {};
  const blocks: Record<string, unknown> = {};
  const triggers = new Map<string, CloudTrigger>();

  cloudVariables.forEach((cloud, i) => {
    checkCloudName(cloud);
    const trigger = triggerFor(cloud);
    triggers.set(cloud, trigger);
    const cloudId = `cloud-${i}`;
    const inputId = `input-${i}`;
    const broadcastId = `broadcast-${i}`;
    variables[cloudId] = [cloud, initial, true];
    variables[inputId] = [trigger.input, initial];
    broadcasts[broadcastId] = trigger.broadcast;
    blocks[`hat-${i}`] = {
      opcode: 'event_whenbroadcastreceived',
      next: `set-${i}`,
      parent: null,
      inputs: {},
      fields: { BROADCAST_OPTION: [trigger.broadcast, broadcastId] },
      shadow: false,
      topLevel: true,
      x: 0,
      y: i * 120,
    };
    blocks[`set-${i}`] = {
      opcode: 'data_setvariableto',
      next: null,
      parent: `hat-${i}`,
      // [3, reporter, shadow]: a variable reporter over an obscured text shadow.
      inputs: { VALUE: [3, [12, trigger.input, inputId], [10, initial]] },
      fields: { VARIABLE: [cloud, cloudId] },
      shadow: false,
      topLevel: false,
    };
  });

  const backdropId = createHash('md5').update(BACKDROP_SVG).digest('hex');
  const json: ProjectJson = {
    targets: [
      {
        isStage: true,
        name: 'Stage',
        variables,
        lists: {},
        broadcasts,
        blocks,
        comments: {},
        currentCostume: 0,
        costumes: [{ name: 'backdrop1', dataFormat: 'svg', assetId: backdropId, md5ext: `${backdropId}.svg`, rotationCenterX: 240, rotationCenterY: 180 }],
        sounds: [],
        volume: 100,
        layerOrder: 0,
        tempo: 60,
        videoTransparency: 50,
        videoState: 'on',
        textToSpeechLanguage: null,
      },
    ],
    monitors: [],
    extensions: [],
    meta: { semver: '3.0.0', vm: '0.2.0', agent: 'cloudvars test-support' },
  };

  const sb3 = storedZip([
    { name: 'project.json', data: Buffer.from(JSON.stringify(json)) },
    { name: `${backdropId}.svg`, data: Buffer.from(BACKDROP_SVG) },
  ]);
  return { json, sb3, sha256: createHash('sha256').update(sb3).digest('hex'), triggers };
}

// --- a zip with stored entries (enough for an .sb3) ---

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = (CRC_TABLE[(crc ^ byte) & 0xff] ?? 0) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** 1980-01-01 00:00 in DOS format: a fixed date keeps the bytes reproducible. */
const DOS_DATE = (0 << 9) | (1 << 5) | 1;
const DOS_TIME = 0;

/** A zip archive of `files`, stored without compression, names in UTF-8. */
export function storedZip(files: readonly { readonly name: string; readonly data: Uint8Array }[]): Uint8Array {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const file of files) {
    const name = Buffer.from(file.name, 'utf8');
    const crc = crc32(file.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x0800, 6); // flags: UTF-8 names
    local.writeUInt16LE(0, 8); // stored
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(file.data.length, 18);
    local.writeUInt32LE(file.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    locals.push(local, name, Buffer.from(file.data));

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4); // version made by
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(0, 10);
    central.writeUInt16LE(DOS_TIME, 12);
    central.writeUInt16LE(DOS_DATE, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(file.data.length, 20);
    central.writeUInt32LE(file.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    // extra, comment, disk, internal and external attributes stay 0
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += 30 + name.length + file.data.length;
  }
  const centralSize = centrals.reduce((sum, part) => sum + part.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  return new Uint8Array(Buffer.concat([...locals, ...centrals, end]));
}
