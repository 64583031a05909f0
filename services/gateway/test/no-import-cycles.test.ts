/**
 * No import circles in services/ (issue 20): a module that imports, however indirectly, one
 * of its importers cannot be read on its own, and data then flows both ways between them.
 * Type-only imports count too: a circle of types is the same tangle for a reader.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SERVICES = fileURLToPath(new URL('../../', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' || entry.name === 'dist' || entry.name === 'test' ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The relative imports and re-exports of one file, as absolute paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const targets: string[] = [];
  for (const match of text.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+'(\.{1,2}\/[^']+)'/gms)) {
    targets.push(resolve(dirname(file), match[1] as string));
  }
  return targets;
}

/** Every circle of the graph, each as the files in import order (depth-first, each circle once by its entry). */
function circles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const found: string[][] = [];
  const done = new Set<string>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const visit = (file: string): void => {
    stack.push(file);
    onStack.add(file);
    for (const next of graph.get(file) ?? []) {
      if (onStack.has(next)) found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!done.has(next) && graph.has(next)) visit(next);
    }
    stack.pop();
    onStack.delete(file);
    done.add(file);
  };
  for (const file of graph.keys()) if (!done.has(file)) visit(file);
  return found;
}

describe('the import graph of services/', () => {
  it('has no circle', () => {
    const files = readdirSync(SERVICES, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .flatMap((entry) => sourceFiles(join(SERVICES, entry.name, 'src')));
    expect(files.length).toBeGreaterThan(10);
    const graph = new Map(files.map((file) => [file, importsOf(file)]));
    const shown = circles(graph).map((circle) => circle.map((file) => file.slice(SERVICES.length)).join(' -> '));
    expect(shown).toEqual([]);
  });
});
