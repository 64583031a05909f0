/**
 * docs/PROTOCOL.md "Close codes and text frames, per client" stays honest: every close code
 * the server's sources send has a row in both of its tables, and every row says what each of
 * the six clients does. A code added to close-codes.ts and sent without a row fails here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CloseCode, type CloseCodeName } from '@cloudvars/protocol';
import { describe, expect, it } from 'vitest';
import { CLIENTS, closeCodeTables, codesOf } from './support/protocol-tables.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Codes only clients send (logged when they do); the server never closes with them. */
const SENT_BY_CLIENTS: readonly CloseCodeName[] = ['Normal', 'GoingAway', 'UsernameChange'];
/** Sent by ws itself (maxPayload), so no source of ours names it. */
const SENT_BY_WS: readonly CloseCodeName[] = ['MessageTooBig'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && entry.name !== 'close-codes.ts' ? [path] : [];
  });
}

/** Every CloseCode member the server's sources (gateway and packages) use. */
function closeCodesUsedBySources(): Set<CloseCodeName> {
  const used = new Set<CloseCodeName>();
  const dirs = [join(ROOT, 'services/gateway/src'), ...readdirSync(join(ROOT, 'packages')).map((name) => join(ROOT, 'packages', name, 'src'))];
  for (const dir of dirs) {
    let files: string[];
    try {
      files = sourceFiles(dir);
    } catch {
      continue; // a package without src/
    }
    for (const file of files) {
      for (const match of readFileSync(file, 'utf8').matchAll(/CloseCode\.([A-Za-z]+)/g)) {
        const name = match[1] as CloseCodeName;
        if (name in CloseCode) used.add(name);
      }
    }
  }
  return used;
}

describe('the per-client close-code table in docs/PROTOCOL.md', () => {
  const { meanings, reactions } = closeCodeTables();

  it('has the meaning table and the reaction table, with a column for each client', () => {
    expect(meanings.header.slice(0, 2)).toEqual(['code', 'we mean']);
    expect(reactions.header).toEqual(['code', ...CLIENTS]);
  });

  it('lists every close code the server sends, in both tables', () => {
    const used = closeCodesUsedBySources();
    // The server never closes with a client's code: if it starts to, it needs a row.
    for (const name of SENT_BY_CLIENTS) expect(used.has(name), `the server sends CloseCode.${name}`).toBe(false);
    const sent = new Set([...used, ...SENT_BY_WS].map((name) => CloseCode[name]));
    // Every code the protocol defines is either sent by the server or only by clients.
    const all = Object.keys(CloseCode) as CloseCodeName[];
    expect(all.filter((name) => !SENT_BY_CLIENTS.includes(name) && !sent.has(CloseCode[name]))).toEqual([]);

    const inMeanings = new Set(meanings.rows.flatMap(codesOf));
    const inReactions = new Set(reactions.rows.flatMap(codesOf));
    for (const code of sent) {
      expect(inMeanings.has(code), `${code} in the meaning table`).toBe(true);
      expect(inReactions.has(code), `${code} in the reaction table`).toBe(true);
    }
  });

  it('says what every client does on every row', () => {
    for (const row of reactions.rows) {
      expect(row, row[0]).toHaveLength(CLIENTS.length + 1);
      for (const [index, cell] of row.entries()) expect(cell, `${row[0]}: ${CLIENTS[index - 1] ?? 'code'}`).not.toBe('');
    }
  });

  it('gives every row of the meaning table a meaning and when it is sent', () => {
    for (const row of meanings.rows) {
      expect(codesOf(row).length, row[0]).toBeGreaterThan(0);
      expect(
        row.slice(1, 3).every((cell) => cell !== ''),
        row[0],
      ).toBe(true);
    }
  });
});
