/** lend() and borrow() in one thread: what a pool task receives, without the pool. */
import {
  borrow,
  decode,
  keepBorrowed,
  lend,
  release,
  type Borrowed,
  type Loan,
} from '@managers/core';
import { installRefcountMatchers } from '@managers/refcount/jest';
import { leaseOf } from '../src/lease-registry';
import { KitchenManager } from './fixtures/kitchen';
import { forceGC, KITCHEN_MODULE, pollUntil, roundTrip } from './helpers';

installRefcountMatchers();

/** The holders of `id`, as JSON (for pollUntil). */
async function holdersOf(
  manager: { entries(): Promise<{ id: number; holders: object }[]> },
  id: number,
): Promise<string> {
  return JSON.stringify((await manager.entries()).find((entry) => entry.id === id)?.holders);
}

/** `value` lent by this thread and borrowed back through a MessageChannel (a pool task, without the pool). */
async function lendAndBorrow<R>(value: object): Promise<{ loan: Loan; received: Borrowed<R> }> {
  const loan = lend(value);
  return { loan, received: borrow<R>(await roundTrip(loan.value, loan.transferList)) };
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
    const { loan, received } = await lendAndBorrow<{ a: typeof a; b: typeof b }>({
      handle: manager.handle(),
      a,
      b,
    });
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
  const { loan, received } = await lendAndBorrow<{ a: typeof a }>({ a });
  expect(await received.value.a.echo(1)).toBe(1);
  release(received.value.a); // local: a lent proxy owns no reference
  const borrowed = received.finish(); // gives the lease back
  expect(borrowed).toHaveLength(1);
  loan.end(borrowed); // the borrower ended it: nothing left to unlend
  release(a);
  expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
});

/** The lease holders (`lease:…`) holding references now, over all entries. */
async function leaseHolders(manager: { entries(): Promise<{ holders: object }[]> }) {
  const entries = await manager.entries();
  return entries.flatMap((entry) =>
    Object.keys(entry.holders).filter((holder) => holder.startsWith('lease:')),
  );
}

test('a lease used only by answered calls is handed back: ended once, by the lender or by the late give-back, nothing refused', async () => {
  await using manager = await KitchenManager.start({ module: KITCHEN_MODULE });
  const a = await manager.Toolbox();
  const { loan, received } = await lendAndBorrow<{ a: typeof a }>({ a });
  expect(await received.value.a.inc()).toBe(1);
  expect(await received.value.a.inc()).toBe(2);
  const report = received.handBack();
  expect(report.borrowed).toEqual([]);
  expect(report.returned).toHaveLength(1);
  loan.end(report); // the report as handBack() made it: the same as its two lists
  // Here lender and borrower share one connection, so the borrower's own give-back (queued
  // first, sent later) ends the lease, and the lender's `unlend {returned}` finds nothing.
  // Across threads either may come first (pool.test.ts).
  expect(await pollUntil(async () => (await leaseHolders(manager)).length, 0)).toBe(0);
  const trace = await manager.trace();
  expect(trace.filter((event) => event.op === 'reject')).toEqual([]);
  release(a);
  expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  await expect(manager).toHaveNoLiveObjects();
});

test('a lease with a call still in flight, or whose proxy was passed on, is given back by its borrower', async () => {
  await using manager = await KitchenManager.start({ module: KITCHEN_MODULE });
  const a = await manager.Toolbox();
  const b = await manager.Toolbox();
  const holder = await manager.Holder();

  // A call not settled when the task ends: only the borrower knows when the server is done.
  const first = lend({ a });
  const inFlight = borrow<{ a: typeof a }>(await roundTrip(first.value, first.transferList));
  const opened = inFlight.value.a.gate();
  const report = inFlight.handBack();
  expect(report).toEqual({ borrowed: [expect.any(String)], returned: [] });
  first.end(report.borrowed, report.returned);
  await a.openGate();
  expect(await opened).toBe('opened');

  // Answered calls, but the proxy was also passed as an argument of another proxy's call.
  const second = lend({ b });
  const passed = borrow<{ b: typeof b }>(await roundTrip(second.value, second.transferList));
  expect(await passed.value.b.inc()).toBe(1);
  await holder.set('b', passed.value.b);
  const passedReport = passed.handBack();
  expect(passedReport).toEqual({ borrowed: [expect.any(String)], returned: [] });
  second.end(passedReport.borrowed, passedReport.returned);

  expect(await pollUntil(async () => (await leaseHolders(manager)).length, 0)).toBe(0);
  expect((await manager.trace()).filter((event) => event.op === 'reject')).toEqual([]);
  await holder.drop('b');
  for (const proxy of [a, b, holder]) release(proxy);
  expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  await expect(manager).toHaveNoLiveObjects();
});

test('a borrowed proxy owns nothing when collected; once kept, collected unreleased, it gives its reference back', async () => {
  await using manager = await KitchenManager.start({ module: KITCHEN_MODULE });
  const a = await manager.Toolbox();
  const b = await manager.Toolbox();
  const { loan, received } = await lendAndBorrow<{ a: typeof a; b: typeof b }>({ a, b });
  // b is kept: this thread takes a reference of its own, besides the caller's.
  keepBorrowed(received.value.b);
  expect(await received.value.b.echo('b')).toBe('b');
  const borrowed = received.finish();
  loan.end(borrowed);
  expect(await pollUntil(async () => (await leaseHolders(manager)).length, 0)).toBe(0);
  expect(await holdersOf(manager, b.token.id)).toBe('{"main":2}');
  // Both borrowed proxies become garbage, unreleased: only the kept one had a reference.
  (received as { value: unknown }).value = undefined;
  await forceGC();
  expect(await pollUntil(() => holdersOf(manager, b.token.id), '{"main":1}')).toBe('{"main":1}');
  expect(await holdersOf(manager, a.token.id)).toBe('{"main":1}');
  release(a);
  release(b);
  expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
});

test('a proxy of another copy of @managers/proxy (a dual ESM/CommonJS install) has no lease here, and asking does not throw', () => {
  // Branded with the cross-copy symbols, but not an instance of this copy's BaseProxy.
  const foreignTarget = { [Symbol.for('@managers/proxy')]: true };
  const foreign = {
    [Symbol.for('@managers/proxy')]: true,
    [Symbol.for('@managers/proxy-target')]: foreignTarget,
  };
  expect(leaseOf(foreign)).toBeUndefined();
  expect(leaseOf(foreignTarget)).toBeUndefined();
});

test('keepBorrowed() of a borrowed proxy released already takes nothing (nothing would give it back)', async () => {
  await using manager = await KitchenManager.start({ module: KITCHEN_MODULE });
  const a = await manager.Toolbox();
  const { loan, received } = await lendAndBorrow<{ a: typeof a }>({ a });
  release(received.value.a); // local: a borrowed proxy owns nothing
  keepBorrowed(received.value.a);
  loan.end(received.finish());
  (received as { value: unknown }).value = undefined;
  await forceGC();
  expect(await pollUntil(() => holdersOf(manager, a.token.id), '{"main":1}')).toBe('{"main":1}');
  release(a);
  expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
});

test('keepBorrowed() twice on one proxy takes one reference, which its release gives back', async () => {
  await using manager = await KitchenManager.start({ module: KITCHEN_MODULE });
  const a = await manager.Toolbox();
  const { loan, received } = await lendAndBorrow<{ a: typeof a }>({ a });
  keepBorrowed(received.value.a);
  keepBorrowed(received.value.a);
  loan.end(received.finish());
  expect(await pollUntil(() => holdersOf(manager, a.token.id), '{"main":2}')).toBe('{"main":2}');
  release(received.value.a);
  expect(await pollUntil(() => holdersOf(manager, a.token.id), '{"main":1}')).toBe('{"main":1}');
  release(a);
  expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
});

test('a lent proxy carries its token as text: the borrowing thread keeps one frozen token per object, equal to the lender’s', async () => {
  await using manager = await KitchenManager.start({ module: KITCHEN_MODULE });
  const a = await manager.Toolbox();
  const first = await lendAndBorrow<{ a: typeof a }>({ a });
  const second = await lendAndBorrow<{ a: typeof a }>({ a });
  const lent = first.loan.value as unknown as { a: Record<string, unknown> };
  expect(typeof lent.a['token']).toBe('string');
  const token = first.received.value.a.token;
  expect(token).toEqual(a.token);
  expect(Object.isFrozen(token) && Object.isFrozen(token.exposed)).toBe(true);
  // Two tasks, one parsed token: a borrowed proxy per task, not a token per task.
  expect(second.received.value.a.token).toBe(token);
  expect(await second.received.value.a.echo('x')).toBe('x');
  first.loan.end(first.received.handBack());
  second.loan.end(second.received.handBack());
  release(a);
  expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
});

test('a lent envelope with a broken token is refused by borrow() with ERR_BAD_MESSAGE, and the loan still ends cleanly', async () => {
  await using manager = await KitchenManager.start({ module: KITCHEN_MODULE });
  const a = await manager.Toolbox();
  const loan = lend({ a });
  const lent = loan.value as unknown as { a: Record<string, unknown> };
  for (const token of [
    '{"manager":"m","id":"1","typeid":"Toolbox","exposed":[],"methodToTypeid":{}}',
    'not json',
    42,
  ]) {
    const forged = { a: { ...lent.a, token } };
    expect(() => borrow(forged)).toThrow(
      expect.objectContaining({
        code: 'ERR_BAD_MESSAGE',
        message: expect.stringContaining('no valid token'),
      }),
    );
  }
  loan.end();
  expect(await a.echo('still served')).toBe('still served');
  release(a);
  expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
});

test('decode() of a value made by lend() says to use borrow(), and takes nothing', async () => {
  await using manager = await KitchenManager.start({ module: KITCHEN_MODULE });
  const a = await manager.Toolbox();
  const loan = lend({ a });
  const received = await roundTrip(loan.value, loan.transferList);
  expect(() => decode(received)).toThrow(
    expect.objectContaining({
      code: 'ERR_BAD_MESSAGE',
      message: expect.stringContaining('receive it with borrow()'),
    }),
  );
  loan.end();
  expect((await manager.entries()).map((entry) => entry.holders)).toEqual([{ main: 1 }]);
  release(a);
  expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
});

test('addPorts() gives the envelopes of each manager one spare port, once, and only where asked', async () => {
  await using manager = await KitchenManager.start({ module: KITCHEN_MODULE });
  const a = await manager.Toolbox();
  const loan = lend({ first: a, again: a });
  type Envelope = { port?: unknown; key?: string };
  const envelopes = () => Object.values(loan.value as Record<string, Envelope>);
  expect(loan.transferList).toEqual([]);
  expect(envelopes().map((envelope) => envelope.port)).toEqual([undefined, undefined]);
  // Not asked for this manager: nothing added.
  expect(loan.addPorts(() => false)).toEqual([]);
  const asked: string[] = [];
  const ports = loan.addPorts((managerId) => (asked.push(managerId), true));
  expect(asked).toEqual([a.token.manager]);
  expect(ports).toHaveLength(1);
  // Both envelopes of the lease carry the same spare, and a second call adds nothing.
  expect(envelopes().map((envelope) => envelope.port)).toEqual([ports[0], ports[0]]);
  expect(new Set(envelopes().map((envelope) => envelope.key)).size).toBe(1);
  expect(loan.addPorts(() => true)).toEqual([]);
  // Posted with its port, the value is borrowed as any lent value (this thread has a
  // connection already, so the spare is closed, and the server drops it).
  const received = borrow<{ first: typeof a; again: typeof a }>(
    await roundTrip(loan.value, [...loan.transferList, ...ports]),
  );
  expect(await received.value.first.echo('x')).toBe('x');
  loan.end(received.finish());
  expect(loan.addPorts(() => true)).toEqual([]);
  release(a);
  expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  expect((await manager.trace()).filter((event) => event.op === 'reject')).toEqual([]);
});
