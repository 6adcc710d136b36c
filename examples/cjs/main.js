// main.js: start the managers, share their objects with a worker and a pool.
const { once } = require('node:events');
const { join } = require('node:path');
const { createWorker } = require('@managers/core');
const { ManagedPool } = require('@managers/piscina');
const { startSyncManager } = require('@managers/sync');
const { AppManager } = require('./managers');

async function main() {
  const manager = await AppManager.start({ module: require.resolve('./managers') });
  const sync = await startSyncManager(); // Python's SyncManager: Map, List, Queue, Lock…
  const pool = new ManagedPool({ filename: join(__dirname, 'task.js') });
  try {
    const tally = await manager.Tally();
    const lengths = await sync.Map(); // a Map shared by every thread

    const worker = createWorker(join(__dirname, 'worker.js'), { workerData: { tally, lengths } });
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
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
