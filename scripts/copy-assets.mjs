#!/usr/bin/env node
/**
 * The build's one step besides `tsc -b`: files that sources read at run time next to
 * themselves (`new URL('./lua/x.lua', import.meta.url)`) are copied from src/ to the same
 * place under dist/, replacing what an earlier build left there.
 */
import { cpSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Directories below a package's src/ that are copied as they are. */
const ASSETS = [{ pkg: 'packages/rooms', dir: 'redis/lua' }];

for (const { pkg, dir } of ASSETS) {
  const to = join(root, pkg, 'dist', dir);
  rmSync(to, { recursive: true, force: true });
  cpSync(join(root, pkg, 'src', dir), to, { recursive: true });
}
