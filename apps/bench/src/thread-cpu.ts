/**
 * CPU time per thread of this process, from `/proc/self/task/<tid>/stat` (Linux only): what a
 * workload costs on every thread (main, server, pool threads, V8's helpers), not only in wall
 * time. On a machine with few cores, a message that wakes a sleeping thread costs a context
 * switch, so the sum over threads is what bounds throughput.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of `utime`/`stime` (USER_HZ; 100 on every Linux we run on). */
const TICKS_PER_SECOND = 100;

/** CPU µs (user + system) per thread id of this process, or undefined off Linux. */
export function threadCpu(): Map<number, number> | undefined {
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return undefined;
  }
  const cpu = new Map<number, number>();
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces), from field 3 (state) on.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = Number(fields[11]) + Number(fields[12]);
      cpu.set(Number(tid), (ticks * 1e6) / TICKS_PER_SECOND);
    } catch {
      // The thread ended meanwhile.
    }
  }
  return cpu;
}

/** Accumulates, per variant, the CPU all threads (and the main thread) spent and the ops done. */
export class CpuLedger {
  readonly #totals = new Map<string, { all: number; main: number; ops: number }>();

  /** Wraps `run(ops)` so that the CPU spent during each run is added to `name`'s total. */
  wrap<R>(name: string, run: (ops: number) => Promise<R>): (ops: number) => Promise<R> {
    return async (ops) => {
      const before = threadCpu();
      const result = await run(ops);
      const after = threadCpu();
      if (before !== undefined && after !== undefined) {
        let all = 0;
        for (const [tid, value] of after) all += value - (before.get(tid) ?? 0);
        const main = (after.get(process.pid) ?? 0) - (before.get(process.pid) ?? 0);
        const total = this.#totals.get(name) ?? { all: 0, main: 0, ops: 0 };
        total.all += all;
        total.main += main;
        total.ops += ops;
        this.#totals.set(name, total);
      }
      return result;
    };
  }

  /** CPU µs per op for `name` (all threads, and the main thread), or undefined if unmeasured. */
  perOp(name: string): { all: number; main: number } | undefined {
    const total = this.#totals.get(name);
    if (total === undefined || total.ops === 0) return undefined;
    return { all: total.all / total.ops, main: total.main / total.ops };
  }
}
