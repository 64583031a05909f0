/**
 * The README's settings table, generated from the gateway's declarations (SETTINGS in
 * services/gateway/src/config.ts), so the operator's documentation cannot drift from what the
 * gateway reads: `pnpm settings:readme` rewrites it, and readme-settings.test.ts fails while
 * the README differs from what this renders.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SETTINGS } from '../services/gateway/src/config.ts';

export const README_PATH = fileURLToPath(new URL('../README.md', import.meta.url));

const BEGIN = '<!-- settings table: generated from services/gateway/src/config.ts by `pnpm settings:readme` -->';
const END = '<!-- end of settings table -->';

/** One row per setting: its variable, its default as the operator would write it ('(unset)' for none), its meaning. */
export function renderSettingsTable(): string {
  const rows = Object.entries(SETTINGS).map(([name, setting]) => {
    const documented = setting.default === '' ? '(unset)' : String(setting.default);
    return `| \`${name}\` | \`${documented}\` | ${setting.help} |`;
  });
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n');
}

/** The README with its table between the markers replaced by a fresh rendering. */
export function withSettingsTable(readme: string): string {
  const begin = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`README.md has no "${BEGIN}" ... "${END}" block`);
  return `${readme.slice(0, begin + BEGIN.length)}\n${renderSettingsTable()}\n${readme.slice(end)}`;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(README_PATH, withSettingsTable(readFileSync(README_PATH, 'utf8')));
}
