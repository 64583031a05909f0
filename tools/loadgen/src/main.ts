/** CLI: run the load generator against running gateways (see USAGE in args.ts). */
import { parseCli, USAGE } from './args.ts';
import { runLoad } from './coordinator.ts';
import { formatTable } from './report.ts';

async function main(): Promise<void> {
  const options = parseCli(process.argv.slice(2));
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const report = await runLoad(options);
  process.stdout.write(`${JSON.stringify(report)}\n${formatTable(report)}\n`);
}

main().catch((err: unknown) => {
  const code = (err as { code?: unknown }).code;
  process.stderr.write(`loadgen: ${typeof code === 'string' ? `${code}: ` : ''}${(err as Error).message}\n`);
  process.exit(1);
});
