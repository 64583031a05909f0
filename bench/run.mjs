// `pnpm bench [--quick] [--only a,c] [--profile] [--duration S] [--dialect scratch] [--peer [--repeat N]]`
// (bench/README.md): runs the benchmark driver
// compiled (tools/loadgen/dist/bench/main.js), and it runs the compiled gateway, as
// production does. `pnpm bench` builds first (`pnpm build`, incremental).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const child = spawn(process.execPath, ['tools/loadgen/dist/bench/main.js', ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
});
child.on('exit', (code, signal) => {
  process.exitCode = code ?? (signal ? 1 : 0);
});
