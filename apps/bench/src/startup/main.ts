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
import { Worker } from 'node:worker_threads';
import { ManagedPool } from '@managers/piscina';
import { BenchManager } from '../registry';

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The baseline: a bare worker thread that posts one message. */
async function bareWorkerStartup(): Promise<number> {
  const started = performance.now();
  const worker = new Worker("require('node:worker_threads').parentPort.postMessage(1)", {
    eval: true,
  });
  await new Promise((resolve) => worker.once('message', resolve));
  const elapsed = performance.now() - started;
  await worker.terminate();
  return elapsed;
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
    ['baseline: bare Worker to its first message', bareWorkerStartup],
    ['manager: start() to first reply', managerStartup],
    ['pool: new ManagedPool() to first task result', poolStartup],
  ];
  console.log(
    `Node ${process.version}, ${rounds} rounds, interleaved; medians (the first round, which also loads the main thread's modules, is left out)`,
  );
  for (const [, measure] of rows) await measure();
  const times = rows.map((): number[] => []);
  for (let i = 0; i < rounds; i++)
    for (const [index, [, measure]] of rows.entries()) times[index]!.push(await measure());
  const baseline = median(times[0]!);
  for (const [index, [label]] of rows.entries()) {
    const value = median(times[index]!);
    console.log(
      `${label.padEnd(46)} ${value.toFixed(1).padStart(7)} ms  ${(value / baseline).toFixed(2)}× baseline`,
    );
  }
}

void main();
