/**
 * The benchmark suite: every workload measured next to its baseline in this process,
 * interleaved in chunks (see measure.ts), printed as a table with targets, written to
 * `bench-results/` at the repository root as JSON and an SVG chart.
 *
 *   pnpm bench [--quick] [--pin] [--only=1,2,…]
 *
 * --quick  every workload briefly (a CI smoke test: asserts nothing about speed)
 * --pin    re-runs itself under `taskset -c 0` when taskset exists
 * --only   runs only the listed workloads (1, 2, 3, 4, 4b, 4c, 5, 6, 7, 8, 9, 10)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { writeChart } from './chart';
import type { InterleaveOptions } from './measure';
import { formatTable, writeJson, type Header, type Section } from './report';
import { BenchManager } from './registry';
import { bigBuffer } from './workloads/buffer';
import { callOneOutstanding, callPipelined } from './workloads/call';
import {
  Comlink,
  nodeEndpoint,
  RawClient,
  startPortWorker,
  type Context,
  type PortWorker,
} from './workloads/context';
import { createRelease } from './workloads/create';
import { handoff } from './workloads/handoff';
import { mapOpsWorkload } from './workloads/map';
import { memory } from './workloads/memory';
import { poolTasks } from './workloads/pool';
import { poolBurst } from './workloads/pool-burst';
import { syncCall } from './workloads/sync-call';
import { crossProcess } from './workloads/sockets';
import { pythonSection, runPython, type PythonResult } from './workloads/python';
import type { ComlinkApi } from './workers/comlink';

const PINNED_ENV = 'MANAGERS_BENCH_PINNED';

interface Args {
  quick: boolean;
  pin: boolean;
  only: Set<string> | undefined;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { quick: false, pin: false, only: undefined };
  for (const arg of argv) {
    if (arg === '--') continue;
    else if (arg === '--quick') args.quick = true;
    else if (arg === '--pin') args.pin = true;
    else if (arg.startsWith('--only='))
      args.only = new Set(arg.slice(7).split(',').filter(Boolean));
    else if (arg === '--help' || arg === '-h') {
      console.log('usage: pnpm bench [--quick] [--pin] [--only=1,2,…]');
      process.exit(0);
    } else {
      console.error(
        `unknown argument: ${arg} (usage: pnpm bench [--quick] [--pin] [--only=1,2,…])`,
      );
      process.exit(2);
    }
  }
  return args;
}

function which(command: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() || undefined : undefined;
}

/** With --pin: re-executes this very command under `taskset -c 0` and exits with its status. */
function pinning(args: Args): string {
  const already = process.env[PINNED_ENV];
  if (already) return already;
  if (!args.pin) return 'none (use --pin for taskset -c 0)';
  const taskset = which('taskset');
  if (taskset === undefined) return 'none (--pin given, but taskset is not installed)';
  const how = 'taskset -c 0';
  console.error(`re-running under ${how}…`);
  const child = spawnSync(
    taskset,
    ['-c', '0', process.execPath, ...process.execArgv, ...process.argv.slice(1)],
    { stdio: 'inherit', env: { ...process.env, [PINNED_ENV]: how } },
  );
  process.exit(child.status ?? 1);
}

function nproc(): string {
  try {
    return execFileSync('nproc', { encoding: 'utf8' }).trim();
  } catch {
    return String(availableParallelism());
  }
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const pinned = pinning(args);
  const started = Date.now();
  const header: Header = {
    date: new Date().toISOString(),
    node: process.version,
    nproc: nproc(),
    cpus: availableParallelism(),
    pinned,
    mode: args.quick ? 'quick' : 'full',
    platform: `${process.platform}-${process.arch}`,
  };
  console.log(
    `@managers bench (${header.mode}): node ${header.node}, nproc ${header.nproc}, pinning: ${header.pinned}`,
  );
  const wanted = (id: string) => args.only === undefined || args.only.has(id);
  const log = (line: string) => console.error(line);
  const measure: InterleaveOptions = args.quick
    ? { reps: 3, chunkMs: 20, warmupOps: 20, warmupMs: 60 }
    : { reps: 15, chunkMs: 120, warmupOps: 100, warmupMs: 400 };

  // Python first, alone: its processes would otherwise compete with the threads measured here.
  let python: PythonResult | { skipped: string } = { skipped: 'not selected (--only)' };
  if (['1', '3', '6', '8'].some(wanted)) {
    log('8. Python manager (a separate process)…');
    python = await runPython(args.quick);
  }
  const pythonFigures = 'skipped' in python ? undefined : python;

  const extraWorkers: PortWorker[] = [];
  let rawWorker: PortWorker | undefined;
  let comlinkWorker: PortWorker | undefined;
  let comlinkRemote: Comlink.Remote<ComlinkApi> | undefined;
  let raw: RawClient | undefined;
  let manager: Context['manager'] | undefined;
  const sections: Section[] = [];
  let failed = false;
  try {
    log('starting the raw echo worker, the Comlink worker and the manager…');
    [rawWorker, comlinkWorker, manager] = await Promise.all([
      startPortWorker('raw-echo'),
      startPortWorker('comlink'),
      BenchManager.start({ module: require.resolve('./registry'), name: 'bench' }),
    ]);
    raw = new RawClient(rawWorker.port);
    comlinkRemote = Comlink.wrap<ComlinkApi>(nodeEndpoint(comlinkWorker.port));
    const ctx: Context = {
      quick: args.quick,
      measure,
      manager,
      raw,
      comlink: comlinkRemote,
      async startPortWorker(name) {
        const peer = await startPortWorker(name);
        extraWorkers.push(peer);
        return peer;
      },
      log,
    };
    const workloads: [string, string, () => Promise<Section>][] = [
      ['1', 'proxy call, one outstanding', () => callOneOutstanding(ctx, pythonFigures)],
      ['2', '256 calls outstanding', () => callPipelined(ctx)],
      ['3', 'create + release', () => createRelease(ctx, pythonFigures)],
      ['4', 'handoff', () => handoff(ctx)],
      ['4b', 'pool task carrying a proxy', () => poolTasks(ctx)],
      ['4c', 'a burst of tasks on a new pool', () => poolBurst(ctx)],
      ['5', '16 MiB ArrayBuffer', () => bigBuffer(ctx)],
      ['6', 'Map set/get', () => mapOpsWorkload(ctx, pythonFigures)],
      ['7', 'memory', () => memory(ctx)],
      ['9', 'synchronous call', () => syncCall(ctx)],
      ['10', 'cross-process (sockets)', () => crossProcess(ctx)],
    ];
    for (const [id, title, run] of workloads) {
      if (!wanted(id)) continue;
      log(`${id}. ${title}…`);
      const t0 = Date.now();
      try {
        sections.push(await run());
      } catch (error) {
        failed = true;
        log(`${id}. ${title} FAILED: ${(error as Error)?.stack ?? String(error)}`);
        sections.push({
          id,
          title,
          rows: [],
          notes: [],
          skipped: `FAILED: ${(error as Error)?.message ?? String(error)}`,
        });
      }
      log(`   ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
    if (wanted('8')) sections.push(pythonSection(python));
  } finally {
    raw?.close();
    comlinkRemote?.[Comlink.releaseProxy]();
    comlinkWorker?.port.close();
    const workers: Worker[] = [rawWorker, comlinkWorker, ...extraWorkers]
      .filter((peer): peer is PortWorker => peer !== undefined)
      .map((peer) => {
        peer.port.close();
        return peer.worker;
      });
    await Promise.all([manager?.shutdown(), ...workers.map((worker) => worker.terminate())]);
  }
  const elapsed = Date.now() - started;
  console.log('');
  console.log(formatTable(header, sections, elapsed));
  const dir = resolve(__dirname, '..', '..', '..', 'bench-results');
  const base = args.quick ? 'bench-quick' : 'bench';
  writeJson(join(dir, `${base}.json`), header, sections, { python, elapsedMs: elapsed, measure });
  writeChart(join(dir, `${base}.svg`), header, sections);
  console.log(`wrote ${join(dir, `${base}.json`)} and ${join(dir, `${base}.svg`)}`);
  return failed ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
    // Everything is closed by now; if some handle still keeps the process alive, say so and leave.
    setTimeout(() => {
      console.error('bench: a handle kept the process alive after the run: forcing exit');
      process.exit(code || 3);
    }, 5_000).unref();
  },
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
