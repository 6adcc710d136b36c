/** Workload 6: set/get on a @managers/sync Map (Python's manager.dict()) from 1 and 4 client threads. */
import { startSyncManager } from '@managers/sync';
import { formatRate, interleave, pipelined } from '../measure';
import type { Row, Section } from '../report';
import { handoffEncode, RawClient, type Context } from './context';
import type { PythonResult } from './python';
import { WINDOW } from './call';

const THREADS = 4;
const TARGET = 10;

interface MapProxy {
  set(key: string, value: unknown): Promise<void>;
  get(key: string): Promise<unknown>;
}

/** Alternating set/get over 1024 keys; `lanes` calls outstanding. */
function mapOps(map: MapProxy, ops: number, lanes: number): Promise<void> {
  let i = 0;
  return pipelined(ops, lanes, () => {
    const n = i++;
    const key = `k${n & 1023}`;
    return n & 1 ? map.get(key) : map.set(key, n);
  });
}

export async function mapOpsWorkload(ctx: Context, python?: PythonResult): Promise<Section> {
  const section: Section = { id: '6', title: 'Map set/get', rows: [], notes: [] };
  // The Map of @managers/sync (Python's manager.dict()), in a SyncManager of its own.
  const sync = await startSyncManager();
  const map = (await sync.Map()) as unknown as MapProxy & Disposable;
  const rate = (ns: number) => 1e9 / ns;
  const vsPython = (
    variant: string,
    ns: number,
    pythonRate: number | undefined,
    target: boolean,
  ): Row => {
    const value = rate(ns);
    const ratio = pythonRate === undefined ? undefined : value / pythonRate;
    return {
      variant,
      display: formatRate(value),
      value,
      unit: 'ops/s',
      ratio,
      ratioKind: 'rate',
      baseline: 'Python',
      target: target ? `≥ ${TARGET}× Python` : undefined,
      met: target && ratio !== undefined ? ratio >= TARGET : undefined,
    };
  };
  try {
    const one = await interleave(
      [
        {
          name: 'raw',
          run: async (ops) => {
            for (let i = 0; i < ops; i++) await ctx.raw.roundTrip(i);
          },
        },
        { name: 'serial', run: (ops) => mapOps(map, ops, 1) },
        { name: 'pipelined', minOps: WINDOW, run: (ops) => mapOps(map, ops, WINDOW) },
      ],
      ctx.measure,
    );
    const v = one.variants;
    const py1 = python?.map1_ops;
    section.rows.push(
      vsPython('1 thread: raw round trip (context)', v.raw!.nsPerOp, py1, false),
      vsPython('1 thread: ours, one outstanding', v.serial!.nsPerOp, py1, true),
      vsPython(`1 thread: ours, ${WINDOW} outstanding`, v.pipelined!.nsPerOp, py1, true),
    );
    if (py1 !== undefined) {
      section.rows.push({
        variant: '1 client: Python manager dict-like',
        note: 'separate process',
        display: formatRate(py1),
        value: py1,
        unit: 'ops/s',
        ratio: 1,
        ratioKind: 'rate',
        baseline: 'Python',
      });
    } else {
      section.notes.push('no Python figures: the ratios to Python are missing');
    }
    section.notes.push(
      `ours one outstanding = ${(1 / one.timeRatio('serial', 'raw')).toFixed(2)}× the raw round-trip rate`,
    );

    const encode = handoffEncode();
    if (encode === undefined) {
      section.skipped = `${THREADS} threads need proxies in other threads: @managers/core does not export encode/decode yet`;
      return section;
    }
    const clients: RawClient[] = [];
    try {
      for (let t = 0; t < THREADS; t++) {
        const peer = await ctx.startPortWorker('client');
        const client = new RawClient(peer.port);
        clients.push(client);
        const { value, transferList } = encode(map);
        const reply = (await client.roundTrip({ t: 'map-attach', value }, transferList)) as {
          t: string;
          message?: string;
        };
        if (reply.t !== 'map-attach') throw new Error(`client thread: ${reply.message}`);
      }
      const runAll = async (ops: number, lanes: number) => {
        const each = Math.ceil(ops / THREADS);
        const replies = await Promise.all(
          clients.map((client, t) =>
            client.roundTrip({ t: 'map-run', ops: each, lanes, tag: `t${t}:` }),
          ),
        );
        for (const reply of replies) {
          if ((reply as { t: string }).t !== 'map-run')
            throw new Error(`client thread: ${(reply as { message?: string }).message}`);
        }
      };
      const four = await interleave(
        [
          { name: 'one', run: (ops) => mapOps(map, ops, 1) },
          { name: 'serial', minOps: THREADS, run: (ops) => runAll(ops, 1) },
          { name: 'pipelined', minOps: WINDOW, run: (ops) => runAll(ops, WINDOW / THREADS) },
        ],
        ctx.measure,
      );
      const w = four.variants;
      const py4 = python?.map4_ops;
      section.rows.push(
        vsPython(`${THREADS} threads: ours, one outstanding each`, w.serial!.nsPerOp, py4, true),
        vsPython(
          `${THREADS} threads: ours, ${WINDOW / THREADS} outstanding each`,
          w.pipelined!.nsPerOp,
          py4,
          true,
        ),
      );
      if (py4 !== undefined) {
        section.rows.push({
          variant: `${THREADS} clients: Python manager dict-like`,
          note: 'separate processes',
          display: formatRate(py4),
          value: py4,
          unit: 'ops/s',
          ratio: 1,
          ratioKind: 'rate',
          baseline: 'Python',
        });
      }
      section.notes.push(
        `${THREADS} threads one outstanding each = ${(1 / four.timeRatio('serial', 'one')).toFixed(2)}× one thread (same process, interleaved)`,
      );
    } finally {
      for (const client of clients) {
        await client.roundTrip({ t: 'map-detach' }).catch(() => undefined);
        client.close();
      }
    }
    return section;
  } finally {
    map[Symbol.dispose]();
    await sync.shutdown();
  }
}
