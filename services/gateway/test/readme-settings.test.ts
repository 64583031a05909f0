import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SETTINGS } from '../src/config.ts';

const README = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

describe('README settings table', () => {
  it('lists every setting the gateway reads, with its real default', () => {
    const rows = new Map(
      [...README.matchAll(/^\| `([A-Z0-9_]+)` \| `([^`]*)` \|/gm)].map((match) => [match[1] ?? '', match[2] ?? ''] as const),
    );
    for (const [name, setting] of Object.entries(SETTINGS)) {
      const documented = setting.default === '' ? '(unset)' : String(setting.default);
      expect(rows.get(name), name).toBe(documented);
    }
    expect([...rows.keys()].filter((name) => !(name in SETTINGS))).toEqual([]);
  });
});
