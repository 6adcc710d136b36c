/**
 * The lend log (lend-log.ts): lends a thread writes in shared memory instead of posting, each
 * acted on at its place among the thread's messages.
 */
import { MessageChannel } from 'node:worker_threads';
import { borrow, lend, release } from '@managers/core';
import { installRefcountMatchers } from '@managers/refcount/jest';
import { LEND_LOG_BYTES, LendLogReader, LendLogWriter } from '../src/lend-log';
import { KitchenManager } from './fixtures/kitchen';
import { newKey, RawServer, registerLendLog, settle } from './fixtures/raw-server';
import { KITCHEN_MODULE, pollUntil, roundTrip } from './helpers';

installRefcountMatchers();

/** A callback that ignores what it is given. */
function nothing(): void {}

describe('the ring', () => {
  test('entries come back in order across many wrap-arounds; a full ring refuses a write', () => {
    const writer = new LendLogWriter();
    const reader = new LendLogReader(writer.buffer);
    const read: [string, number[]][] = [];
    let written = 0;
    for (let round = 0; round < 50; round++) {
      // Variable sizes, so that entries end at every offset and the wrap marker is exercised.
      for (let index = 0; index < 37; index++, written++) {
        const ids = Array.from({ length: (written % 9) + 1 }, (_, i) => written * 10 + i);
        expect(writer.write(newKey(), written, ids)).not.toBe(-1);
      }
      expect(reader.drain(Infinity, (key, ids) => read.push([key, ids]))).toBeUndefined();
      expect(reader.pending()).toBe(false);
    }
    expect(read).toHaveLength(written);
    read.forEach(([key, ids], index) => {
      expect(key).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(ids[0]).toBe(index * 10);
      expect(ids).toHaveLength((index % 9) + 1);
    });
    let filled = 0;
    while (writer.write(newKey(), 0, [1, 2, 3]) !== -1) filled++;
    expect(filled).toBeGreaterThan(1000);
    expect(filled * (12 + 22 + 24)).toBeLessThanOrEqual(LEND_LOG_BYTES);
    let drained = 0;
    reader.drain(Infinity, () => drained++);
    expect(drained).toBe(filled);
    expect(writer.write(newKey(), 0, [4])).not.toBe(-1);
  });

  test('an entry that would end exactly at the end of the ring while nothing was read is refused', () => {
    const writer = new LendLogWriter();
    const reader = new LendLogReader(writer.buffer);
    // 28-character keys and 3 ids: 64-byte entries, 4,096 of which fill the area exactly.
    const key = () => newKey() + 'AAAAAA';
    let filled = 0;
    while (writer.write(key(), 0, [1, 2, 3]) !== -1) filled++;
    expect(filled).toBe(4095); // the last one would make the ring look empty
    let read = 0;
    reader.drain(0, () => read++);
    expect(read).toBe(4095);
    // Now it fits (the reader moved on), ends exactly at the end, and the next one wraps.
    expect(writer.write(key(), 0, [4, 5, 6])).not.toBe(-1);
    expect(writer.write(key(), 0, [7, 8, 9])).not.toBe(-1);
    const ids: number[] = [];
    reader.drain(0, (_, got) => ids.push(...got));
    expect(ids).toEqual([4, 5, 6, 7, 8, 9]);
  });

  test('an entry placed after messages not read yet waits; the reader stops there, in order', () => {
    const writer = new LendLogWriter();
    const reader = new LendLogReader(writer.buffer);
    writer.write(newKey(), 2, [1]);
    writer.write(newKey(), 5, [2]);
    const seen: number[] = [];
    reader.drain(1, (_, ids) => seen.push(...ids));
    expect(seen).toEqual([]);
    reader.drain(4, (_, ids) => seen.push(...ids));
    expect(seen).toEqual([1]);
    expect(reader.pending()).toBe(true);
    reader.drain(5, (_, ids) => seen.push(...ids));
    expect(seen).toEqual([1, 2]);
  });

  test('a lend withdrawn before the reader reached it is skipped and reported; one read already is not withdrawn', () => {
    const writer = new LendLogWriter();
    const reader = new LendLogReader(writer.buffer);
    const [k1, k2, k3] = [newKey(), newKey(), newKey()];
    const p1 = writer.write(k1, 0, [1]);
    const p2 = writer.write(k2, 0, [2]);
    // Placed after messages not read yet: withdrawn, it no longer holds the reader back.
    const p3 = writer.write(k3, 9, [3]);
    expect(writer.cancel(p2)).toBe(true);
    expect(writer.cancel(p3)).toBe(true);
    const taken: number[] = [];
    const withdrawn: string[] = [];
    reader.drain(
      0,
      (_, ids) => taken.push(...ids),
      (key) => withdrawn.push(key),
    );
    expect(taken).toEqual([1]);
    expect(withdrawn).toEqual([k2, k3]);
    expect(reader.pending()).toBe(false);
    expect(writer.cancel(p1)).toBe(false); // the reader took it: its lease exists
    expect(writer.cancel(-1)).toBe(false); // posted, never written
  });

  test('a reclaim frees the withdrawn entries at the head and takes nothing', () => {
    const writer = new LendLogWriter();
    const reader = new LendLogReader(writer.buffer);
    const [k1, k2, k3, k4] = [newKey(), newKey(), newKey(), newKey()];
    const places = [writer.write(k1, 0, [1]), writer.write(k2, 0, [2])];
    const third = writer.write(k3, 0, [3]);
    const fourth = writer.write(k4, 0, [4]);
    for (const place of [...places, fourth]) expect(writer.cancel(place)).toBe(true);
    const withdrawn: string[] = [];
    const directs: string[] = [];
    expect(
      reader.reclaim(
        0,
        (key) => directs.push(key),
        (key) => withdrawn.push(key),
      ),
    ).toBeUndefined();
    expect(directs).toEqual([]);
    // Stopped at the third, which is neither taken nor withdrawn: it can still be withdrawn.
    expect(withdrawn).toEqual([k1, k2]);
    expect(reader.pending()).toBe(true);
    const taken: number[] = [];
    reader.drain(
      0,
      (_, ids) => taken.push(...ids),
      (key) => withdrawn.push(key),
    );
    expect(taken).toEqual([3]);
    expect(withdrawn).toEqual([k1, k2, k4]);
    expect(writer.cancel(third)).toBe(false);
  });

  test('a reclaim takes the directed handoffs at the head placed before its message (nobody withdraws them), not later ones', () => {
    const writer = new LendLogWriter();
    const reader = new LendLogReader(writer.buffer);
    const [d1, k1, d2, k2, d3] = [newKey(), newKey(), newKey(), newKey(), newKey()];
    writer.writeDirect(d1, 0, [1], { to: 5, tag: 1 }); // due: never claimed
    const first = writer.write(k1, 0, [2]);
    writer.writeDirect(d2, 1, [3], { to: 5, tag: 1 }); // due once one message was read
    const second = writer.write(k2, 2, [4]);
    writer.writeDirect(d3, 2, [5], { to: 5, tag: 1 }); // after the second message
    expect(writer.cancel(first)).toBe(true);
    expect(writer.cancel(second)).toBe(true);
    const directs: [string, number[], number][] = [];
    const withdrawn: string[] = [];
    const take = (key: string, ids: number[], directed?: { to: number }) =>
      directs.push([key, ids, directed!.to]);
    reader.reclaim(0, take, (key) => withdrawn.push(key));
    // d2 is placed after the first message: not yet.
    expect(directs).toEqual([[d1, [1], 5]]);
    expect(withdrawn).toEqual([k1]);
    reader.reclaim(1, take, (key) => withdrawn.push(key));
    // k2 is withdrawn, skipped wherever it is; d3 waits for the second message.
    expect(directs).toEqual([
      [d1, [1], 5],
      [d2, [3], 5],
    ]);
    expect(withdrawn).toEqual([k1, k2]);
    expect(reader.pending()).toBe(true);
    reader.reclaim(2, take, (key) => withdrawn.push(key));
    expect(directs.map(([key]) => key)).toEqual([d1, d2, d3]);
    expect(reader.pending()).toBe(false);
  });

  test('withdrawn lends behind a directed handoff nobody claims are freed: the log does not fill', () => {
    const writer = new LendLogWriter();
    const reader = new LendLogReader(writer.buffer);
    writer.writeDirect(newKey(), 0, [1], { to: 5, tag: 1 });
    // Ten times what the log holds, each lend withdrawn, a reclaim after each (the lender's calls).
    for (let task = 0; task < 62_000; task++) {
      const place = writer.write(newKey(), 0, [2]);
      expect(place).not.toBe(-1);
      expect(writer.cancel(place)).toBe(true);
      reader.reclaim(0, nothing, nothing);
    }
    expect(reader.pending()).toBe(false);
  });

  test('a half-full log asks for a reclaim once, and again only after the reader moved', () => {
    const writer = new LendLogWriter();
    const reader = new LendLogReader(writer.buffer);
    const places: number[] = [];
    let asked = 0;
    while (asked === 0) {
      places.push(writer.write(newKey(), 0, [places.length]));
      if (writer.wantsReclaim()) asked = places.length;
    }
    // 42-byte entries: just past half of the 256 KiB area.
    expect(asked * 42).toBeGreaterThanOrEqual(LEND_LOG_BYTES / 2 - 8);
    expect(asked * 42).toBeLessThan(LEND_LOG_BYTES / 2 + 42);
    for (let more = 0; more < 100; more++) places.push(writer.write(newKey(), 0, [0]));
    expect(writer.wantsReclaim()).toBe(false); // the reader has not moved
    // The reader frees the first withdrawn entries only: still over half full, so it asks again.
    for (const place of places.slice(0, 10)) writer.cancel(place);
    reader.reclaim(0, nothing, nothing);
    expect(writer.wantsReclaim()).toBe(true);
    expect(writer.wantsReclaim()).toBe(false);
    for (const place of places) writer.cancel(place);
    reader.reclaim(0, nothing, nothing);
    expect(writer.wantsReclaim()).toBe(false); // nearly empty
  });

  test('withdrawing an entry whose space was written over since refuses, and leaves the new entry alone', () => {
    const writer = new LendLogWriter();
    const reader = new LendLogReader(writer.buffer);
    const first = writer.write(newKey(), 0, [1]);
    const taken: number[] = [];
    reader.drain(0, (_, ids) => taken.push(...ids));
    // Round the ring until a later entry sits where the first one was.
    let written = 1;
    while (written < 5000) {
      if (writer.write(newKey(), 0, [written]) === -1) {
        reader.drain(0, (_, ids) => taken.push(...ids));
        continue;
      }
      written++;
    }
    expect(writer.cancel(first)).toBe(false);
    reader.drain(0, (_, ids) => taken.push(...ids));
    expect(taken).toEqual([1, ...Array.from({ length: 4999 }, (_, index) => index + 1)]);
  });

  test('a log that breaks the format names what is wrong and is read no further', () => {
    const writer = new LendLogWriter();
    const reader = new LendLogReader(writer.buffer);
    writer.write(newKey(), 0, [1]);
    new Uint8Array(writer.buffer, 8)[0] = 7; // the first entry's kind
    const problem = reader.drain(Infinity, () => {
      throw new Error('nothing should be read');
    });
    expect(problem).toBe('lend log unreadable at byte 0: unknown entry kind 7');
    expect(reader.pending()).toBe(false);
  });
});

describe('withdrawn lends (raw messages)', () => {
  test('a withdrawn head skipped before a lender call wakes a borrower whose held borrow reads the same log: the lender stays open', async () => {
    await using raw = new RawServer();
    const { a, lender, pool, writer, releaseA } = await lenderWithLog(raw);
    const [k1, k2] = [newKey(), newKey()];
    // Both placed after a lender message the server has not received yet.
    const p1 = writer.write(k1, lender.posted + 1, [a]);
    writer.write(k2, lender.posted + 1, [a]);
    pool.send({ t: 'borrow', key: k1 }); // waits: its lend is not readable yet
    pool.send({ t: 'borrow', key: k2 }); // held behind it
    const call = pool.call(a, 'echo', [2]);
    await settle();
    expect(writer.cancel(p1)).toBe(true);
    // The lender's call: the reclaim before it skips k1, refusing the waiting borrow; the
    // pool thread's held borrow of k2 then reads the lender's log.
    lender.send({ t: 'call', rid: 99, id: a, method: 'echo', args: [1] });
    expect((await call).v).toBe(2);
    await settle();
    expect(pool.refusals).toEqual(['borrow refused: the lease was withdrawn']);
    expect(lender.refusals).toEqual([]);
    expect(lender.closed).toBe(false);
    expect(lender.replies.find((reply) => reply.rid === 99)?.v).toBe(1);
    pool.send({ t: 'unborrow', key: k2 });
    expect(await releaseA()).toBe(0);
  });

  test('a withdrawn entry met by the read after a call wakes a borrower that reads the same log: the lender stays open', async () => {
    await using raw = new RawServer();
    const { a, lender, pool, writer, releaseA } = await lenderWithLog(raw);
    const other = await raw.connect(raw.owner, 'other-pool');
    const [k0, k1, k2] = [newKey(), newKey(), newKey()];
    writer.write(k0, lender.posted + 1, [a]); // in flight: the reclaim stops here
    const p1 = writer.write(k1, lender.posted + 1, [a]);
    writer.write(k2, lender.posted + 1, [a]);
    pool.send({ t: 'borrow', key: k1 });
    pool.send({ t: 'borrow', key: k2 });
    const call = pool.call(a, 'echo', [3]);
    await settle();
    expect(writer.cancel(p1)).toBe(true);
    // Someone waits, so the log is read after the call: k0 taken, k1 withdrawn (the waiting
    // borrow refused, its connection resumed), and the held borrow of k2 reads the same log.
    expect((await lender.call(a, 'echo', [1])).v).toBe(1);
    expect((await call).v).toBe(3);
    await settle();
    expect(lender.refusals).toEqual([]);
    expect(lender.closed).toBe(false);
    other.send({ t: 'borrow', key: k0 });
    expect((await other.call(a, 'echo', [4])).v).toBe(4);
    other.send({ t: 'unborrow', key: k0 });
    pool.send({ t: 'unborrow', key: k2 });
    expect(await releaseA()).toBe(0);
  });

  test('a refcount view from another connection shows the leases of lends its lender left unread by its calls', async () => {
    await using raw = new RawServer();
    const { a, lender, writer, releaseA } = await lenderWithLog(raw);
    const key = newKey();
    writer.write(key, lender.posted, [a]);
    // The lender's call leaves the lend unread (it can still be withdrawn) ...
    expect((await lender.call(a, 'echo', [1])).v).toBe(1);
    expect(raw.table.holders(a)).toEqual({ lender: 1, main: 1 });
    // ... but a table view from elsewhere reads it first, as it reads what other ports brought.
    const entries = (await raw.owner.call(0, '#debug')).v as { id: number; refcount: number }[];
    expect(entries).toEqual([expect.objectContaining({ id: a, refcount: 3 })]);
    expect(Object.keys(raw.table.holders(a))).toEqual([
      'main',
      'lender',
      expect.stringMatching(/^lease:lender>/),
    ]);
    lender.send({ t: 'unlend', key });
    expect(await releaseA()).toBe(0);
    expect(lender.refusals).toEqual([]);
  });

  test('a refcount view leaves the lends of a connection paused for a claim unread: they stay withdrawable', async () => {
    await using raw = new RawServer();
    const { a, lender, writer } = await lenderWithLog(raw);
    lender.send({ t: 'claim', key: newKey() }); // waits: no handoff has that key yet
    await settle();
    // Placed after the claim, written once the server paused the connection for it.
    const place = writer.write(newKey(), lender.posted, [a]);
    const entries = (await raw.owner.call(0, '#debug')).v as { id: number; refcount: number }[];
    expect(entries).toEqual([expect.objectContaining({ id: a, refcount: 2 })]);
    expect(writer.cancel(place)).toBe(true);
    lender.close();
    raw.owner.send({ t: 'release', ids: [a] });
    await settle();
    expect(raw.table.numberOfObjects()).toBe(0);
  });

  test('a lend nobody used is withdrawn: no lease, no trace; a late borrow of it is refused at once', async () => {
    await using raw = new RawServer();
    const { a, lender, pool, writer, releaseA } = await lenderWithLog(raw);
    const key = newKey();
    const place = writer.write(key, lender.posted, [a]);
    // The lender's calls and creates leave it unread, so that it can still be withdrawn.
    expect((await lender.call(a, 'echo', [1])).v).toBe(1);
    const b = await lender.create('Toolbox');
    expect(writer.cancel(place)).toBe(true);
    lender.send({ t: 'release', ids: [b] });
    await settle();
    expect(raw.table.holders(a)).toEqual({ lender: 1, main: 1 });
    expect(raw.table.trace().filter((event) => event.holder.startsWith('lease:'))).toEqual([]);
    // Read now (the release above read the log): the key is known as ended.
    const started = Date.now();
    pool.send({ t: 'borrow', key });
    await settle();
    expect(pool.refusals).toEqual(['borrow refused: no such lease']);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await releaseA()).toBe(0);
    expect(lender.refusals).toEqual([]);
  });

  test('a borrow waiting for a lend that is then withdrawn is refused at once, and its connection goes on', async () => {
    await using raw = new RawServer();
    const { a, lender, pool, writer, releaseA } = await lenderWithLog(raw);
    const key = newKey();
    // Placed after a lender message not posted yet: the borrow waits for it.
    const place = writer.write(key, lender.posted + 1, [a]);
    pool.send({ t: 'borrow', key });
    await settle();
    expect(writer.cancel(place)).toBe(true);
    lender.send({ t: 'release', ids: [] });
    await settle();
    expect(pool.refusals).toEqual(['borrow refused: the lease was withdrawn']);
    const c = await pool.create('Toolbox');
    expect((await pool.call(c, 'echo', [2])).v).toBe(2);
    pool.send({ t: 'release', ids: [c] });
    expect(await releaseA()).toBe(0);
  });

  test('a release by the lender reads its lends first: they can no longer be withdrawn, and keep the objects', async () => {
    await using raw = new RawServer();
    const { a, lender, pool, writer } = await lenderWithLog(raw);
    const key = newKey();
    const place = writer.write(key, lender.posted, [a]);
    lender.send({ t: 'release', ids: [a] });
    raw.owner.send({ t: 'release', ids: [a] });
    await settle();
    expect(writer.cancel(place)).toBe(false);
    expect(Object.keys(raw.table.holders(a))).toEqual(['lease:lender>1']);
    pool.send({ t: 'borrow', key });
    expect((await pool.call(a, 'echo', [3])).v).toBe(3);
    lender.send({ t: 'unlend', key, returned: true });
    await settle();
    expect(raw.table.numberOfObjects()).toBe(0);
    expect(pool.refusals).toEqual([]);
    expect(lender.refusals).toEqual([]);
  });

  test('a borrow waiting for a lend placed after a lender call is woken by that call', async () => {
    await using raw = new RawServer();
    const { a, lender, pool, writer, releaseA } = await lenderWithLog(raw);
    const key = newKey();
    writer.write(key, lender.posted + 1, [a]);
    pool.send({ t: 'borrow', key });
    const call = pool.call(a, 'echo', [4]);
    await settle();
    // The lender's next message is a call, which leaves lends unread unless someone waits.
    expect((await lender.call(a, 'echo', [5])).v).toBe(5);
    expect((await call).v).toBe(4);
    pool.send({ t: 'unborrow', key });
    expect(await releaseA()).toBe(0);
    expect(pool.refusals).toEqual([]);
  });
});

/**
 * A Toolbox `a`, a lender connection holding it with its lend log registered, a pool thread,
 * and the end of a test: `releaseA()` releases the lender's and the owner's references to `a`
 * and resolves with the number of objects left once the server is idle.
 */
async function lenderWithLog(raw: RawServer) {
  const a = await raw.owner.create('Toolbox');
  const lender = await raw.connect(raw.owner, 'lender', [a]);
  const pool = await raw.connect(raw.owner, 'pool-thread');
  const writer = registerLendLog(lender);
  await settle();
  const releaseA = async (): Promise<number> => {
    lender.send({ t: 'release', ids: [a] });
    raw.owner.send({ t: 'release', ids: [a] });
    await settle();
    return raw.table.numberOfObjects();
  };
  return { a, lender, pool, writer, releaseA };
}

describe('on the server (raw messages)', () => {
  test('a logged lend takes its place: before a release posted after it, after a message posted before it', async () => {
    await using raw = new RawServer();
    const a = await raw.owner.create('Toolbox');
    const pool = await raw.connect(raw.owner, 'pool-thread');
    const writer = registerLendLog(raw.owner);
    // Lent, then released by the lender at once: the lease keeps `a` for the borrower.
    const key = newKey();
    writer.write(key, raw.owner.posted, [a]);
    raw.owner.send({ t: 'release', ids: [a] });
    await settle();
    expect(Object.keys(raw.table.holders(a))).toEqual(['lease:main>1']);
    pool.send({ t: 'borrow', key });
    expect((await pool.call(a, 'echo', [1])).v).toBe(1);
    pool.send({ t: 'unborrow', key });
    await settle();
    expect(raw.table.numberOfObjects()).toBe(0);

    // Placed after a message the lender has not posted yet: a borrow waits for that message.
    const b = await raw.owner.create('Toolbox');
    const later = newKey();
    writer.write(later, raw.owner.posted + 1, [b]);
    pool.send({ t: 'borrow', key: later });
    const call = pool.call(b, 'echo', [2]);
    await settle();
    expect(raw.table.holders(b)).toEqual({ main: 1 });
    raw.owner.send({ t: 'release', ids: [] });
    expect((await call).v).toBe(2);
    pool.send({ t: 'unborrow', key: later });
    raw.owner.send({ t: 'release', ids: [b] });
    await settle();
    expect(raw.table.numberOfObjects()).toBe(0);
    expect(raw.owner.refusals).toEqual([]);
    expect(pool.refusals).toEqual([]);
  });

  test('a borrow finds a lease logged by a lender that posted nothing since; a closing lender is read first', async () => {
    await using raw = new RawServer();
    const { a, lender, pool, writer } = await lenderWithLog(raw);
    const key = newKey();
    writer.write(key, lender.posted, [a]);
    pool.send({ t: 'borrow', key });
    expect((await pool.call(a, 'echo', [3])).v).toBe(3);
    pool.send({ t: 'unborrow', key });

    // The lender logs a lease placed after a message it never posts, a borrow waits for it,
    // and the lender dies: its close reads the whole log, so the borrow gets the lease, which
    // outlives the lender while borrowed.
    const last = newKey();
    writer.write(last, lender.posted + 1, [a]);
    pool.send({ t: 'borrow', key: last });
    const call = pool.call(a, 'echo', [4]);
    await settle();
    expect(Object.keys(raw.table.holders(a)).sort()).toEqual(['lender', 'main']);
    lender.close();
    expect((await call).v).toBe(4);
    pool.send({ t: 'unborrow', key: last });
    raw.owner.send({ t: 'release', ids: [a] });
    await settle();
    expect(raw.table.numberOfObjects()).toBe(0);
    expect(pool.refusals).toEqual([]);
  });

  test('a lend log registered while its connection waits for a claim: a lend after a held claim comes after it', async () => {
    await using raw = new RawServer();
    const a = await raw.owner.create('Toolbox');
    const b = await raw.owner.create('Toolbox');
    const lender = await raw.connect(raw.owner, 'lender');
    const pool = await raw.connect(raw.owner, 'pool-thread');
    const writer = new LendLogWriter();
    // The lender claims a handoff not registered yet: it waits, holding what follows.
    const first = newKey();
    lender.send({ t: 'claim', key: first });
    lender.send({ t: 'lendlog', buffer: writer.buffer });
    const second = newKey();
    const port2 = new MessageChannel();
    raw.owner.send({ t: 'spare', key: second, port: port2.port2 }, [port2.port2]);
    raw.owner.send({ t: 'handoff', key: second, ids: [b] });
    lender.send({ t: 'claim', key: second });
    // Lent after the second claim (which gives the lender `b`), while both wait.
    const key = newKey();
    writer.write(key, lender.posted, [b]);
    pool.send({ t: 'borrow', key });
    const call = pool.call(b, 'echo', [6]);
    await settle();
    const port1 = new MessageChannel();
    raw.owner.send({ t: 'spare', key: first, port: port1.port2 }, [port1.port2]);
    raw.owner.send({ t: 'handoff', key: first, ids: [a] });
    expect((await call).v).toBe(6);
    expect(lender.refusals).toEqual([]);
    pool.send({ t: 'unborrow', key });
    lender.send({ t: 'release', ids: [a, b] });
    raw.owner.send({ t: 'release', ids: [a, b] });
    await settle();
    port1.port1.close();
    port2.port1.close();
    expect(raw.table.numberOfObjects()).toBe(0);
    expect(pool.refusals).toEqual([]);
  });

  test('two leases logged together, borrowed by a thread that waits for the first: each lent once', async () => {
    await using raw = new RawServer();
    const { a, lender, pool, writer } = await lenderWithLog(raw);
    // Both placed after a lender message not posted yet: the first borrow waits, the second
    // is held behind it; the lender's message makes both readable at once.
    const [k1, k2] = [newKey(), newKey()];
    writer.write(k1, lender.posted + 1, [a]);
    writer.write(k2, lender.posted + 1, [a]);
    pool.send({ t: 'borrow', key: k1 });
    pool.send({ t: 'borrow', key: k2 });
    const call = pool.call(a, 'echo', [7]);
    await settle();
    lender.send({ t: 'release', ids: [] });
    expect((await call).v).toBe(7);
    pool.send({ t: 'unborrow', key: k1 });
    pool.send({ t: 'unborrow', key: k2 });
    lender.send({ t: 'release', ids: [a] });
    raw.owner.send({ t: 'release', ids: [a] });
    await settle();
    expect(lender.refusals).toEqual([]);
    expect(pool.refusals).toEqual([]);
    expect(raw.table.numberOfObjects()).toBe(0);
  });

  test('a borrow that reaches the server before its lender registered its log gets the lease', async () => {
    await using raw = new RawServer();
    const a = await raw.owner.create('Toolbox');
    const pool = await raw.connect(raw.owner, 'pool-thread');
    // The first lend of a thread: its lendlog and the task's borrow travel on different ports.
    const key = newKey();
    pool.send({ t: 'borrow', key });
    const call = pool.call(a, 'echo', [8]);
    await settle();
    const writer = registerLendLog(raw.owner);
    writer.write(key, raw.owner.posted, [a]);
    // The lender posts nothing more: the registration itself must read the log.
    expect((await call).v).toBe(8);
    pool.send({ t: 'unborrow', key });
    raw.owner.send({ t: 'release', ids: [a] });
    await settle();
    expect(raw.table.numberOfObjects()).toBe(0);
    expect(pool.refusals).toEqual([]);
  });

  test('lends read before a message wake a borrower; what it reads stops before that message', async () => {
    await using raw = new RawServer();
    const a = await raw.owner.create('Toolbox');
    const worker = await raw.connect(raw.owner, 'worker');
    const b = await worker.create('Toolbox');
    const pool = await raw.connect(raw.owner, 'pool-thread');
    const writer = registerLendLog(raw.owner);
    const handoff = newKey();
    const channel = new MessageChannel();
    worker.send({ t: 'spare', key: handoff, port: channel.port2 }, [channel.port2]);
    worker.send({ t: 'handoff', key: handoff, ids: [b] });
    const [k1, k2] = [newKey(), newKey()];
    pool.send({ t: 'borrow', key: k1 }); // waits: nothing lent yet
    pool.send({ t: 'borrow', key: k2 }); // held behind it
    const call = pool.call(b, 'echo', [9]);
    await settle();
    // Lent before the claim that gives the owner `b`, then `b` lent after it. The first lend,
    // read just before the claim, wakes the pool thread, whose borrow of k2 reads the owner's
    // log: it must not reach the second lend before the claim is acted on.
    writer.write(k1, raw.owner.posted, [a]);
    raw.owner.send({ t: 'claim', key: handoff });
    writer.write(k2, raw.owner.posted, [b]);
    expect((await call).v).toBe(9);
    expect(raw.owner.refusals).toEqual([]);
    for (const key of [k1, k2]) pool.send({ t: 'unborrow', key });
    worker.send({ t: 'release', ids: [b] });
    raw.owner.send({ t: 'release', ids: [a, b] });
    await settle();
    channel.port1.close();
    expect(raw.table.numberOfObjects()).toBe(0);
    expect(pool.refusals).toEqual([]);
  });

  test('a bad lend log is refused and the server keeps serving: wrong size, a second one, garbage', async () => {
    await using raw = new RawServer();
    const a = await raw.owner.create('Toolbox');
    raw.owner.send({ t: 'lendlog', buffer: new SharedArrayBuffer(16) });
    const writer = registerLendLog(raw.owner);
    raw.owner.send({ t: 'lendlog', buffer: new LendLogWriter().buffer });
    await settle();
    const rejects = raw.table
      .trace()
      .filter((event) => event.op === 'reject')
      .map((event) => event.cause);
    expect(rejects).toEqual([
      `bad message from main: lendlog.buffer must be a SharedArrayBuffer of ${LEND_LOG_BYTES} bytes`,
      'bad message from main: a second lendlog (one per connection)',
    ]);
    // An entry whose key or ids a lend cannot carry is refused as that lend would be; the log
    // and its connection go on.
    writer.write('!'.repeat(22), raw.owner.posted, [a]);
    writer.write(newKey(), raw.owner.posted, [0.5]);
    // (A call leaves lends unread: a release reads them.)
    raw.owner.send({ t: 'release', ids: [] });
    expect((await raw.owner.call(a, 'echo', [4])).v).toBe(4);
    const refusedLends = raw.table
      .trace()
      .filter((event) => event.op === 'reject')
      .slice(2)
      .map((event) => event.cause);
    expect(refusedLends).toEqual([
      expect.stringMatching(/^bad message from main: .*key/),
      expect.stringMatching(/^bad message from main: .*ids/),
    ]);
    expect(raw.owner.closed).toBe(false);
    // Garbage in a log: that connection is closed (its later lends would be lost), the server
    // keeps serving the others.
    const other = await raw.connect(raw.owner, 'other', [a]);
    const garbage = registerLendLog(other);
    garbage.write(newKey(), other.posted, [a]);
    new Uint8Array(garbage.buffer, 8)[1] = 200; // a key length past the entry's end
    other.send({ t: 'release', ids: [] });
    await settle();
    expect(other.refusals).toEqual([
      'lend log unreadable at byte 0: a truncated key: closing the connection',
    ]);
    expect(other.closed).toBe(true);
    expect((await raw.owner.call(a, 'echo', [5])).v).toBe(5);
    expect(Object.keys(raw.table.holders(a))).toEqual(['main']);
    raw.owner.send({ t: 'release', ids: [a] });
    await settle();
    expect(raw.table.numberOfObjects()).toBe(0);
  });
});

test('10,000 tasks that did not use their lent proxies: no lease on the server, and the log never fills', async () => {
  await using manager = await KitchenManager.start({ module: KITCHEN_MODULE });
  const a = await manager.Toolbox();
  for (let round = 0; round < 100; round++) {
    const loans = Array.from({ length: 100 }, (_, item) => lend({ a, item }));
    // The lender's own calls leave its lends unread, so they can still be withdrawn; each
    // frees the space of the ones withdrawn before it.
    expect(await a.inc()).toBe(round + 1);
    for (const loan of loans) loan.end();
  }
  const trace = await manager.trace();
  expect(trace.filter((event) => event.holder.startsWith('lease:'))).toEqual([]);
  expect(trace.filter((event) => event.op === 'reject')).toEqual([]);
  release(a);
  await expect(manager).toHaveNoLiveObjects();
});

test('8,000 leases at once, more than the log holds: every lease works and ends', async () => {
  await using manager = await KitchenManager.start({ module: KITCHEN_MODULE });
  const a = await manager.Toolbox();
  // No other message in between: the log fills (about 6,200 single-proxy leases), then lends
  // are posted as messages, after the logged ones.
  const loans = Array.from({ length: 8000 }, () => lend({ a }));
  const holders = async () =>
    (await manager.entries()).flatMap((entry) =>
      Object.keys(entry.holders).filter((holder) => holder.startsWith('lease:')),
    );
  expect((await holders()).length).toBe(8000);
  // A logged lease and a posted one, borrowed and called.
  for (const loan of [loans[0]!, loans[7999]!]) {
    const received = borrow<{ a: typeof a }>(await roundTrip(loan.value, loan.transferList));
    expect(await received.value.a.inc()).toBeGreaterThan(0);
    loan.end(received.handBack());
  }
  for (const loan of loans) loan.end();
  release(a);
  expect(await pollUntil(async () => (await holders()).length, 0)).toBe(0);
  expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  expect((await manager.trace()).filter((event) => event.op === 'reject')).toEqual([]);
  await expect(manager).toHaveNoLiveObjects();
});
