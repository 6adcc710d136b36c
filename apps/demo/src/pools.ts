/**
 * The demo's pools section: two Piscina pools (through @managers/piscina) run 2,000 tasks
 * that share one managed counter and one managed list. This module is also the registry
 * module of the section's manager (the server worker loads it): it only defines things.
 */
import { BaseManager, formatTrace, release, type TraceEvent } from '@managers/core';
import { ManagedPool, taskFile } from '@managers/piscina';
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
  const connections = new Set(
    trace.filter((event) => event.holder.startsWith('thread-')).map((event) => event.holder),
  );
  console.log(`  trace summary: ${countOps(trace)}`);
  console.log(
    `  pool thread connections: ${connections.size} (${[...connections].join(', ')}), one per pool thread for all ${TASKS} tasks`,
  );
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
