/**
 * Workload 4c: a burst of tasks submitted at once to a pool whose threads have just started
 * (running, handler loaded, no connection to the manager yet), next to the same burst of
 * plain Piscina tasks and to the burst on a pool whose threads are connected already. Each
 * round makes fresh pools, so this is not an `interleave()` of chunks: rounds alternate the
 * variants and the figures are medians over rounds.
 */
import Piscina from 'piscina';
import { ManagedPool } from '@managers/piscina';
import { median } from '../measure';
import { timeRow, type Section } from '../report';
import type { Context } from './context';
import { poolTaskOptions } from './pool';

/** Tasks per burst (all submitted at once). */
const BURST = 10_000;
const QUICK_BURST = 500;
/** Tasks that start a pool's threads (and, for the connected variant, connect them) first. */
const WARM_TASKS = 8;

export async function poolBurst(ctx: Context): Promise<Section> {
  const section: Section = {
    id: '4c',
    title: `a burst of ${(ctx.quick ? QUICK_BURST : BURST).toLocaleString('en-US')} tasks at once on a new pool (2 threads)`,
    rows: [],
    notes: [],
  };
  const burst = ctx.quick ? QUICK_BURST : BURST;
  const rounds = ctx.quick ? 1 : 5;
  const options = poolTaskOptions();
  const counter = await ctx.manager.Counter();
  const items = Array.from({ length: burst }, (_, item) => item);
  /** ns per task of one burst of `run` on a pool `make()` returns, warmed by `warm`. */
  const timeBurst = async <P extends Piscina>(
    make: () => P,
    warm: (pool: P, item: number) => Promise<unknown>,
    run: (pool: P, item: number) => Promise<unknown>,
  ): Promise<number> => {
    const pool = make();
    try {
      await Promise.all(items.slice(0, WARM_TASKS).map((item) => warm(pool, item)));
      const start = process.hrtime.bigint();
      await Promise.all(items.map((item) => run(pool, item)));
      return Number(process.hrtime.bigint() - start) / burst;
    } finally {
      await pool.destroy();
    }
  };
  const plainTask = (pool: Piscina, item: number) => pool.run({ item }, { name: 'plain' });
  const noProxy = (pool: ManagedPool, item: number) => pool.run({ item }, { name: 'carry' });
  const withProxy = (pool: ManagedPool, item: number) =>
    pool.run({ counter, item }, { name: 'carry' });
  const variants: Record<string, () => Promise<number>> = {
    plain: () => timeBurst(() => new Piscina(options), plainTask, plainTask),
    cold: () => timeBurst(() => new ManagedPool(options), noProxy, withProxy),
    connected: () => timeBurst(() => new ManagedPool(options), withProxy, withProxy),
  };
  const samples: Record<string, number[]> = { plain: [], cold: [], connected: [] };
  try {
    for (let round = 0; round < rounds; round++) {
      const names = Object.keys(variants);
      for (let k = 0; k < names.length; k++) {
        const name = names[(round + k) % names.length]!;
        samples[name]!.push(await variants[name]!());
      }
    }
    const ratio = (name: string) =>
      median(samples[name]!.map((value, index) => value / samples.connected![index]!));
    section.rows.push(
      timeRow(
        'ManagedPool task { counter, item }, threads connected already',
        median(samples.connected!),
        1,
        'connected',
      ),
      timeRow(
        'the same on threads not connected yet (a port for each thread)',
        median(samples.cold!),
        ratio('cold'),
        'connected',
      ),
      timeRow(
        'plain Piscina task { item } (context)',
        median(samples.plain!),
        ratio('plain'),
        'connected',
      ),
    );
    section.notes.push(
      `per task, median of ${rounds} round(s); each round starts fresh pools and runs ${WARM_TASKS} tasks on them first (threads up, handler loaded; connected only in the first row)`,
    );
    return section;
  } finally {
    counter[Symbol.dispose]();
  }
}
