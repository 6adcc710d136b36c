/**
 * Borrowed references (leases), at the level of raw messages: what a lender and a borrower
 * can do, and when a lease's references go.
 */
import { newKey, RawServer, settle } from './fixtures/raw-server';

describe('leases', () => {
  test('a borrower calls lent ids, keeps one, gives the lease back: only its kept reference stays', async () => {
    await using raw = new RawServer();
    const a = await raw.owner.create('Toolbox');
    const b = await raw.owner.create('Toolbox');
    const pool = await raw.connect(raw.owner, 'pool-thread');
    const key = newKey();
    raw.owner.send({ t: 'lend', key, ids: [a, b] });
    await settle();
    expect(Object.keys(raw.table.holders(a)).sort()).toEqual(['lease:main>1', 'main']);
    // Before borrowing, the pool thread may not touch them.
    expect((await pool.call(a, 'echo', [1])).e?.code).toBe('ERR_UNKNOWN_ID');
    pool.send({ t: 'borrow', key });
    expect((await pool.call(a, 'echo', [1])).v).toBe(1);
    pool.send({ t: 'keep', key, id: b });
    // The lender releasing during the task cannot dispose them.
    raw.owner.send({ t: 'release', ids: [a, b] });
    await settle();
    expect(raw.table.numberOfObjects()).toBe(2);
    pool.send({ t: 'unborrow', key });
    await settle();
    expect(raw.table.numberOfObjects()).toBe(1);
    expect(raw.table.holders(b)).toEqual({ 'pool-thread': 1 });
    expect((await pool.call(b, 'echo', [2])).v).toBe(2);
    expect((await pool.call(a, 'echo', [2])).e?.code).toBe('ERR_UNKNOWN_ID');
    pool.send({ t: 'release', ids: [b] });
    await settle();
    expect(raw.table.numberOfObjects()).toBe(0);
  });

  test('a borrow that arrives before its lease waits for it, in order with what follows', async () => {
    await using raw = new RawServer();
    const a = await raw.owner.create('Toolbox');
    const pool = await raw.connect(raw.owner, 'pool-thread');
    const key = newKey();
    pool.send({ t: 'borrow', key });
    pool.send({ t: 'call', rid: 7, id: a, method: 'echo', args: ['early'] });
    await settle();
    expect(pool.replies.find((reply) => reply.rid === 7)).toBeUndefined();
    raw.owner.send({ t: 'lend', key, ids: [a] });
    await settle();
    expect(pool.replies.find((reply) => reply.rid === 7)?.v).toBe('early');
    pool.send({ t: 'unborrow', key });
    raw.owner.send({ t: 'release', ids: [a] });
    await settle();
    expect(raw.table.numberOfObjects()).toBe(0);
  });

  test('unlend ends a lease nobody borrowed; it is ignored once borrowed', async () => {
    await using raw = new RawServer();
    const a = await raw.owner.create('Toolbox');
    const pool = await raw.connect(raw.owner, 'pool-thread');
    const unused = newKey();
    const used = newKey();
    raw.owner.send({ t: 'lend', key: unused, ids: [a] });
    raw.owner.send({ t: 'lend', key: used, ids: [a] });
    pool.send({ t: 'borrow', key: used });
    await settle();
    expect(raw.table.refcount(a)).toBe(3);
    raw.owner.send({ t: 'unlend', key: unused });
    raw.owner.send({ t: 'unlend', key: used });
    await settle();
    expect(raw.table.refcount(a)).toBe(2);
    expect((await pool.call(a, 'echo', [1])).v).toBe(1);
    // A late borrow of the ended lease is refused, not waited for.
    pool.send({ t: 'borrow', key: unused });
    await settle();
    expect(pool.refusals).toEqual([expect.stringMatching(/no such lease/)]);
    pool.send({ t: 'unborrow', key: used });
    raw.owner.send({ t: 'release', ids: [a] });
    await settle();
    expect(raw.table.numberOfObjects()).toBe(0);
  });

  test("unlend {returned} ends a borrowed lease; the borrower's late unborrow is ignored, not refused", async () => {
    await using raw = new RawServer();
    const a = await raw.owner.create('Toolbox');
    const pool = await raw.connect(raw.owner, 'pool-thread');
    const key = newKey();
    raw.owner.send({ t: 'lend', key, ids: [a] });
    pool.send({ t: 'borrow', key });
    expect((await pool.call(a, 'echo', [1])).v).toBe(1);
    raw.owner.send({ t: 'unlend', key, returned: true });
    await settle();
    expect(raw.table.holders(a)).toEqual({ main: 1 });
    expect((await pool.call(a, 'echo', [2])).e?.code).toBe('ERR_UNKNOWN_ID');
    pool.send({ t: 'unborrow', key });
    await settle();
    expect(pool.refusals).toEqual([]);
    raw.owner.send({ t: 'release', ids: [a] });
    await settle();
    expect(raw.table.numberOfObjects()).toBe(0);
  });

  test('a borrow that gives up waiting refuses a later lend of its key: no lease nobody ends', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'queueMicrotask', 'nextTick'] });
    try {
      await using raw = new RawServer();
      const a = await raw.owner.create('Toolbox');
      const pool = await raw.connect(raw.owner, 'pool-thread');
      const key = newKey();
      pool.send({ t: 'borrow', key });
      await settle();
      jest.advanceTimersByTime(10_001); // the borrow's wait for its lease (10 s)
      await settle();
      expect(pool.refusals).toEqual([expect.stringMatching(/no lease came within/)]);
      raw.owner.send({ t: 'lend', key, ids: [a] });
      await settle();
      expect(raw.owner.refusals).toEqual([expect.stringMatching(/^lend refused: the key/)]);
      expect(raw.table.holders(a)).toEqual({ main: 1 });
      raw.owner.send({ t: 'release', ids: [a] });
      await settle();
      expect(raw.table.numberOfObjects()).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });

  test('a borrower that dies gives its leases back; a lender that dies ends the unborrowed ones', async () => {
    await using raw = new RawServer();
    const lender = await raw.connect(raw.owner, 'lender');
    const a = await lender.create('Toolbox');
    const pool = await raw.connect(raw.owner, 'pool-thread');
    const borrowedKey = newKey();
    raw.owner.send({ t: 'noop' }); // a bad message on the owner's port changes nothing
    lender.send({ t: 'lend', key: borrowedKey, ids: [a] });
    lender.send({ t: 'lend', key: newKey(), ids: [a] });
    pool.send({ t: 'borrow', key: borrowedKey });
    await settle();
    expect(raw.table.refcount(a)).toBe(3);
    lender.close();
    await settle();
    // The lender's own reference and its unborrowed lease are gone; the borrowed one stays.
    expect(raw.table.refcount(a)).toBe(1);
    expect((await pool.call(a, 'echo', ['still here'])).v).toBe('still here');
    pool.close();
    await settle();
    expect(raw.table.numberOfObjects()).toBe(0);
  });

  test('least authority: lending what one does not hold, borrowing twice, keeping what was not lent', async () => {
    await using raw = new RawServer();
    const secret = await raw.owner.create('Toolbox');
    const mine = await raw.owner.create('Toolbox');
    const attacker = await raw.connect(raw.owner, 'attacker');
    const pool = await raw.connect(raw.owner, 'pool-thread');
    const stolen = newKey();
    attacker.send({ t: 'lend', key: stolen, ids: [secret] });
    await settle();
    expect(attacker.refusals).toEqual([expect.stringMatching(/holds no reference/)]);
    expect(raw.table.refcount(secret)).toBe(1);
    const key = newKey();
    raw.owner.send({ t: 'lend', key, ids: [mine] });
    pool.send({ t: 'borrow', key });
    attacker.send({ t: 'borrow', key });
    attacker.send({ t: 'keep', key, id: mine });
    pool.send({ t: 'keep', key, id: secret });
    await settle();
    expect(attacker.refusals.length).toBe(3);
    expect(pool.refusals).toEqual([expect.stringMatching(/not in a lease/)]);
    expect(raw.table.holders(secret)).toEqual({ main: 1 });
    pool.send({ t: 'unborrow', key });
    raw.owner.send({ t: 'release', ids: [secret, mine] });
    await settle();
    expect(raw.table.numberOfObjects()).toBe(0);
  });
});
