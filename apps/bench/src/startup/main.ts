/**
 * Thread start-up, measured from the built packages (`dist/`), as a user's process would load
 * them:
 *
 * - manager: `await MyManager.start()` until the first reply (`numberOfObjects()`), which
 *   includes starting the server worker and loading the registry module there;
 * - pool: `new ManagedPool()` until the first task's result, which includes starting one pool
 *   thread and loading its task file.
 *
 *   pnpm build && node apps/bench/dist/startup/main.js [--rounds=N]
 *
 * Each round starts a fresh thread; the medians of the rounds are printed (the first round
 * also pays the main thread's own module loading, so it is reported apart).
 */
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { ManagedPool } from '@managers/piscina';
import { BenchManager } from '../registry';

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

async function managerStartup(): Promise<number> {
  const started = performance.now();
  await using manager = await BenchManager.start({ module: join(__dirname, '..', 'registry.js') });
  await manager.numberOfObjects();
  return performance.now() - started;
}

async function poolStartup(): Promise<number> {
  const started = performance.now();
  const pool = new ManagedPool({
    filename: join(__dirname, 'pool-task.js'),
    minThreads: 1,
    maxThreads: 1,
  });
  try {
    await pool.run(1);
    return performance.now() - started;
  } finally {
    await pool.destroy();
  }
}

async function main(): Promise<void> {
  const roundsArgument = process.argv.find((argument) => argument.startsWith('--rounds='));
  const rounds = roundsArgument === undefined ? 15 : Number(roundsArgument.slice(9));
  const rows: [string, () => Promise<number>][] = [
    ['manager: start() to first reply', managerStartup],
    ['pool: new ManagedPool() to first task result', poolStartup],
  ];
  console.log(`Node ${process.version}, ${rounds} rounds each, medians after the first round`);
  for (const [label, measure] of rows) {
    const first = await measure();
    const times: number[] = [];
    for (let i = 0; i < rounds; i++) times.push(await measure());
    console.log(
      `${label.padEnd(46)} ${median(times).toFixed(1).padStart(7)} ms  (first round ${first.toFixed(1)} ms)`,
    );
  }
}

void main();
