/** Entry of a forked worker process: relays IPC to a WorkerPool; exits when the coordinator disconnects. */
import type { FromWorker, ToWorker } from './ipc.ts';
import { WorkerPool } from './worker-pool.ts';

const pool = new WorkerPool((msg: FromWorker) => {
  process.send?.(msg);
});
process.on('message', (msg: ToWorker) => pool.handle(msg));
process.on('disconnect', () => process.exit(0));
