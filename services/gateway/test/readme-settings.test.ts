import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SETTINGS } from '../src/config.ts';
import { README_PATH, withSettingsTable } from '../../../scripts/settings-table.ts';

const README = readFileSync(README_PATH, 'utf8');

describe('README settings table', () => {
  it('lists every setting the gateway reads, with its real default', () => {
    const rows = new Map([...README.matchAll(/^\| `([A-Z0-9_]+)` \| `([^`]*)` \|/gm)].map((match) => [match[1] ?? '', match[2] ?? ''] as const));
    for (const [name, setting] of Object.entries(SETTINGS)) {
      const documented = setting.default === '' ? '(unset)' : String(setting.default);
      expect(rows.get(name), name).toBe(documented);
    }
    expect([...rows.keys()].filter((name) => !(name in SETTINGS))).toEqual([]);
  });

  it('is the table generated from the declarations, meanings included (run `pnpm settings:readme` after changing one)', () => {
    expect(README).toBe(withSettingsTable(README));
  });
});
