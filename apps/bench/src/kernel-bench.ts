/**
 * Kernel benchmark: the cost of the object table itself, with no threads.
 *
 *   cd apps/bench && npx tsx --conditions=@managers/source src/kernel-bench.ts [--quick] [--entries=N]
 *
 * - ns per incref+decref pair on random ids of a table of 1,000,000 live objects
 *   (quick: 10,000), median of several repetitions: tracing off, with the trace ring
 *   buffer on, and with a `node:diagnostics_channel` subscriber;
 * - bytes of table overhead per live entry: heapUsed + arrayBuffers after GC with the table,
 *   minus the same with only the objects kept in a plain array.
 *
 * Targets: with tracing off, ≤ 1.5× a bare Map get + set up and down at the same size and
 * ids (measured interleaved in the same run); ≤ 150 bytes per entry.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import v8 from 'node:v8';
import vm from 'node:vm';
import { ObjectTable, TRACE_CHANNEL_NAME, type TypeInfo } from '@managers/refcount';
import { usedBytes } from './used-bytes';

export interface KernelBenchOptions {
  /** 10,000 entries and fewer pairs instead of 1,000,000 entries. */
  quick: boolean;
  /** Override the number of live entries (default 1,000,000, quick 10,000). */
  entries?: number;
  /** Repetitions per measurement (median taken; default 7, at least 5). */
  repetitions?: number;
}

export interface KernelBenchResult {
  readonly entries: number;
  readonly pairsPerRepetition: number;
  readonly repetitions: number;
  /** Median ns per incref+decref pair. */
  readonly nsPerPair: {
    /** The baseline: a bare Map get + set up and down, same size and ids. */
    readonly bareMap: number;
    readonly tracingOff: number;
    readonly ringBuffer: number;
    readonly diagnosticsChannel: number;
  };
  /** Table overhead per live entry, in bytes (heap + ArrayBuffers after GC, ids 1..n: dense pages). */
  readonly bytesPerEntry: number;
  readonly targets: {
    /** Tracing off: at most this many times the bare Map's time per pair. */
    readonly ratioToBareMap: number;
    readonly bytesPerEntry: number;
  };
  readonly pass: { readonly nsPerPair: boolean; readonly bytesPerEntry: boolean };
}

const TARGET_RATIO_TO_BARE_MAP = 1.5;
const TARGET_BYTES_PER_ENTRY = 150;
const HOLDER = 'main';
const TYPE: TypeInfo = { typeid: 'Bench', exposed: [], methodToTypeid: {} };

let gcFn: (() => void) | undefined;
function gc(): void {
  if (gcFn === undefined) {
    v8.setFlagsFromString('--expose-gc');
    gcFn = vm.runInNewContext('gc') as () => void;
  }
  for (let i = 0; i < 4; i++) gcFn();
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Deterministic random ids in [1, n] (xorshift32). */
function randomIds(count: number, n: number): Int32Array {
  const out = new Int32Array(count);
  let x = 0x9e3779b9 | 0;
  for (let i = 0; i < count; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = ((x >>> 0) % n) + 1;
  }
  return out;
}

function fill(table: ObjectTable, objects: object[]): void {
  for (const object of objects) table.register(object, TYPE, HOLDER);
}

function makeObjects(n: number): object[] {
  const objects: object[] = new Array(n);
  for (let i = 0; i < n; i++) objects[i] = { i };
  return objects;
}

/** Median ns per incref+decref pair over `repetitions` passes through `ids`. */
function timePairs(table: ObjectTable, ids: Int32Array, repetitions: number): number {
  const pass = (): number => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      table.incref(id, HOLDER);
      table.decref(id, HOLDER);
    }
    return Number(process.hrtime.bigint() - start) / ids.length;
  };
  pass(); // warm-up
  const samples: number[] = [];
  for (let r = 0; r < repetitions; r++) samples.push(pass());
  return median(samples);
}

/**
 * The baseline: a bare `Map` of the same size, keyed by the same ids in the same order, whose
 * value is a count; a pair is a get + set up and a get + set down (what an incref and a decref
 * do at least).
 */
function timeBareMapPairs(n: number, ids: Int32Array, repetitions: number): number {
  const map = new Map<number, number>();
  for (let id = 1; id <= n; id++) map.set(id, 1);
  const pass = (): number => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      map.set(id, map.get(id)! + 1);
      map.set(id, map.get(id)! - 1);
    }
    return Number(process.hrtime.bigint() - start) / ids.length;
  };
  pass();
  const samples: number[] = [];
  for (let r = 0; r < repetitions; r++) samples.push(pass());
  if (map.size !== n) throw new Error('the bare map changed size');
  return median(samples);
}

/** usedBytes(objects + table) − usedBytes(objects only), per entry. */
function measureBytesPerEntry(n: number): number {
  let objects: object[] | undefined = makeObjects(n);
  gc();
  const withObjects = usedBytes();
  let table: ObjectTable | undefined = new ObjectTable({ name: 'memory' });
  fill(table, objects);
  gc();
  const withTable = usedBytes();
  if (table.numberOfObjects() !== n) throw new Error('table lost entries');
  table = undefined;
  objects = undefined;
  gc();
  return (withTable - withObjects) / n;
}

export function runKernelBench(options: KernelBenchOptions): KernelBenchResult {
  const entries = options.entries ?? (options.quick ? 10_000 : 1_000_000);
  const pairs = options.quick ? 200_000 : 1_000_000;
  const repetitions = Math.max(5, options.repetitions ?? 7);

  const bytesPerEntry = measureBytesPerEntry(entries);

  const objects = makeObjects(entries);
  const table = new ObjectTable({ name: 'bench' });
  fill(table, objects);
  const ids = randomIds(pairs, entries);
  gc();

  // Interleaved with the baseline, so that one noisy stretch does not decide the ratio.
  const bareSamples: number[] = [];
  const tableSamples: number[] = [];
  for (let round = 0; round < 3; round++) {
    bareSamples.push(timeBareMapPairs(entries, ids, repetitions));
    tableSamples.push(timePairs(table, ids, repetitions));
  }
  const bareMap = median(bareSamples);
  const tracingOff = median(tableSamples);

  table.setTraceBufferSize(1024);
  const ringBuffer = timePairs(table, ids, repetitions);
  table.setTraceBufferSize(0);

  let published = 0;
  const listener = (): void => {
    published++;
  };
  diagnosticsChannel.subscribe(TRACE_CHANNEL_NAME, listener);
  let channel: number;
  try {
    channel = timePairs(table, ids, repetitions);
  } finally {
    diagnosticsChannel.unsubscribe(TRACE_CHANNEL_NAME, listener);
  }
  if (published !== 2 * pairs * (repetitions + 1)) {
    throw new Error(
      `the subscriber saw ${published} events, expected ${2 * pairs * (repetitions + 1)}`,
    );
  }
  table.assertConsistent();
  if (table.numberOfObjects() !== entries) throw new Error('the table lost entries');

  return {
    entries,
    pairsPerRepetition: pairs,
    repetitions,
    nsPerPair: { bareMap, tracingOff, ringBuffer, diagnosticsChannel: channel },
    bytesPerEntry,
    targets: { ratioToBareMap: TARGET_RATIO_TO_BARE_MAP, bytesPerEntry: TARGET_BYTES_PER_ENTRY },
    pass: {
      nsPerPair: tracingOff <= TARGET_RATIO_TO_BARE_MAP * bareMap,
      bytesPerEntry: bytesPerEntry <= TARGET_BYTES_PER_ENTRY,
    },
  };
}

/** The result as a small text table. */
export function formatKernelBench(result: KernelBenchResult): string {
  const ok = (pass: boolean) => (pass ? 'ok' : 'MISSED');
  const ratio = result.nsPerPair.tracingOff / result.nsPerPair.bareMap;
  const rows: [string, string, string][] = [
    [
      'bare Map get+set up and down (baseline)',
      `${result.nsPerPair.bareMap.toFixed(1)} ns/pair`,
      '',
    ],
    [
      'incref+decref, tracing off',
      `${result.nsPerPair.tracingOff.toFixed(1)} ns/pair`,
      `${ratio.toFixed(2)}× bare Map, ≤ ${result.targets.ratioToBareMap}× ${ok(result.pass.nsPerPair)}`,
    ],
    ['incref+decref, ring buffer on', `${result.nsPerPair.ringBuffer.toFixed(1)} ns/pair`, ''],
    [
      'incref+decref, diagnostics_channel',
      `${result.nsPerPair.diagnosticsChannel.toFixed(1)} ns/pair`,
      '',
    ],
    [
      'table overhead per live entry',
      `${result.bytesPerEntry.toFixed(1)} bytes`,
      `≤ ${result.targets.bytesPerEntry} ${ok(result.pass.bytesPerEntry)}`,
    ],
  ];
  const widths = [0, 1].map((c) => Math.max(...rows.map((r) => r[c]!.length)));
  const header = `kernel bench: ${result.entries.toLocaleString('en-US')} live entries, one holder; ${result.pairsPerRepetition.toLocaleString('en-US')} pairs × ${result.repetitions} repetitions (median)`;
  return [
    header,
    ...rows.map(([a, b, c]) =>
      `  ${a.padEnd(widths[0]!)}  ${b.padStart(widths[1]!)}  ${c}`.trimEnd(),
    ),
  ].join('\n');
}

if (require.main === module) {
  const quick = process.argv.includes('--quick');
  const entriesArg = process.argv.find((arg) => arg.startsWith('--entries='));
  const entries =
    entriesArg === undefined ? undefined : Number(entriesArg.slice('--entries='.length));
  const result = runKernelBench({ quick, entries });
  console.log(formatKernelBench(result));
}
