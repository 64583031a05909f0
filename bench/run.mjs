// `pnpm bench [--quick] [--only a,c] [--profile] [--duration S]`: runs the benchmark driver
// (tools/loadgen/src/bench/main.ts) under tsx, the way the gateway itself runs: no build step.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const child = spawn(process.execPath, ['--import', 'tsx', 'tools/loadgen/src/bench/main.ts', ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
});
child.on('exit', (code, signal) => {
  process.exitCode = code ?? (signal ? 1 : 0);
});
