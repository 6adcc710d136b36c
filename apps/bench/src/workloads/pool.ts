/**
 * Workload 4b: a Piscina task carrying a proxy, next to a plain Piscina task (2 pool threads,
 * 1,000 tasks in flight, `atomics: 'disabled'` for both).
 */
import { extname, join } from 'node:path';
import Piscina from 'piscina';
import { ManagedPool } from '@managers/piscina';
import { interleave } from '../measure';
import { timeRow, type Section } from '../report';
import { CpuLedger } from '../thread-cpu';
import type { Context } from './context';

/** Tasks in flight at once. */
const IN_FLIGHT = 1000;
/** Tasks a pool thread runs at once in the last two rows (`concurrentTasksPerWorker`). */
const CONCURRENT_TASKS = 8;

/**
 * The options of the pools of workloads 4b and 4c, plain Piscina and ManagedPool alike: the
 * task file workers/pool-task (from sources through tsx), 2 threads, `atomics: 'disabled'`.
 */
export function poolTaskOptions() {
  const extension = extname(__filename);
  return {
    filename: join(__dirname, '..', 'workers', `pool-task${extension}`),
    minThreads: 2,
    maxThreads: 2,
    atomics: 'disabled' as const,
    execArgv:
      extension === '.ts'
        ? ['--conditions=@managers/source', '--require', require.resolve('tsx/cjs')]
        : undefined,
  };
}

/** Runs `ops` tasks, at most IN_FLIGHT at a time. */
async function runConcurrently(ops: number, runOne: (item: number) => Promise<unknown>) {
  let next = 0;
  const lane = async () => {
    while (next < ops) await runOne(next++);
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, ops) }, lane));
}

export async function poolTasks(ctx: Context): Promise<Section> {
  const section: Section = {
    id: '4b',
    title: 'pool task carrying a proxy (2 threads, 1,000 in flight)',
    rows: [],
    notes: [],
  };
  const options = poolTaskOptions();
  const plain = new Piscina(options);
  const managed = new ManagedPool(options);
  // The same pools with several tasks per thread at once (Piscina's concurrentTasksPerWorker):
  // not a target, shown because a pool thread that runs one task at a time posts each of its
  // calls alone, where the caller's calls in `plainThenCall` leave in batches.
  const concurrentOptions = { ...options, concurrentTasksPerWorker: CONCURRENT_TASKS };
  const plainConcurrent = new Piscina(concurrentOptions);
  const managedConcurrent = new ManagedPool(concurrentOptions);
  const counter = await ctx.manager.Counter();
  const cpu = new CpuLedger();
  /** A plain task on `pool`, then one call from the caller. */
  const plainThenCall = (pool: Piscina) => async (item: number) => {
    await pool.run({ item }, { name: 'plain' });
    await counter.ping();
  };
  /** A ManagedPool task on `pool` carrying the counter, calling it once there. */
  const call = (pool: ManagedPool) => (item: number) =>
    pool.run({ counter, item }, { name: 'call' });
  try {
    const result = await interleave(
      [
        {
          name: 'plain',
          minOps: 200,
          run: cpu.wrap('plain', (ops) =>
            runConcurrently(ops, (item) => plain.run({ item }, { name: 'plain' })),
          ),
        },
        {
          name: 'carry',
          minOps: 200,
          run: cpu.wrap('carry', (ops) =>
            runConcurrently(ops, (item) => managed.run({ counter, item }, { name: 'carry' })),
          ),
        },
        {
          name: 'plainThenCall',
          minOps: 200,
          run: cpu.wrap('plainThenCall', (ops) => runConcurrently(ops, plainThenCall(plain))),
        },
        {
          name: 'call',
          minOps: 200,
          run: cpu.wrap('call', (ops) => runConcurrently(ops, call(managed))),
        },
        {
          name: 'plainThenCallConcurrent',
          minOps: 200,
          run: (ops) => runConcurrently(ops, plainThenCall(plainConcurrent)),
        },
        {
          name: 'callConcurrent',
          minOps: 200,
          run: (ops) => runConcurrently(ops, call(managedConcurrent)),
        },
      ],
      ctx.measure,
    );
    const v = result.variants;
    section.rows.push(
      timeRow('plain Piscina task { item }', v.plain!.nsPerOp, 1, 'plain task'),
      timeRow(
        'ManagedPool task { counter, item }, no call',
        v.carry!.nsPerOp,
        result.timeRatio('carry', 'plain'),
        'plain task',
        1.3,
      ),
      timeRow(
        'plain task, then counter.ping() from the caller',
        v.plainThenCall!.nsPerOp,
        1,
        'plain + call',
      ),
      timeRow(
        'ManagedPool task { counter, item } calling counter.ping()',
        v.call!.nsPerOp,
        result.timeRatio('call', 'plainThenCall'),
        'plain + call',
        1.3,
      ),
      timeRow(
        `plain task, then counter.ping(), ${CONCURRENT_TASKS} tasks per thread at once`,
        v.plainThenCallConcurrent!.nsPerOp,
        1,
        `plain + call, ${CONCURRENT_TASKS} per thread`,
      ),
      timeRow(
        `ManagedPool task calling counter.ping(), ${CONCURRENT_TASKS} tasks per thread at once`,
        v.callConcurrent!.nsPerOp,
        result.timeRatio('callConcurrent', 'plainThenCallConcurrent'),
        `plain + call, ${CONCURRENT_TASKS} per thread`,
      ),
    );
    const cpuOf = (name: string) => {
      const figures = cpu.perOp(name);
      return figures === undefined
        ? 'not measured (no /proc)'
        : `${figures.all.toFixed(0)} µs (main thread ${figures.main.toFixed(0)})`;
    };
    section.notes.push(
      'CPU per task over all chunks, every thread of this process (two cores: a wake-up is a context switch, so this bounds throughput): ' +
        `plain ${cpuOf('plain')}, ManagedPool no call ${cpuOf('carry')}, ` +
        `plain + call ${cpuOf('plainThenCall')}, ManagedPool calling ${cpuOf('call')}`,
    );
    const count = await ctx.manager.numberOfObjects();
    section.notes.push(
      `hosted objects after the tasks (expect the Echo and this Counter): ${count}`,
    );
    return section;
  } finally {
    counter[Symbol.dispose]();
    await plain.destroy();
    await managed.destroy();
    await plainConcurrent.destroy();
    await managedConcurrent.destroy();
  }
}
