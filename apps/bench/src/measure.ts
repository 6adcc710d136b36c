/**
 * Interleaved, chunked timing. The variants of one workload run in the same process, one
 * chunk each in turn (the order rotates every repetition), so a noise regime that lasts
 * thousands of calls (2-vCPU machines flip between ~7 µs and ~70 µs round trips) hits all
 * of them alike. Each variant gets a warm-up, then its chunk size is calibrated to take about
 * `chunkMs`; the result is the median of the per-chunk figures, and ratios are medians of
 * per-repetition ratios (each pair measured back to back).
 */

/**
 * One contender: `run(ops)` performs `ops` operations and resolves when they are all done,
 * timed here; or with the ns they took, timed where they ran (another process), so that the
 * command's trip there and back is not counted.
 */
export interface Variant {
  readonly name: string;
  run(ops: number): Promise<void | number>;
  /** Largest chunk (e.g. bounded by memory); default 10,000,000. */
  readonly maxOps?: number;
  /** Smallest chunk (default 1). */
  readonly minOps?: number;
}

export interface InterleaveOptions {
  /** Repetitions (chunks per variant) after warm-up. */
  readonly reps: number;
  /** Target duration of one chunk, in ms. */
  readonly chunkMs: number;
  /** Operations of the first warm-up chunk. */
  readonly warmupOps: number;
  /** Minimum warm-up time per variant, in ms. */
  readonly warmupMs: number;
}

export interface VariantStats {
  readonly name: string;
  /** Median ns per operation over the chunks. */
  readonly nsPerOp: number;
  /** Fastest and slowest chunk, ns per operation. */
  readonly minNsPerOp: number;
  readonly maxNsPerOp: number;
  /** Operations per chunk after calibration. */
  readonly opsPerChunk: number;
  /** ns per operation of every chunk, in order. */
  readonly samples: readonly number[];
}

export interface InterleaveResult {
  readonly variants: Readonly<Record<string, VariantStats>>;
  /** Median over repetitions of `variant` ns/op ÷ `baseline` ns/op (paired, same repetition). */
  timeRatio(variant: string, baseline: string): number;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function timeChunk(variant: Variant, ops: number): Promise<number> {
  const start = process.hrtime.bigint();
  const measured = await variant.run(ops);
  const elapsed = typeof measured === 'number' ? measured : Number(process.hrtime.bigint() - start);
  return elapsed / ops;
}

function clampOps(variant: Variant, ops: number): number {
  const max = variant.maxOps ?? 10_000_000;
  const min = variant.minOps ?? 1;
  return Math.max(min, Math.min(max, Math.round(ops)));
}

/** Runs `variants` interleaved in chunks and returns their median figures. */
export async function interleave(
  variants: readonly Variant[],
  options: InterleaveOptions,
): Promise<InterleaveResult> {
  const opsPerChunk = new Map<string, number>();
  // Warm-up (JIT, connections, caches) for at least `warmupMs` and two chunks per variant,
  // growing the chunk towards `chunkMs`; the last warm-up chunk calibrates the chunk size.
  for (const variant of variants) {
    let ops = clampOps(variant, options.warmupOps);
    let spent = 0;
    let ns = 0;
    for (let chunk = 0; chunk < 2 || spent < options.warmupMs * 1e6; chunk++) {
      ns = await timeChunk(variant, ops);
      spent += ns * ops;
      ops = clampOps(variant, Math.min(ops * 4, (options.chunkMs * 1e6) / Math.max(ns, 1)));
    }
    opsPerChunk.set(variant.name, clampOps(variant, (options.chunkMs * 1e6) / Math.max(ns, 1)));
  }
  const samples = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  for (let rep = 0; rep < options.reps; rep++) {
    for (let k = 0; k < variants.length; k++) {
      const variant = variants[(rep + k) % variants.length]!;
      samples.get(variant.name)!.push(await timeChunk(variant, opsPerChunk.get(variant.name)!));
    }
  }
  const stats: Record<string, VariantStats> = {};
  for (const variant of variants) {
    const s = samples.get(variant.name)!;
    stats[variant.name] = {
      name: variant.name,
      nsPerOp: median(s),
      minNsPerOp: Math.min(...s),
      maxNsPerOp: Math.max(...s),
      opsPerChunk: opsPerChunk.get(variant.name)!,
      samples: s,
    };
  }
  return {
    variants: stats,
    timeRatio(name, baseline) {
      const a = samples.get(name)!;
      const b = samples.get(baseline)!;
      return median(a.map((value, index) => value / b[index]!));
    },
  };
}

/** Runs `lanes` concurrent loops that share `ops` calls of `call` (a window of outstanding calls). */
export async function pipelined(
  ops: number,
  lanes: number,
  call: () => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < ops) {
      next++;
      await call();
    }
  };
  await Promise.all(Array.from({ length: Math.min(lanes, ops) }, lane));
}

/** Formats ns as the most readable unit. */
export function formatNs(ns: number): string {
  if (!Number.isFinite(ns)) return '—';
  if (ns < 1e3) return `${ns.toFixed(0)} ns`;
  if (ns < 1e6) return `${(ns / 1e3).toFixed(ns < 1e4 ? 2 : 1)} µs`;
  if (ns < 1e9) return `${(ns / 1e6).toFixed(ns < 1e7 ? 2 : 1)} ms`;
  return `${(ns / 1e9).toFixed(2)} s`;
}

export function formatRate(opsPerSecond: number): string {
  if (!Number.isFinite(opsPerSecond)) return '—';
  return `${Math.round(opsPerSecond).toLocaleString('en-US')}/s`;
}
