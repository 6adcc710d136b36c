/**
 * Workload 9: a synchronous call. `syncProxy(echo).ping(i)` beside the floor (a bare
 * SharedArrayBuffer ping-pong between two threads), beside synckit's `createSyncFn` doing the
 * same echo in its own worker, and beside `await echo.ping(i)`. Our caller spins up to 50 µs
 * before it sleeps (SYNC_SPIN_MS in packages/core/src/sync-channel.ts), so the floor is also
 * measured with its caller spinning the same way: the fair comparison for that design.
 */
import { join } from 'node:path';
import { syncProxy } from '@managers/core';
import { createSyncFn } from 'synckit';
import { formatNs, interleave } from '../measure';
import { timeRow, type Section } from '../report';
import {
  ATOMICS_REPLY,
  ATOMICS_REQUEST,
  ATOMICS_STOP,
  ATOMICS_VALUE,
  ATOMICS_WORDS,
} from '../workers/atomics-words';
import type { Context } from './context';

/** The synckit worker file (plain CommonJS; the same path from src/ and dist/). */
/** How long our synchronous caller spins before it sleeps (SYNC_SPIN_MS in @managers/core). */
const SPIN_MS = 0.05;

const SYNCKIT_WORKER = join(__dirname, '..', '..', 'src', 'workers', 'synckit-echo.cjs');

export async function syncCall(ctx: Context): Promise<Section> {
  const echo = await ctx.manager.Echo();
  const sync = syncProxy(echo);
  const peer = await ctx.startPortWorker('atomics-echo');
  const words = new Int32Array(new SharedArrayBuffer(ATOMICS_WORDS * 4));
  peer.port.postMessage(words.buffer);
  let request = 0;
  const atomicsPing = (value: number, spinMs = 0): number => {
    Atomics.store(words, ATOMICS_VALUE, value);
    Atomics.store(words, ATOMICS_REQUEST, ++request);
    Atomics.notify(words, ATOMICS_REQUEST);
    if (spinMs > 0) {
      const until = performance.now() + spinMs;
      while (Atomics.load(words, ATOMICS_REPLY) !== request && performance.now() < until);
    }
    while (Atomics.load(words, ATOMICS_REPLY) !== request)
      Atomics.wait(words, ATOMICS_REPLY, request - 1);
    return Atomics.load(words, ATOMICS_VALUE);
  };
  const synckitPing = createSyncFn<(value: number) => Promise<number>>(SYNCKIT_WORKER);
  try {
    // Both peers answer before the measure starts (the floor's worker got its buffer).
    if (atomicsPing(7) !== 7 || synckitPing(7) !== 7 || sync.ping(7) !== 7)
      throw new Error('a synchronous variant did not echo its argument');
    const result = await interleave(
      [
        {
          name: 'atomics',
          run: async (ops) => {
            for (let i = 0; i < ops; i++) atomicsPing(i);
          },
        },
        {
          name: 'atomicsSpin',
          run: async (ops) => {
            for (let i = 0; i < ops; i++) atomicsPing(i, SPIN_MS);
          },
        },
        {
          name: 'ours',
          run: async (ops) => {
            for (let i = 0; i < ops; i++) sync.ping(i);
          },
        },
        {
          name: 'synckit',
          run: async (ops) => {
            for (let i = 0; i < ops; i++) synckitPing(i);
          },
        },
        {
          name: 'await',
          run: async (ops) => {
            for (let i = 0; i < ops; i++) await echo.ping(i);
          },
        },
      ],
      ctx.measure,
    );
    const v = result.variants;
    const ours = v.ours!.nsPerOp;
    const versus = (name: string) => ours / v[name]!.nsPerOp;
    const oursRow = timeRow(
      'ours: syncProxy(echo).ping()',
      ours,
      result.timeRatio('ours', 'atomics'),
      'atomics',
      1.2,
    );
    return {
      id: '9',
      title: 'synchronous call',
      rows: [
        timeRow('Atomics floor: SharedArrayBuffer ping-pong', v.atomics!.nsPerOp, 1, 'atomics'),
        oursRow,
        {
          ...timeRow(
            'Atomics floor, its caller spinning ≤ 50 µs like ours',
            v.atomicsSpin!.nsPerOp,
            result.timeRatio('atomicsSpin', 'atomics'),
            'atomics',
          ),
          note: `ours ÷ this ${result.timeRatio('ours', 'atomicsSpin').toFixed(2)}×`,
        },
        {
          ...timeRow(
            'synckit 0.11.11: createSyncFn(echo)',
            v.synckit!.nsPerOp,
            result.timeRatio('synckit', 'atomics'),
            'atomics',
          ),
          note: `ours ÷ synckit ${versus('synckit').toFixed(2)}× (target < 1)`,
        },
        {
          ...timeRow(
            'ours async: await echo.ping()',
            v.await!.nsPerOp,
            result.timeRatio('await', 'atomics'),
            'atomics',
          ),
          note: `ours sync ÷ await ${versus('await').toFixed(2)}× (target ≤ 1)`,
        },
      ],
      notes: [
        `ours ÷ synckit ${versus('synckit').toFixed(2)}× (target < 1: ${versus('synckit') < 1 ? 'met' : 'MISSED'}); ours sync ÷ await ${versus('await').toFixed(2)}× (target ≤ 1: ${versus('await') <= 1 ? 'met' : 'MISSED'})`,
        `ours ÷ the spinning floor ${result.timeRatio('ours', 'atomicsSpin').toFixed(2)}× (no target: the same wait design on both sides)`,
        `range over chunks: ours ${formatNs(v.ours!.minNsPerOp)}–${formatNs(v.ours!.maxNsPerOp)}, atomics ${formatNs(v.atomics!.minNsPerOp)}–${formatNs(v.atomics!.maxNsPerOp)}, synckit ${formatNs(v.synckit!.minNsPerOp)}–${formatNs(v.synckit!.maxNsPerOp)}`,
      ],
    };
  } finally {
    Atomics.store(words, ATOMICS_STOP, 1);
    Atomics.notify(words, ATOMICS_REQUEST);
    echo[Symbol.dispose]();
  }
}
