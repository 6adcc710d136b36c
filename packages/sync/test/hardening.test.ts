/**
 * Issue 11 for @managers/sync, at the level of what a thread holding a raw port can send:
 * lock owners come from the connection (never from the message), waits are cancelled only by
 * their own caller, and values a call consumes (queue `get`, `pop`, `popitem`) count as
 * delivered only when the caller confirms it has them.
 */
import { MessageChannel } from 'node:worker_threads';
import { SyncErrorCode } from '@managers/sync';
import type { Queue } from '../src/objects/queue';
import { CALL_CONTEXT } from '../src/owner';
import { RawSyncServer, settle, type RawClient } from './fixtures/raw-sync';
import { raceConsumers } from './fixtures/queue-race';
import { pollUntil, syncManager } from './helpers';

interface HostedLock {
  core: { holder: { id: string; label: string } | undefined; count: number };
  toString(): string;
}

const proxyOf = (id: number) => ({ '@managers/proxy': 1, token: { manager: 'raw-sync', id } });

/** The call context the sync proxies send first (its wait id names the call for `cancel`). */
const ctx = (wait?: string) => ({ [CALL_CONTEXT]: 1, ...(wait === undefined ? {} : { wait }) });

/** Sends a call whose reply may come much later (a blocking wait); read it with `replyTo`. */
function start(client: RawClient, rid: number, id: number, method: string, args: unknown[]) {
  client.send({ t: 'call', rid, id, method, args });
}

function replyTo(client: RawClient, rid: number) {
  return client.replies.find((reply) => reply.rid === rid);
}

describe('lock owners come from the connection, not from the message', () => {
  test('a non-owner cannot release an RLock or use a Condition it does not hold, even sending the owner’s id', async () => {
    await using raw = new RawSyncServer();
    const rlock = await raw.owner.create('RLock');
    const condition = await raw.owner.create('Condition');
    const holder = await raw.connectAs('holder', [rlock, condition]);
    const thief = await raw.connectAs('thief', [rlock, condition]);
    expect((await holder.call(rlock, 'acquire', [ctx('a'), true, null])).v).toBe(true);
    expect((await holder.call(condition, 'acquire', [ctx('b'), true, null])).v).toBe(true);
    const real = raw.object<HostedLock>(rlock).core.holder!;
    // The server's own id for the holder, the label it chose, and what older clients sent.
    for (const owner of [real.id, real.label, 'main', 'thread-1:00000000']) {
      const context = { ...ctx('x'), owner };
      expect((await thief.call(rlock, 'release', [context])).e?.code).toBe(SyncErrorCode.NotHeld);
      expect((await thief.call(rlock, 'owned', [context])).v).toBe(false);
      expect((await thief.call(condition, 'notify', [context, 1])).e?.code).toBe(
        SyncErrorCode.NotHeld,
      );
      expect((await thief.call(condition, 'release', [context])).e?.code).toBe(
        SyncErrorCode.NotHeld,
      );
    }
    expect(raw.object<HostedLock>(rlock).core.holder).toBe(real);
    expect((await holder.call(rlock, 'owned', [ctx('c')])).v).toBe(true);
    expect((await holder.call(rlock, 'release', [ctx()])).e).toBeUndefined();
    expect((await raw.owner.call(rlock, 'locked')).v).toBe(false);
    expect((await holder.call(condition, 'release', [ctx()])).e).toBeUndefined();
    holder.close();
    thief.close();
    expect(await raw.release(rlock, condition)).toBe(0);
  });

  test('a thread cannot declare the holder dead by sending a port under its owner id; main cannot take a held lock', async () => {
    await using raw = new RawSyncServer();
    const lock = await raw.owner.create('Lock');
    const holder = await raw.connectAs('holder', [lock]);
    const thief = await raw.connectAs('thief', [lock]);
    expect((await holder.call(lock, 'acquire', [ctx('h'), true, null])).v).toBe(true);
    const real = raw.object<HostedLock>(lock).core.holder!;
    // Old protocol: a context carrying a port registered it as the owner's liveness port, and
    // its closing released the owner's locks.
    for (const [rid, method, args] of [
      [901, 'owned', []],
      [902, 'acquire', [false, null]],
      [903, 'locked', []],
    ] as const) {
      const channel = new MessageChannel();
      thief.send(
        {
          t: 'call',
          rid,
          id: lock,
          method,
          args:
            method === 'locked'
              ? []
              : [{ ...ctx('t'), owner: real.id, port: channel.port2 }, ...args],
        },
        [channel.port2],
      );
      await settle();
      channel.port1.close();
      await settle();
    }
    expect(replyTo(thief, 902)?.v).toBe(false);
    await raw.kill(thief);
    expect((await raw.owner.call(lock, 'acquire', [ctx('m'), false, null])).v).toBe(false);
    expect((await raw.owner.call(lock, 'recoveries')).v).toBe(0);
    expect(raw.object<HostedLock>(lock).core.holder).toBe(real);
    // The holder's own connection closing is what releases it.
    start(raw.owner, 950, lock, 'acquire', [ctx('m2'), true, null]);
    await settle();
    expect(replyTo(raw.owner, 950)).toBeUndefined();
    await raw.kill(holder);
    expect(replyTo(raw.owner, 950)?.v).toBe(true);
    expect((await raw.owner.call(lock, 'recoveries')).v).toBe(1);
    expect(raw.object<HostedLock>(lock).core.holder?.label).toBe('main');
    expect(await raw.release(lock)).toBe(0);
  });

  test('a wait is cancelled only by its own caller', async () => {
    await using raw = new RawSyncServer();
    const lock = await raw.owner.create('Lock');
    const queue = await raw.owner.create('Queue');
    const waiter = await raw.connectAs('waiter', [lock, queue]);
    const thief = await raw.connectAs('thief', [lock, queue]);
    expect((await raw.owner.call(lock, 'acquire', [ctx('m'), true, null])).v).toBe(true);
    start(waiter, 500, lock, 'acquire', [ctx('w1'), true, null]);
    start(waiter, 501, queue, 'get', [ctx('w2'), true, null]);
    await settle();
    for (const [id, wait] of [
      [lock, 'w1'],
      [queue, 'w2'],
    ] as const) {
      expect((await thief.call(id, 'cancel', [wait])).v).toBe(false);
      expect((await raw.owner.call(id, 'cancel', [wait])).v).toBe(false);
    }
    expect(replyTo(waiter, 500)).toBeUndefined();
    expect(replyTo(waiter, 501)).toBeUndefined();
    expect((await waiter.call(queue, 'cancel', ['w2'])).v).toBe(true);
    expect(replyTo(waiter, 501)?.e?.code).toBe(SyncErrorCode.Aborted);
    expect((await raw.owner.call(lock, 'release', [ctx()])).e).toBeUndefined();
    await settle();
    expect(replyTo(waiter, 500)?.v).toBe(true);
    waiter.close();
    thief.close();
    expect(await raw.release(lock, queue)).toBe(0);
  });

  test('reprs show the holder’s label, never its owner id', async () => {
    await using raw = new RawSyncServer();
    const rlock = await raw.owner.create('RLock');
    const holder = await raw.connectAs('worker-7', [rlock]);
    await holder.call(rlock, 'acquire', [ctx('a'), true, null]);
    await holder.call(rlock, 'acquire', [ctx('b'), true, null]);
    const object = raw.object<HostedLock>(rlock);
    expect(String(object)).toBe('<RLock locked by worker-7 x2>');
    const debug = JSON.stringify((await raw.owner.call(0, '#debug')).v);
    expect(debug).toContain('locked by worker-7');
    expect(debug).not.toContain(object.core.holder!.id);
    holder.close();
    expect(await raw.release(rlock)).toBe(0);
  });
});

describe('nothing lost: what a call consumes is delivered only when its caller has it', () => {
  const items = (raw: RawSyncServer, id: number) => [...raw.object<Queue>(id).items];

  test('gets whose callers die with the reply in flight put their items back at the head, in order', async () => {
    await using raw = new RawSyncServer();
    const queue = await raw.owner.create('Queue');
    for (const item of [0, 1, 2, 3, 4]) await raw.owner.call(queue, 'put', [ctx(), item]);
    const first = await raw.connectAs('first', [queue]);
    const second = await raw.connectAs('second', [queue]);
    expect(await first.call(queue, 'get', [ctx(), true, null])).toMatchObject({ v: 0, a: 1 });
    expect(await second.call(queue, 'get', [ctx(), true, null])).toMatchObject({ v: 1, a: 1 });
    expect(await first.call(queue, 'get', [ctx(), true, null])).toMatchObject({ v: 2, a: 1 });
    expect(items(raw, queue)).toEqual([3, 4]);
    // Neither confirmed; they die in the "wrong" order.
    await raw.kill(second);
    expect(items(raw, queue)).toEqual([1, 3, 4]);
    await raw.kill(first);
    expect(items(raw, queue)).toEqual([0, 1, 2, 3, 4]);
    expect((await raw.owner.call(queue, 'unfinishedTasks')).v).toBe(5);
    expect(await raw.release(queue)).toBe(0);
  });

  test('a confirmed get stays taken; one the caller gave up on comes back', async () => {
    await using raw = new RawSyncServer();
    const queue = await raw.owner.create('Queue');
    for (const item of ['a', 'b', 'c']) await raw.owner.call(queue, 'put', [ctx(), item]);
    const consumer = await raw.connectAs('consumer', [queue]);
    const taken = await consumer.call(queue, 'get', [ctx(), true, null]);
    const abandoned = await consumer.call(queue, 'getNowait', [ctx()]);
    consumer.send({ t: 'ack', ok: [taken.rid], lost: [abandoned.rid] });
    await settle();
    expect(items(raw, queue)).toEqual(['b', 'c']);
    await raw.kill(consumer);
    expect(items(raw, queue)).toEqual(['b', 'c']);
    expect(await raw.release(queue)).toBe(0);
  });

  test('a blocked get whose connection closes is removed and consumes nothing', async () => {
    await using raw = new RawSyncServer();
    const queue = await raw.owner.create('Queue');
    const doomed = await raw.connectAs('doomed', [queue]);
    const live = await raw.connectAs('live', [queue]);
    start(doomed, 1, queue, 'get', [ctx(), true, null]);
    start(live, 1, queue, 'get', [ctx(), true, null]);
    await settle();
    await raw.kill(doomed);
    await raw.owner.call(queue, 'put', [ctx(), 'first']);
    await raw.owner.call(queue, 'put', [ctx(), 'second']);
    await settle();
    expect(replyTo(live, 1)?.v).toBe('first');
    expect(items(raw, queue)).toEqual(['second']);
    live.close();
    expect(await raw.release(queue)).toBe(0);
  });

  test('an item given back goes to a getter already waiting', async () => {
    await using raw = new RawSyncServer();
    const queue = await raw.owner.create('Queue');
    await raw.owner.call(queue, 'put', [ctx(), 'only']);
    const dying = await raw.connectAs('dying', [queue]);
    const waiting = await raw.connectAs('waiting', [queue]);
    expect((await dying.call(queue, 'get', [ctx(), true, null])).v).toBe('only');
    start(waiting, 1, queue, 'get', [ctx(), true, null]);
    await settle();
    expect(replyTo(waiting, 1)).toBeUndefined();
    await raw.kill(dying);
    expect(replyTo(waiting, 1)).toMatchObject({ v: 'only', a: 1 });
    waiting.send({ t: 'ack', ok: [1], lost: [] });
    await settle();
    await raw.kill(waiting);
    expect(items(raw, queue)).toEqual([]);
    expect(await raw.release(queue)).toBe(0);
  });

  test('undefined is an item like any other: taken once, given back once', async () => {
    await using raw = new RawSyncServer();
    const queue = await raw.owner.create('Queue');
    await raw.owner.call(queue, 'put', [ctx(), undefined]);
    await raw.owner.call(queue, 'put', [ctx(), undefined]);
    const consumer = await raw.connectAs('consumer', [queue]);
    const kept = await consumer.call(queue, 'get', [ctx(), true, null]);
    expect(kept).toMatchObject({ a: 1 });
    expect(kept.v).toBeUndefined();
    expect((await raw.owner.call(queue, 'qsize')).v).toBe(1);
    consumer.send({ t: 'ack', ok: [kept.rid], lost: [] });
    await consumer.call(queue, 'get', [ctx(), true, null]);
    expect((await raw.owner.call(queue, 'qsize')).v).toBe(0);
    await raw.kill(consumer);
    expect(items(raw, queue)).toEqual([undefined]);
    expect(await raw.release(queue)).toBe(0);
  });

  test('a proxy item given back is still alive; once delivered, the queue’s reference goes', async () => {
    await using raw = new RawSyncServer();
    const queue = await raw.owner.create('Queue');
    const list = await raw.owner.create('List', [[1, 2]]);
    await raw.owner.call(queue, 'put', [ctx(), proxyOf(list)]);
    expect(await raw.release(list)).toBe(2);
    const dying = await raw.connectAs('dying', [queue]);
    expect((await dying.call(queue, 'get', [ctx(), true, null])).a).toBe(1);
    await raw.kill(dying);
    expect(raw.table.holders(list)).toEqual({ server: 1 });
    const consumer = await raw.connectAs('consumer', [queue]);
    const taken = await consumer.call(queue, 'get', [ctx(), true, null]);
    expect(raw.table.holders(list)).toEqual({ server: 1, consumer: 1 });
    consumer.send({ t: 'ack', ok: [taken.rid], lost: [] });
    await settle();
    expect(raw.table.holders(list)).toEqual({ consumer: 1 });
    expect((await consumer.call(list, 'copy')).v).toEqual([1, 2]);
    await raw.kill(consumer);
    expect(await raw.release(queue)).toBe(0);
  });

  test('List.pop, Map.pop and Map.popitem give their value back when the reply is not delivered', async () => {
    await using raw = new RawSyncServer();
    const list = await raw.owner.create('List', [['a', 'b', 'c']]);
    const map = await raw.owner.create('Map', [
      [
        ['x', 1],
        ['y', 2],
        ['z', 3],
      ],
    ]);
    const dying = await raw.connectAs('dying', [list, map]);
    expect((await dying.call(list, 'pop', [1])).v).toBe('b');
    expect((await dying.call(list, 'pop', [])).v).toBe('c');
    expect((await dying.call(map, 'pop', ['x'])).v).toBe(1);
    expect((await dying.call(map, 'popitem', [])).v).toEqual(['z', 3]);
    expect((await dying.call(map, 'pop', ['y'])).v).toBe(2);
    await raw.owner.call(map, 'set', ['y', 20]); // set again meanwhile: the newer value wins
    expect((await raw.owner.call(list, 'copy')).v).toEqual(['a']);
    await raw.kill(dying);
    expect((await raw.owner.call(list, 'copy')).v).toEqual(['a', 'b', 'c']);
    expect((await raw.owner.call(map, 'entries')).v).toEqual([
      ['y', 20],
      ['z', 3],
      ['x', 1],
    ]);
    expect(await raw.release(list, map)).toBe(0);
  });
  test('a popped proxy also stored in another slot, or in another reply in flight, is released only when nothing holds it', async () => {
    await using raw = new RawSyncServer();
    const event = await raw.owner.create('Event');
    const stored = proxyOf(event);
    // One envelope three times in one call: one server-side proxy in three slots (`l *= 3`).
    const list = await raw.owner.create('List', [[stored, stored, stored]]);
    const map = await raw.owner.create('Map', [
      [
        ['a', stored],
        ['b', stored],
      ],
    ]);
    expect(await raw.release(event)).toBe(3);
    expect(raw.table.holders(event)).toEqual({ server: 2 });
    const dying = await raw.connectAs('dying', [list, map]);
    expect((await dying.call(list, 'pop', [])).a).toBe(1);
    expect((await dying.call(list, 'pop', [0])).a).toBe(1);
    expect((await dying.call(map, 'popitem', [])).a).toBe(1);
    // The last stored copies go while the popped ones are in flight: those keep the proxies.
    await raw.owner.call(list, 'clear');
    await raw.owner.call(map, 'delete', ['a']);
    expect(raw.table.holders(event)).toEqual({ server: 2, dying: 3 });
    await raw.kill(dying);
    expect((await raw.owner.call(list, 'length')).v).toBe(2);
    expect((await raw.owner.call(map, 'keys')).v).toEqual(['b']);
    expect(raw.table.holders(event)).toEqual({ server: 2 });
    // Delivered: the list's reference goes with the last copy it holds, not before.
    const consumer = await raw.connectAs('consumer', [list]);
    const first = await consumer.call(list, 'pop', []);
    const second = await consumer.call(list, 'pop', []);
    consumer.send({ t: 'ack', ok: [first.rid], lost: [] });
    await settle();
    expect(raw.table.holders(event)).toEqual({ server: 2, consumer: 2 });
    consumer.send({ t: 'ack', ok: [second.rid], lost: [] });
    await settle();
    expect(raw.table.holders(event)).toEqual({ server: 1, consumer: 2 });
    expect((await consumer.call(event, 'isSet', [])).v).toBe(false);
    await raw.kill(consumer);
    expect(await raw.release(list, map)).toBe(0);
  });
});

describe('nothing lost, with real threads', () => {
  test('terminated consumers racing a producer: 0 items lost', async () => {
    await using manager = await syncManager();
    const result = await raceConsumers(manager, {
      trials: 6,
      concurrency: 3,
      itemsPerRound: 30,
      windowMs: 25,
    });
    expect(result.trials).toBe(6);
    expect(result.lost).toBe(0);
    expect(result.consumed + result.remaining).toBeGreaterThanOrEqual(result.items);
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  }, 60_000);
});
