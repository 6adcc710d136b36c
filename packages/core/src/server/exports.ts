import { createManagerError, ErrorCode, type ObjectTable } from '@managers/refcount';
import type { Channel } from '../transport/channel';
import { newConnectionKey } from '../threads';
import { describeIds, mayUse } from './authority';
import type { ServerConnection } from './connection';
import type { Identities } from './identities';
import { LeaseChannel } from './lease-channel';
import { RecentKeys } from './remember';
import { DEFAULT_EXPORT_LEASE } from '../transport/limits';

/** Exported handoffs alive at once, at most (a bound on what clients can make the server keep). */
const MAX_EXPORTS = 16_384;
/** Of which one connection may have made at most this many (one client cannot take them all). */
const MAX_EXPORTS_PER_CONNECTION = 1024;
/** The longest lease an export may ask for: one day. */
const MAX_EXPORT_LEASE_MS = 86_400_000;

/** What the exports part asks of the server around it. */
export interface ExportHost {
  /** Tells a client something it asked for was refused (never a silent drop). */
  refuse(connection: ServerConnection, reason: string, key?: string): void;
  /** A handoff was registered under `key`: a claim waiting for it goes on. */
  registered(key: string): void;
  accept(
    channel: Channel,
    key: string,
    options: { owner: boolean; state: 'handoff'; madeBy: ServerConnection },
  ): ServerConnection | undefined;
  close(connection: ServerConnection): void;
}

/**
 * Exports (`exportProxy()`): a handoff with no port, for proxies leaving by a channel the
 * library does not see (another process's `process.send`, a file, a queue). The exporting
 * connection asks, in order with its calls and releases, for one in-flight reference per id;
 * the server keeps them under a fresh handoff holder, named by a secret key it returns. Any
 * authenticated connection that presents the key `claim`s them (the same claim as a thread's).
 * Unclaimed, they are released when the lease ends: a receiver that never came cannot leak.
 */
export class Exports {
  #live = 0;
  /**
   * Keys of exports claimed or expired, remembered (bounded) so that a second import is
   * refused at once rather than after a claim's wait for a handoff that will never come.
   */
  readonly #spent = new RecentKeys(MAX_EXPORTS);
  /** Live exports per connection that made them. */
  readonly #byMaker = new Map<ServerConnection, number>();

  /** True for the key of an export that was claimed already or whose lease ended. */
  isSpent(key: string): boolean {
    return this.#spent.has(key);
  }

  constructor(
    private readonly table: ObjectTable,
    private readonly identities: Identities,
    private readonly host: ExportHost,
  ) {}

  /** `#export`: takes the references under a new key; returns it, or throws a ManagerError naming what is wrong. */
  export(connection: ServerConnection, ids: unknown, lease: unknown): { key: string } {
    if (
      !Array.isArray(ids) ||
      ids.length === 0 ||
      !ids.every((id) => Number.isSafeInteger(id) && id > 0)
    ) {
      throw createManagerError(
        ErrorCode.BadMessage,
        '#export: ids must be a non-empty array of ids',
      );
    }
    if (typeof lease !== 'number' || !(lease > 0) || lease > MAX_EXPORT_LEASE_MS) {
      throw createManagerError(
        ErrorCode.InvalidOption,
        `options.lease must be a positive number of ms up to ${MAX_EXPORT_LEASE_MS}, got ${String(lease)}`,
        { details: { option: 'lease' } },
      );
    }
    const refused = (ids as number[]).filter((id) => !mayUse(this.table, connection, id));
    if (refused.length) {
      // Least authority: a connection exports only what it holds.
      throw createManagerError(
        ErrorCode.UnknownId,
        `cannot export id ${describeIds(refused)}: this connection holds no reference to it`,
        { details: { id: refused[0] } },
      );
    }
    if (this.#full(connection)) throw this.#tooMany(connection);
    const key = newConnectionKey();
    this.#register(connection, key, ids as number[], lease);
    return { key };
  }

  /**
   * `export {key, ids}`: the same under a key the client chose (a remote proxy sent on to a
   * thread: the sender posts it in order with its calls, with no round trip, and the thread
   * claims by key). Refused (with a `refused` message) when the key is in use; ids the
   * connection does not hold are refused, the others taken.
   */
  exportKeyed(connection: ServerConnection, key: string, ids: readonly number[]): void {
    if (this.identities.byKey(key) !== undefined || this.#spent.has(key)) {
      return this.host.refuse(connection, 'export refused: its key is already in use', key);
    }
    if (this.#full(connection))
      return this.host.refuse(connection, this.#tooMany(connection).message, key);
    const held: number[] = [];
    const refused: number[] = [];
    for (const id of ids) (mayUse(this.table, connection, id) ? held : refused).push(id);
    if (refused.length) {
      this.host.refuse(
        connection,
        `export of ids this connection holds no reference to: ${describeIds(refused)}`,
        key,
      );
    }
    this.#register(connection, key, held, DEFAULT_EXPORT_LEASE);
    this.host.registered(key);
  }

  #full(connection: ServerConnection): boolean {
    return (
      this.#live >= MAX_EXPORTS ||
      (this.#byMaker.get(connection) ?? 0) >= MAX_EXPORTS_PER_CONNECTION
    );
  }

  #tooMany(connection: ServerConnection) {
    const mine = (this.#byMaker.get(connection) ?? 0) >= MAX_EXPORTS_PER_CONNECTION;
    return createManagerError(
      ErrorCode.InvalidOption,
      mine
        ? `this connection has ${MAX_EXPORTS_PER_CONNECTION} exported proxies waiting to be imported: import or let some expire first`
        : `more than ${MAX_EXPORTS} exported proxies are waiting to be imported: import or let some expire first`,
    );
  }

  #register(
    connection: ServerConnection,
    key: string,
    ids: readonly number[],
    lease: number,
  ): void {
    const handoff = this.host.accept(new LeaseChannel(), key, {
      owner: false,
      state: 'handoff',
      madeBy: connection,
    });
    if (handoff === undefined) {
      throw createManagerError(ErrorCode.ManagerClosed, 'the manager is shutting down');
    }
    for (const id of ids)
      this.table.incref(id, handoff.holder, `exported by ${connection.holder}`, 1, 'handoff');
    this.#live++;
    this.#byMaker.set(connection, (this.#byMaker.get(connection) ?? 0) + 1);
    const timer = setTimeout(() => {
      this.table.traceReject(
        `export lease of ${lease} ms ended unclaimed: its references are released`,
        0,
        handoff.holder,
      );
      this.host.close(handoff);
    }, lease);
    timer.unref();
    (handoff.closeHooks ??= new Set()).add(() => {
      clearTimeout(timer);
      this.#live--;
      const made = (this.#byMaker.get(connection) ?? 1) - 1;
      if (made > 0) this.#byMaker.set(connection, made);
      else this.#byMaker.delete(connection);
      this.#spent.add(key);
    });
  }
}
