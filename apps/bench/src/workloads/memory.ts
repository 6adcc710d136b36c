/** Workload 7: memory per hosted object (kernel bench, and end to end through the manager). */
import v8 from 'node:v8';
import vm from 'node:vm';
import { runKernelBench } from '../kernel-bench';
import { formatNs, formatRate, pipelined } from '../measure';
import { timeRow, type Section } from '../report';
import { Counter } from '../registry';
import type { Context } from './context';
import { WINDOW } from './call';

let gcFunction: (() => void) | undefined;
async function collect(): Promise<void> {
  if (gcFunction === undefined) {
    v8.setFlagsFromString('--expose-gc');
    gcFunction = vm.runInNewContext('gc') as () => void;
  }
  for (let i = 0; i < 4; i++) {
    gcFunction();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function bytes(value: number): string {
  return `${value.toFixed(1)} bytes`;
}

/** heapUsed of `n` bare Counters in this thread, per Counter. */
async function bareCounterBytes(n: number): Promise<number> {
  await collect();
  const before = process.memoryUsage().heapUsed;
  let counters: Counter[] | undefined = Array.from({ length: n }, () => new Counter());
  await collect();
  const after = process.memoryUsage().heapUsed;
  if (counters.length !== n) throw new Error('unreachable');
  counters = undefined;
  return (after - before) / n;
}

export async function memory(ctx: Context): Promise<Section> {
  const section: Section = {
    id: '7',
    title: 'memory and the refcount kernel',
    rows: [],
    notes: [],
  };
  const n = ctx.quick ? 10_000 : 1_000_000;

  ctx.log(`  kernel bench (${n.toLocaleString('en-US')} entries)…`);
  const kernel = runKernelBench({ quick: ctx.quick });
  section.rows.push(
    timeRow('kernel baseline: bare Map get+set up and down', kernel.nsPerPair.bareMap, 1, 'Map'),
    timeRow(
      'kernel: incref+decref, tracing off',
      kernel.nsPerPair.tracingOff,
      kernel.nsPerPair.tracingOff / kernel.nsPerPair.bareMap,
      'Map',
      kernel.targets.ratioToBareMap,
    ),
    {
      variant: 'kernel: incref+decref, ring buffer on',
      display: `${kernel.nsPerPair.ringBuffer.toFixed(1)} ns`,
      value: kernel.nsPerPair.ringBuffer,
      unit: 'ns/pair',
    },
    {
      variant: 'kernel: incref+decref, diagnostics_channel',
      display: `${kernel.nsPerPair.diagnosticsChannel.toFixed(1)} ns`,
      value: kernel.nsPerPair.diagnosticsChannel,
      unit: 'ns/pair',
    },
    {
      variant: 'kernel: table bytes per live entry',
      display: bytes(kernel.bytesPerEntry),
      value: kernel.bytesPerEntry,
      unit: 'bytes',
      target: `≤ ${kernel.targets.bytesPerEntry} bytes`,
      met: kernel.pass.bytesPerEntry,
    },
  );

  ctx.log(`  ${n.toLocaleString('en-US')} live objects through the manager…`);
  const probe = await ctx.manager.Memory();
  const proxies: { [Symbol.dispose](): void }[] = [];
  try {
    const bare = await bareCounterBytes(Math.min(n, 100_000));
    await collect();
    const clientBefore = process.memoryUsage().heapUsed;
    const serverBefore = (await probe.usedBytes()) as number;
    const start = process.hrtime.bigint();
    await pipelined(n, WINDOW, async () => {
      proxies.push(await ctx.manager.Counter());
    });
    const createNs = Number(process.hrtime.bigint() - start) / n;
    const serverAfter = (await probe.usedBytes()) as number;
    await collect();
    const clientAfter = process.memoryUsage().heapUsed;
    const live = await ctx.manager.numberOfObjects();
    const releaseStart = process.hrtime.bigint();
    for (const proxy of proxies.splice(0)) proxy[Symbol.dispose]();
    const serverReleased = (await probe.usedBytes()) as number;
    const releaseNs = Number(process.hrtime.bigint() - releaseStart) / n;
    const left = await ctx.manager.numberOfObjects();
    const perObject = (serverAfter - serverBefore) / n;
    section.rows.push(
      {
        variant: `server heap + ArrayBuffers per hosted Counter (${n.toLocaleString('en-US')} live)`,
        display: bytes(perObject),
        value: perObject,
        unit: 'bytes',
      },
      {
        variant: '  of which the bare Counter object',
        display: bytes(bare),
        value: bare,
        unit: 'bytes',
      },
      {
        variant: 'client heap per proxy',
        display: bytes((clientAfter - clientBefore) / n),
        value: (clientAfter - clientBefore) / n,
        unit: 'bytes',
      },
      {
        variant: 'create, 256 outstanding',
        display: formatNs(createNs),
        value: createNs,
        unit: 'ns/op',
        note: formatRate(1e9 / createNs),
      },
      {
        variant: 'release all + GC',
        display: formatNs(releaseNs),
        value: releaseNs,
        unit: 'ns/op',
      },
    );
    section.notes.push(
      `live objects after creating: ${live} (expect ${n + 1}); after releasing: ${left} (expect 1, the Memory probe); server heap after release ${((serverReleased - serverBefore) / 1024 / 1024).toFixed(1)} MiB above the start`,
      `kernel: ${kernel.entries.toLocaleString('en-US')} entries, ${kernel.pairsPerRepetition.toLocaleString('en-US')} pairs × ${kernel.repetitions} repetitions`,
    );
    return section;
  } finally {
    for (const proxy of proxies) proxy[Symbol.dispose]();
    probe[Symbol.dispose]();
  }
}
