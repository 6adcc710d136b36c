import type { ObjectTable } from '@managers/refcount';
import { mayUse } from './authority';
import type { ServerConnection } from './connection';
import { RecentKeys } from './remember';

/** How long a borrow waits for its lease to arrive (it travels on the lender's port). */
const BORROW_WAIT_MS = 10_000;
/** Unborrowed leases that ended, remembered so a late borrow is refused (the oldest go first). */
const MAX_ENDED_REMEMBERED = 65_536;
/** Live leases one connection may have lent at once: a bound on the server's memory. */
const MAX_LEASES_PER_CONNECTION = 100_000;

interface Lease {
  readonly key: string;
  readonly lender: ServerConnection;
  /** The holder owning the lease's references (one per id), shown as `lease:<lender>>N`. */
  readonly holder: string;
  readonly ids: readonly number[];
  borrower: ServerConnection | undefined;
}

/** What the lease part asks of the server around it. */
export interface LeaseHost {
  replay(connection: ServerConnection): void;
  refuse(connection: ServerConnection, reason: string, key?: string): void;
  /** These ids lost references (the cycle collector may look at them). */
  released(ids: readonly number[]): void;
}

/**
 * Borrowed references: how a task given to a pool thread uses the caller's proxies without a
 * handoff (no port, no claim).
 *
 * The caller `lend`s the ids of the task's proxies under a secret key: the lease takes one
 * reference per id (so a release by the caller during the task cannot dispose them) on the
 * caller's own connection, in order with its calls and releases. A pool thread that uses one
 * `borrow`s the lease on its connection, in order with its own calls: from then on it may call
 * those ids (least authority counts a borrowed lease like a reference). It `keep`s the ones it
 * retains or returns (a reference of its own), and gives the lease back (`unborrow`) when the
 * task ends; the lease's references go. A task that never used its proxies never borrowed:
 * the caller ends the lease (`unlend`) when the task settles. A borrower whose every use of
 * the lease was a call, all of them answered, may instead leave the end to the caller (the
 * server has read everything it sent under the lease): the caller's `unlend` then says
 * `returned`. Any other `unlend` of a borrowed lease is ignored (the borrower ends it; its
 * connection closing ends it too, R4); a lender that closes ends the leases nobody borrowed.
 *
 * A borrow may reach the server before its lease (they travel on different ports): the
 * borrowing connection pauses until the lease arrives, as a claim waits for its handoff.
 */
export class Leases {
  readonly #leases = new Map<string, Lease>();
  readonly #byLender = new Map<ServerConnection, Set<Lease>>();
  readonly #byBorrower = new Map<ServerConnection, Set<Lease>>();
  readonly #waiting = new Map<string, { borrower: ServerConnection; timer: NodeJS.Timeout }>();
  /** Keys of leases that ended unborrowed: a late borrow is refused, not waited for. */
  readonly #ended = new RecentKeys(MAX_ENDED_REMEMBERED);
  /** Keys of borrowed leases their lender ended as `returned`: the borrower's late unborrow is ignored. */
  readonly #returned = new RecentKeys(MAX_ENDED_REMEMBERED);
  #serial = 0;

  constructor(
    private readonly table: ObjectTable,
    private readonly host: LeaseHost,
  ) {}

  /** How many borrows wait for their lease. */
  get waiting(): number {
    return this.#waiting.size;
  }

  /** True when a lease with this key exists (lent, not ended). */
  has(key: string): boolean {
    return this.#leases.has(key);
  }

  lend(lender: ServerConnection, key: string, ids: readonly number[]): void {
    const mine = this.#byLender.get(lender);
    if (this.#leases.has(key) || this.#ended.has(key)) {
      return this.host.refuse(
        lender,
        'lend refused: the key is already in use (or a borrow of it gave up waiting)',
        key,
      );
    }
    if (mine !== undefined && mine.size >= MAX_LEASES_PER_CONNECTION) {
      return this.host.refuse(
        lender,
        `lend refused: this connection has ${MAX_LEASES_PER_CONNECTION} live leases`,
        key,
      );
    }
    const holder = `lease:${lender.holder}>${++this.#serial}`;
    const granted: number[] = [];
    for (const id of ids) {
      if (mayUse(this.table, lender, id)) {
        this.table.incref(id, holder, `lent by ${lender.holder}`, 1, 'handoff');
        granted.push(id);
      }
    }
    if (granted.length !== ids.length)
      this.host.refuse(lender, 'lend of ids this connection holds no reference to', key);
    const lease: Lease = { key, lender, holder, ids: granted, borrower: undefined };
    this.#leases.set(key, lease);
    if (mine === undefined) this.#byLender.set(lender, new Set([lease]));
    else mine.add(lease);
    const waiting = this.#waiting.get(key);
    if (waiting !== undefined) {
      clearTimeout(waiting.timer);
      this.#waiting.delete(key);
      this.#grant(lease, waiting.borrower);
      this.#resume(waiting.borrower);
    }
  }

  /**
   * The lender ends a lease: one nobody borrowed, or (`returned`) one whose borrower reported,
   * through the lender, that it is done with it (every call it made under it was answered).
   */
  unlend(lender: ServerConnection, key: string, returned = false): void {
    const lease = this.#leases.get(key);
    if (lease === undefined || lease.lender !== lender) return;
    if (lease.borrower === undefined) this.#end(lease, 'lease ended unborrowed');
    else if (returned) {
      this.#end(lease, 'lease returned through its lender');
      this.#returned.add(key);
    }
  }

  /**
   * A lend its lender withdrew from its log before this server read it (the task ended
   * without using it): no lease was made, and a late borrow of the key is refused at once.
   */
  withdrawn(key: string): void {
    if (typeof key !== 'string' || this.#leases.has(key)) return;
    this.#ended.add(key);
    const waiting = this.#waiting.get(key);
    if (waiting === undefined) return;
    clearTimeout(waiting.timer);
    this.#waiting.delete(key);
    this.#resume(waiting.borrower);
    this.host.refuse(waiting.borrower, 'borrow refused: the lease was withdrawn', key);
  }

  borrow(borrower: ServerConnection, key: string): void {
    const lease = this.#leases.get(key);
    if (lease !== undefined) {
      if (lease.borrower !== undefined) {
        return this.host.refuse(borrower, 'borrow refused: the lease is borrowed already', key);
      }
      return this.#grant(lease, borrower);
    }
    if (this.#ended.has(key) || this.#waiting.has(key)) {
      return this.host.refuse(borrower, 'borrow refused: no such lease', key);
    }
    // The lease is still on its way on the lender's port: wait for it.
    borrower.pause(key);
    const timer = setTimeout(() => {
      if (this.#waiting.get(key)?.borrower !== borrower) return;
      this.#waiting.delete(key);
      // A lend arriving after this is refused: it would make a lease nobody ends.
      this.#ended.add(key);
      this.#resume(borrower);
      this.host.refuse(borrower, `borrow refused: no lease came within ${BORROW_WAIT_MS} ms`, key);
    }, BORROW_WAIT_MS);
    timer.unref();
    this.#waiting.set(key, { borrower, timer });
  }

  unborrow(borrower: ServerConnection, key: string): void {
    const lease = this.#leases.get(key);
    // The lender ended it first (`returned`): this give-back has nothing left to do.
    if (lease === undefined && this.#returned.delete(key)) return;
    if (lease === undefined || lease.borrower !== borrower) {
      return this.host.refuse(borrower, 'unborrow refused: this connection did not borrow it', key);
    }
    this.#end(lease, 'lease given back');
  }

  keep(borrower: ServerConnection, key: string, id: number): void {
    const lease = this.#leases.get(key);
    if (lease === undefined || lease.borrower !== borrower || !lease.ids.includes(id)) {
      return this.host.refuse(
        borrower,
        `keep refused: id ${id} is not in a lease this connection borrowed`,
        key,
      );
    }
    this.table.incref(id, borrower.holder, `kept from ${lease.holder}`);
  }

  /** A connection closed: leases it borrowed end, leases it lent and nobody borrowed end. */
  closed(connection: ServerConnection): void {
    if (connection.waitingFor !== undefined) {
      const waiting = this.#waiting.get(connection.waitingFor);
      if (waiting?.borrower === connection) {
        clearTimeout(waiting.timer);
        this.#waiting.delete(connection.waitingFor);
      }
    }
    for (const lease of this.#byBorrower.get(connection) ?? [])
      this.#end(lease, `borrower closed: ${connection.holder}`);
    this.#byBorrower.delete(connection);
    for (const lease of this.#byLender.get(connection) ?? [])
      if (lease.borrower === undefined) this.#end(lease, `lender closed: ${connection.holder}`);
    this.#byLender.delete(connection);
  }

  #grant(lease: Lease, borrower: ServerConnection): void {
    lease.borrower = borrower;
    for (const id of lease.ids) borrower.grant(id, 1);
    const mine = this.#byBorrower.get(borrower);
    if (mine === undefined) this.#byBorrower.set(borrower, new Set([lease]));
    else mine.add(lease);
  }

  #end(lease: Lease, cause: string): void {
    this.#leases.delete(lease.key);
    this.#byLender.get(lease.lender)?.delete(lease);
    if (lease.borrower !== undefined) {
      for (const id of lease.ids) lease.borrower.grant(id, -1);
      this.#byBorrower.get(lease.borrower)?.delete(lease);
    } else {
      // A borrow still on its way will find the key ended.
      this.#ended.add(lease.key);
    }
    this.table.releaseHolder(lease.holder, cause);
    this.host.released(lease.ids);
  }

  #resume(borrower: ServerConnection): void {
    if (borrower.resume()) this.host.replay(borrower);
  }
}
