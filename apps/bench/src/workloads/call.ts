/** Workloads 1 and 2: a proxy method call, one outstanding and 256 outstanding. */
import { formatNs, formatRate, interleave, pipelined } from '../measure';
import { timeRow, type Row, type Section } from '../report';
import type { Context } from './context';
import type { PythonResult } from './python';

export const WINDOW = 256;

/** 1. `await proxy.ping()`, one call outstanding. */
export async function callOneOutstanding(ctx: Context, python?: PythonResult): Promise<Section> {
  const echo = await ctx.manager.Echo();
  try {
    const result = await interleave(
      [
        {
          name: 'raw',
          run: async (ops) => {
            for (let i = 0; i < ops; i++) await ctx.raw.roundTrip(i);
          },
        },
        {
          name: 'ours',
          run: async (ops) => {
            for (let i = 0; i < ops; i++) await echo.ping(i);
          },
        },
        {
          name: 'comlink',
          run: async (ops) => {
            for (let i = 0; i < ops; i++) await ctx.comlink.ping(i);
          },
        },
      ],
      ctx.measure,
    );
    const v = result.variants;
    const oursRatio = result.timeRatio('ours', 'raw');
    const rows: Row[] = [
      timeRow('raw MessagePort', v.raw!.nsPerOp, 1, 'raw'),
      timeRow('ours: await proxy.ping()', v.ours!.nsPerOp, oursRatio, 'raw', 1.2),
      timeRow(
        'Comlink: await remote.ping()',
        v.comlink!.nsPerOp,
        result.timeRatio('comlink', 'raw'),
        'raw',
      ),
    ];
    const notes = [
      `chunks: raw ${v.raw!.opsPerChunk}, ours ${v.ours!.opsPerChunk}, comlink ${v.comlink!.opsPerChunk} calls; range over chunks ours ${formatNs(v.ours!.minNsPerOp)}–${formatNs(v.ours!.maxNsPerOp)}, raw ${formatNs(v.raw!.minNsPerOp)}–${formatNs(v.raw!.maxNsPerOp)}`,
    ];
    if (python?.call_ns !== undefined) {
      rows.push({
        variant: 'Python manager: proxy.ping()',
        note: 'separate process',
        display: formatNs(python.call_ns),
        value: python.call_ns,
        unit: 'ns/op',
        ratio: python.call_ns / v.raw!.nsPerOp,
        ratioKind: 'time',
        baseline: 'raw',
      });
    }
    return { id: '1', title: 'proxy call, one outstanding', rows, notes };
  } finally {
    echo[Symbol.dispose]();
  }
}

/** 2. 256 calls outstanding: throughput. */
export async function callPipelined(ctx: Context): Promise<Section> {
  const echo = await ctx.manager.Echo();
  try {
    const result = await interleave(
      [
        { name: 'raw', minOps: WINDOW, run: (ops) => ctx.raw.pipelined(ops, WINDOW) },
        { name: 'ours', minOps: WINDOW, run: (ops) => pipelined(ops, WINDOW, () => echo.ping()) },
        {
          name: 'comlink',
          minOps: WINDOW,
          run: (ops) => pipelined(ops, WINDOW, () => ctx.comlink.ping()),
        },
      ],
      { ...ctx.measure, warmupOps: Math.max(ctx.measure.warmupOps, 4 * WINDOW) },
    );
    const v = result.variants;
    const rate = (name: string) => 1e9 / v[name]!.nsPerOp;
    const ratio = (name: string) => 1 / result.timeRatio(name, 'raw');
    const ours = ratio('ours');
    return {
      id: '2',
      title: `${WINDOW} calls outstanding`,
      rows: [
        {
          variant: 'raw MessagePort',
          display: formatRate(rate('raw')),
          value: rate('raw'),
          unit: 'ops/s',
          ratio: 1,
          ratioKind: 'rate',
          baseline: 'raw',
        },
        {
          variant: 'ours: proxy.ping()',
          display: formatRate(rate('ours')),
          value: rate('ours'),
          unit: 'ops/s',
          ratio: ours,
          ratioKind: 'rate',
          baseline: 'raw',
          target: '≥ 1.0× raw',
          met: ours >= 1.0,
        },
        {
          variant: 'Comlink: remote.ping()',
          display: formatRate(rate('comlink')),
          value: rate('comlink'),
          unit: 'ops/s',
          ratio: ratio('comlink'),
          ratioKind: 'rate',
          baseline: 'raw',
        },
      ],
      notes: [
        `raw: ${WINDOW} messages in flight, one postMessage per round trip; ours/Comlink: ${WINDOW} concurrent awaiting loops`,
      ],
    };
  } finally {
    echo[Symbol.dispose]();
  }
}
