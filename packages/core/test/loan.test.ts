/** lend() and borrow() in one thread: what a pool task receives, without the pool. */
import { once } from 'node:events';
import { MessageChannel } from 'node:worker_threads';
import { borrow, lend, release } from '@managers/core';
import { KitchenManager } from './fixtures/kitchen';
import { KITCHEN_MODULE, pollUntil } from './helpers';

/** Posts `value` with its transfer list through a channel and returns what arrives. */
async function roundTrip(value: unknown, transferList: readonly unknown[]): Promise<unknown> {
  const { port1, port2 } = new MessageChannel();
  try {
    port1.postMessage(value, transferList as never);
    const [received] = (await once(port2, 'message')) as [unknown];
    return received;
  } finally {
    port1.close();
    port2.close();
  }
}

test('a value handed off whole (it carries a handle) is borrowed whole: one handoff, no refusal', async () => {
  await using manager = await KitchenManager.start({ module: KITCHEN_MODULE });
  const a = await manager.Toolbox();
  const b = await manager.Toolbox();
  const warnings: string[] = [];
  const onWarning = (warning: Error) => warnings.push(warning.message);
  process.on('warning', onWarning);
  try {
    // With a handle inside, lend() hands everything off through one spare connection.
    const loan = lend({ handle: manager.handle(), a, b });
    const received = borrow<{ a: typeof a; b: typeof b }>(
      await roundTrip(loan.value, loan.transferList),
    );
    expect(await received.value.a.echo('a')).toBe('a');
    expect(await received.value.b.echo('b')).toBe('b');
    // One claim of the one handoff: nothing refused, no connection paused for a second claim.
    expect((await manager.trace()).filter((event) => event.op === 'reject')).toEqual([]);
    expect(received.finish()).toEqual([]);
    loan.end();
    expect((await manager.entries()).map((entry) => entry.holders)).toEqual([
      { main: 2 },
      { main: 2 },
    ]);
    release(received.value.a);
    release(received.value.b);
  } finally {
    process.off('warning', onWarning);
  }
  expect(warnings).toEqual([]);
  release(a);
  release(b);
  expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
});

test('lent proxies are used under the lease and give nothing back of their own', async () => {
  await using manager = await KitchenManager.start({ module: KITCHEN_MODULE });
  const a = await manager.Toolbox();
  const loan = lend({ a });
  const received = borrow<{ a: typeof a }>(await roundTrip(loan.value, loan.transferList));
  expect(await received.value.a.echo(1)).toBe(1);
  release(received.value.a); // local: a lent proxy owns no reference
  const borrowed = received.finish(); // gives the lease back
  expect(borrowed).toHaveLength(1);
  loan.end(borrowed); // the borrower ended it: nothing left to unlend
  release(a);
  expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
});
