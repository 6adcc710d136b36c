/** Workload 3: create + release, measured until the release is processed. */
import { formatNs, interleave } from '../measure';
import type { Row, Section } from '../report';
import { Comlink, type Context } from './context';
import type { PythonResult } from './python';

export async function createRelease(ctx: Context, python?: PythonResult): Promise<Section> {
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
            for (let i = 0; i < ops; i++) {
              const counter = await ctx.manager.Counter();
              counter[Symbol.dispose]();
            }
            // The last release travels with this call, before it on the same port: when the
            // reply comes back every release of the chunk has been processed.
            await echo.ping();
          },
        },
        {
          name: 'comlink',
          run: async (ops) => {
            for (let i = 0; i < ops; i++) {
              const counter = await ctx.comlink.make();
              counter[Comlink.releaseProxy]();
            }
            await ctx.comlink.ping();
          },
        },
      ],
      ctx.measure,
    );
    const v = result.variants;
    const ours = result.timeRatio('ours', 'raw');
    const rows: Row[] = [
      {
        variant: 'raw MessagePort round trip',
        display: formatNs(v.raw!.nsPerOp),
        value: v.raw!.nsPerOp,
        unit: 'ns/op',
        ratio: 1,
        ratioKind: 'time',
        baseline: 'raw',
      },
      {
        variant: 'ours: await manager.Counter() + dispose',
        display: formatNs(v.ours!.nsPerOp),
        value: v.ours!.nsPerOp,
        unit: 'ns/op',
        ratio: ours,
        ratioKind: 'time',
        baseline: 'raw',
        target: '≤ 2× raw',
        met: ours <= 2,
      },
      {
        variant: 'Comlink: proxy() sub-object + releaseProxy',
        display: formatNs(v.comlink!.nsPerOp),
        value: v.comlink!.nsPerOp,
        unit: 'ns/op',
        ratio: result.timeRatio('comlink', 'raw'),
        ratioKind: 'time',
        baseline: 'raw',
      },
    ];
    if (python?.create_ns !== undefined) {
      rows.push({
        variant: 'Python manager: manager.Counter() + del',
        note: 'separate process',
        display: formatNs(python.create_ns),
        value: python.create_ns,
        unit: 'ns/op',
        ratio: python.create_ns / v.raw!.nsPerOp,
        ratioKind: 'time',
        baseline: 'raw',
      });
    }
    const count = await ctx.manager.numberOfObjects();
    return {
      id: '3',
      title: 'create + release',
      rows,
      notes: [
        `pairs back to back, each chunk ends with a call ordered after the last release; hosted objects left afterwards: ${count} (the Echo)`,
      ],
    };
  } finally {
    echo[Symbol.dispose]();
  }
}
