/** Workload 4: send a proxy to another thread + its first call there. */
import type { MessagePort, TransferListItem } from 'node:worker_threads';
import { interleave } from '../measure';
import { timeRow, type Section } from '../report';
import { handoffEncode, RawClient, type Context } from './context';

export async function handoff(ctx: Context): Promise<Section> {
  const section: Section = {
    id: '4',
    title: 'handoff: proxy to another thread + first call',
    rows: [],
    notes: [],
  };
  const encode = handoffEncode();
  if (encode === undefined) {
    section.skipped = '@managers/core does not export encode/decode yet (the handoff API)';
    return section;
  }
  const peer = await ctx.startPortWorker('client');
  // Everything goes through the Worker itself (its parentPort in the thread): a Worker is a
  // place proxies can be posted to directed, a MessageChannel's port is not.
  const worker = peer.worker;
  const client = new RawClient({
    on: (event: 'message', listener: (value: unknown) => void) => worker.on(event, listener),
    postMessage: (value: unknown, transfer?: readonly TransferListItem[]) =>
      worker.postMessage(value, transfer),
    close: () => undefined,
  } as unknown as MessagePort);
  const echo = await ctx.manager.Echo();
  try {
    const check = (reply: unknown) => {
      if ((reply as { t?: string }).t === 'error')
        throw new Error(`client thread: ${(reply as { message: string }).message}`);
    };
    const result = await interleave(
      [
        {
          name: 'raw',
          run: async (ops) => {
            for (let i = 0; i < ops; i++) check(await client.roundTrip({ t: 'echo' }));
          },
        },
        {
          name: 'ours',
          run: async (ops) => {
            for (let i = 0; i < ops; i++) {
              const { value, transferList } = encode(echo, { target: worker });
              check(await client.roundTrip({ t: 'handoff', value }, transferList));
            }
          },
        },
        {
          name: 'ported',
          run: async (ops) => {
            for (let i = 0; i < ops; i++) {
              const { value, transferList } = encode(echo);
              check(await client.roundTrip({ t: 'handoff', value }, transferList));
            }
          },
        },
      ],
      ctx.measure,
    );
    const v = result.variants;
    section.rows.push(
      timeRow('raw round trip to that thread (worker.postMessage)', v.raw!.nsPerOp, 1, 'raw'),
      timeRow(
        'ours: encode({ target: worker }) + post, decode + ping() + dispose there, reply (directed)',
        v.ours!.nsPerOp,
        result.timeRatio('ours', 'raw'),
        'raw',
        2.5,
      ),
      timeRow(
        'ours: the same with encode() and no target (a port each time)',
        v.ported!.nsPerOp,
        result.timeRatio('ported', 'raw'),
        'raw',
      ),
    );
    const count = await ctx.manager.numberOfObjects();
    section.notes.push(`hosted objects after the handoffs (expect 1, the Echo): ${count}`);
    return section;
  } finally {
    echo[Symbol.dispose]();
    client.close();
  }
}
