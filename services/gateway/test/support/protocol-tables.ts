/**
 * The tables of docs/PROTOCOL.md "Close codes and text frames, per client", parsed for the
 * tests that keep them honest: close-code-table.test.ts (every code the server sends has a
 * row) and packager-close-reactions.test.ts (the Packager's column is what the real
 * Packager does).
 */
import { readFileSync } from 'node:fs';

const PROTOCOL = readFileSync(new URL('../../../../docs/PROTOCOL.md', import.meta.url), 'utf8');
export const CLOSE_CODES_HEADING = '## Close codes and text frames, per client';
/** The reaction table's columns after `code`, in order. */
export const CLIENTS = ['TurboWarp', 'Packager', 'forkphorus', 'Mist 0.0.2', 'scratchattach', "Scratch's editor"] as const;

export interface Table {
  readonly header: string[];
  readonly rows: string[][];
}

/** The section's text, from its heading to the next heading of the same level. */
function section(): string {
  const start = PROTOCOL.indexOf(CLOSE_CODES_HEADING);
  if (start < 0) throw new Error(`docs/PROTOCOL.md has no "${CLOSE_CODES_HEADING}"`);
  const next = PROTOCOL.indexOf('\n## ', start + CLOSE_CODES_HEADING.length);
  return PROTOCOL.slice(start, next < 0 ? undefined : next);
}

function cells(line: string): string[] {
  return line
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split('|')
    .map((cell) => cell.trim());
}

/** Every Markdown table in `text`, in order. */
function tables(text: string): Table[] {
  const found: Table[] = [];
  const lines = text.split('\n');
  for (let i = 0; i + 1 < lines.length; i++) {
    const line = lines[i] ?? '';
    if (!line.startsWith('|') || !/^\|[-| ]+\|$/.test(lines[i + 1] ?? '')) continue;
    const rows: string[][] = [];
    let j = i + 2;
    for (; j < lines.length && (lines[j] ?? '').startsWith('|'); j++) rows.push(cells(lines[j] ?? ''));
    found.push({ header: cells(line), rows });
    i = j;
  }
  return found;
}

/** The section's first two tables: what each code means, and what each client does. */
export function closeCodeTables(): { readonly meanings: Table; readonly reactions: Table } {
  const [meanings, reactions] = tables(section());
  if (meanings === undefined || reactions === undefined) throw new Error(`"${CLOSE_CODES_HEADING}" lacks its two tables`);
  return { meanings, reactions };
}

/** The close codes a row's first cell names (a row may cover several). */
export function codesOf(row: readonly string[]): number[] {
  return [...(row[0] ?? '').matchAll(/\b(1\d{3}|4\d{3})\b/g)].map((match) => Number(match[1]));
}
