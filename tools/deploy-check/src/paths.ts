import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The repository root (this file is tools/deploy-check/src/paths.ts). */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

export const repoPath = (...segments: string[]): string => join(repoRoot, ...segments);
