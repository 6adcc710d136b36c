/**
 * The demo's pools section: two Piscina pools (through @managers/piscina) run 2,000 tasks
 * that share one managed counter and one managed list. This module is also the registry
 * module of the section's manager (the server worker loads it): it only defines things.
 */
import { BaseManager, formatTrace, release, type TraceEvent } from '@managers/core';
import Piscina from 'piscina';
import { ManagedPool, managedPoolOptions, taskFile } from '@managers/piscina';
import { Counter } from './managers';

/** A hosted list. */
export class List {
  readonly items: unknown[] = [];

  append(value: unknown): number {
    return this.items.push(value);
  }

  length(): number {
    return this.items.length;
  }

  toString(): string {
    return `List(${this.items.length})`;
  }
}

export const PoolDemoManager = BaseManager.register('Counter', { callable: Counter }).register(
  'List',
  { callable: List },
);

const TASKS = 2000;

/** Counts the trace events by op, in the order the ops first appear. */
function countOps(events: readonly TraceEvent[]): string {
  const counts = new Map<string, number>();
  for (const event of events) counts.set(event.op, (counts.get(event.op) ?? 0) + 1);
  return [...counts].map(([op, count]) => `${op} ${count}`).join(', ');
}

/**
 * The per-task cost of a lent proxy, after warm-up: 1,000 tasks in flight on 2 threads, a
 * plain Piscina task `{ item }` next to a ManagedPool task `{ counter, item }` that does not
 * call it. A demo figure, one short run: `pnpm bench --only=4b` measures it properly.
 */
async function comparePerTaskCost(counter: object, filename: string): Promise<void> {
  const options = { filename, minThreads: 2, maxThreads: 2, atomics: 'disabled' as const };
  await using plain = new Piscina({ ...options, execArgv: managedPoolOptions(options).execArgv });
  await using managed = new ManagedPool(options);
  const time = async (run: (item: number) => Promise<unknown>): Promise<number> => {
    const tasks = 1000;
    const start = process.hrtime.bigint();
    await Promise.all(Array.from({ length: tasks }, (_, item) => run(item)));
    return Number(process.hrtime.bigint() - start) / tasks / 1000;
  };
  const runPlain = (item: number) => plain.run({ item }, { name: 'plain' });
  const runManaged = (item: number) => managed.run({ counter, item }, { name: 'carry' });
  await time(runPlain); // warm-up: threads started, code compiled
  await time(runManaged);
  const plainCost: number[] = [];
  const managedCost: number[] = [];
  for (let round = 0; round < 3; round++) {
    plainCost.push(await time(runPlain));
    managedCost.push(await time(runManaged));
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[1]!;
  console.log(
    `  per task, after warm-up (1,000 in flight, 2 threads, median of 3): plain Piscina task ` +
      `${median(plainCost).toFixed(0)} µs, ManagedPool task carrying a proxy ${median(managedCost).toFixed(0)} µs ` +
      `(${(median(managedCost) / median(plainCost)).toFixed(2)}x)`,
  );
}

export async function poolsWalkthrough(heading: (text: string) => void): Promise<void> {
  heading('5. Piscina pools: 2 pools x 2 threads run 2,000 tasks on one Counter and one List');
  await using manager = await PoolDemoManager.start({
    module: __filename,
    exportName: 'PoolDemoManager',
    traceBufferSize: 100_000,
  });
  const filename = taskFile(__filename, 'pool-task');
  await using first = new ManagedPool({ filename, minThreads: 2, maxThreads: 2 });
  await using second = new ManagedPool({ filename, minThreads: 2, maxThreads: 2 });
  const counter = await manager.Counter();
  const list = await manager.List();
  const runs: Promise<number>[] = [];
  for (let item = 0; item < TASKS; item++)
    runs.push((item % 2 === 0 ? first : second).run({ counter, list, item }));
  await Promise.all(runs);
  // No timing here: this first run includes starting four threads and compiling TypeScript
  // in each; `pnpm bench` measures speed, after warm-up, against baselines.
  console.log(
    `${TASKS} tasks done: counter.value() = ${await counter.value()}, list.length() = ${await list.length()}`,
  );
  // Each task released the proxies it received when it ended: the pool threads keep their
  // connections (one per thread) but no references. (Their last releases may still be on
  // the way: give them a moment.)
  await new Promise((resolve) => setTimeout(resolve, 50));
  console.log('--- after the tasks (holders per object):');
  console.log(await manager.debugInfo({ holders: true }));
  const trace = await manager.trace();
  const loans = new Set(
    trace.filter((event) => event.holder.startsWith('lease:')).map((event) => event.holder),
  );
  console.log(`  trace summary: ${countOps(trace)}`);
  console.log(
    `  loans: ${loans.size}, one per task: a task's proxies are lent to it (holder lease:main>N) ` +
      `for its duration; the pool thread uses them through its own connection, and the loan ` +
      `ends when the task does (no port, no reference of the pool thread's own)`,
  );
  await comparePerTaskCost(counter, filename);
  release(counter);
  release(list);
  await new Promise((resolve) => setImmediate(resolve));
  const last = await manager.trace();
  console.log('  trace of the final releases:');
  console.log(
    formatTrace(last.slice(-4))
      .split('\n')
      .map((line) => `    ${line}`)
      .join('\n'),
  );
  console.log(`number_objects = ${await manager.numberOfObjects()}`);
}
