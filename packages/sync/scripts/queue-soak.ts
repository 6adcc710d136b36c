/**
 * Soak: terminated Queue consumers racing a producer, ≥ 1,000 trials, 0 items lost.
 *
 *   pnpm soak:queue                       (1,000 trials)
 *   npx tsx --conditions=@managers/source packages/sync/scripts/queue-soak.ts --trials=5000
 *
 * Options: --trials=N (1000), --concurrency=N (8 consumers at once), --items=N (items per
 * round, 40), --window=MS (consumers die within this many ms, 30). Exits 1 if any item was lost.
 */
import { startSyncManager } from '@managers/sync';
import { raceConsumers } from '../test/fixtures/queue-race';

function option(name: string, fallback: number): number {
  const arg = process.argv.find((item) => item.startsWith(`--${name}=`));
  const value = arg === undefined ? fallback : Number(arg.slice(name.length + 3));
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`--${name} must be a positive integer, got ${arg}`);
  }
  return value;
}

async function main(): Promise<void> {
  const trials = option('trials', 1000);
  const concurrency = option('concurrency', 8);
  const itemsPerRound = option('items', 40);
  const windowMs = option('window', 30);
  const started = Date.now();
  await using manager = await startSyncManager();
  const result = await raceConsumers(manager, {
    trials,
    concurrency,
    itemsPerRound,
    windowMs,
    onRound: (done) => {
      if (done % 100 < concurrency) process.stdout.write(`  ${done}/${trials} trials\n`);
    },
  });
  const objects = await manager.numberOfObjects();
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(
    `queue soak: ${result.trials} terminated consumers, ${result.items} items: ` +
      `${result.consumed} consumed, ${result.remaining} left in the queue, ` +
      `${result.lost} lost, ${result.duplicated} delivered twice (at-least-once); ` +
      `${objects} objects left; ${seconds} s`,
  );
  if (result.lost > 0 || objects !== 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
