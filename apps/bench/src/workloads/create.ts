/** Workload 3: create + release, measured until the release is processed. */
import { formatNs, interleave } from '../measure';
import { timeRow, type Row, type Section } from '../report';
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
      timeRow('raw MessagePort round trip', v.raw!.nsPerOp, 1, 'raw'),
      timeRow('ours: await manager.Counter() + dispose', v.ours!.nsPerOp, ours, 'raw', 2),
      timeRow(
        'Comlink: proxy() sub-object + releaseProxy',
        v.comlink!.nsPerOp,
        result.timeRatio('comlink', 'raw'),
        'raw',
      ),
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
