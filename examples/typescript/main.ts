// main.ts: start the managers, share their objects with a worker and a pool.
import { once } from 'node:events';
import { createWorker } from '@managers/core';
import { ManagedPool } from '@managers/piscina';
import { startSyncManager } from '@managers/sync';
import { AppManager } from './managers.js';
import type { WordTask } from './task.js';

await using manager = await AppManager.start({ module: new URL('./managers.ts', import.meta.url) });
await using sync = await startSyncManager(); // Python's SyncManager: Map, List, Queue, Lock…
await using pool = new ManagedPool<WordTask, number>({
  filename: new URL('./task.ts', import.meta.url),
});
{
  using tally = await manager.Tally(); // released at the end of this block
  using lengths = await sync.Map<string, number>(); // a Map shared by every thread

  const worker = createWorker(new URL('./worker.ts', import.meta.url), {
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
}
console.log('objects left:', await manager.numberOfObjects(), await sync.numberOfObjects());
