// main.js: start the managers, share their objects with a worker and a pool.
import { once } from 'node:events';
import { createWorker } from '@managers/core';
import { ManagedPool } from '@managers/piscina';
import { startSyncManager } from '@managers/sync';
import { AppManager } from './managers.js';

const manager = await AppManager.start({ module: new URL('./managers.js', import.meta.url) });
const sync = await startSyncManager(); // Python's SyncManager: Map, List, Queue, Lock…
const pool = new ManagedPool({ filename: new URL('./task.js', import.meta.url) });
try {
  const tally = await manager.Tally();
  const lengths = await sync.Map(); // a Map shared by every thread

  const worker = createWorker(new URL('./worker.js', import.meta.url), {
    workerData: { tally, lengths },
  });
  await once(worker, 'message');
  await worker.terminate();

  const counts = await Promise.all(
    ['alpha', 'beta', 'gamma'].map((word) => pool.run({ tally, lengths, word })),
  );
  console.log('counts from the pool:', counts.join(' '));
  console.log('total:', await tally.total());
  console.log('lengths:', JSON.stringify(Object.fromEntries([...(await lengths.copy())].sort())));

  tally[Symbol.dispose](); // or `using` in TypeScript
  lengths[Symbol.dispose]();
  console.log('objects left:', await manager.numberOfObjects(), await sync.numberOfObjects());
} finally {
  await pool.destroy();
  await sync.shutdown();
  await manager.shutdown();
}
