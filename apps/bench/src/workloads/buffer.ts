/** Workload 5: a 16 MiB ArrayBuffer argument. */
import { transfer } from '@managers/core';
import { interleave } from '../measure';
import { timeRow, type Section } from '../report';
import type { Context } from './context';

const SIZE = 16 * 1024 * 1024;

export async function bigBuffer(ctx: Context): Promise<Section> {
  const echo = await ctx.manager.Echo();
  let rawBuffer = new ArrayBuffer(SIZE);
  let oursBuffer = new ArrayBuffer(SIZE);
  const copied = new ArrayBuffer(SIZE);
  new Uint8Array(copied).fill(7);
  try {
    const result = await interleave(
      [
        {
          name: 'raw',
          run: async (ops) => {
            for (let i = 0; i < ops; i++) {
              rawBuffer = (await ctx.raw.roundTrip(rawBuffer, [rawBuffer])) as ArrayBuffer;
            }
          },
        },
        {
          name: 'transferred',
          run: async (ops) => {
            for (let i = 0; i < ops; i++) {
              oursBuffer = (await echo.bounce(transfer(oursBuffer))) as ArrayBuffer;
            }
          },
        },
        {
          name: 'copied',
          maxOps: ctx.quick ? 3 : 8,
          run: async (ops) => {
            for (let i = 0; i < ops; i++) await echo.size(copied);
          },
        },
      ],
      { ...ctx.measure, warmupOps: 2 },
    );
    if (rawBuffer.byteLength !== SIZE || oursBuffer.byteLength !== SIZE) {
      throw new Error('a transferred buffer did not come back whole');
    }
    const v = result.variants;
    const transferred = result.timeRatio('transferred', 'raw');
    return {
      id: '5',
      title: '16 MiB ArrayBuffer argument',
      rows: [
        timeRow('raw postMessage, transfer list, there and back', v.raw!.nsPerOp, 1, 'raw'),
        timeRow(
          'ours: bounce(transfer(buf)), transferred back',
          v.transferred!.nsPerOp,
          transferred,
          'raw',
          3,
        ),
        timeRow(
          'ours: size(buf), copied one way',
          v.copied!.nsPerOp,
          result.timeRatio('copied', 'raw'),
          'raw',
        ),
      ],
      notes: [],
    };
  } finally {
    echo[Symbol.dispose]();
  }
}
