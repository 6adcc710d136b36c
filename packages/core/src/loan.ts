/**
 * Borrowed references for tasks (Python's `manager_owned` idea, made safe): a task's proxies
 * are lent by the caller for the task's duration instead of handed off, so a pool thread that
 * has a connection to the manager uses them with no port, no claim and no reference of its
 * own. See docs/protocol.md, "Borrowed references".
 */
import type { MessagePort } from 'node:worker_threads';
import type { TransferListItem } from '@managers/proxy';
import { createManagerError, ErrorCode } from '@managers/refcount';
import {
  decodeValue,
  encodeValue,
  PROXY_ENVELOPE_KEY,
  toBaseProxy,
  watchCollection,
  type BaseProxy,
  type CallOptions,
  type ProxyConnection,
  type ProxyEnvelope,
  type Token,
} from '@managers/proxy';
import { ClientConnection } from './client-connection';
import { connectLater, type RemoteSettings } from './remote';
import {
  adoptPort,
  checkSendable,
  decode,
  discard,
  encode,
  ManagerHandle,
  sendingConnection,
} from './handoff';
import { leaseOf, leaseSymbol, type LeaseHandle } from './lease-registry';
import { connectionFor, newConnectionKey } from './threads';

/**
 * The envelope of a lent proxy: its token as JSON text, its lease key, and a spare port for a
 * thread with no connection. The token travels as text because a string is cheaper to clone
 * than the object (its exposed list, its method map) for both threads, and the borrowing
 * thread keeps one parsed token per text instead of one per task.
 */
interface LoanEnvelope {
  readonly [PROXY_ENVELOPE_KEY]: 1;
  readonly token: string;
  readonly lease: string;
  /** Set (with `port` or `remote`) by `Loan.addPorts()`, before the value is posted. */
  key?: string;
  port?: MessagePort;
  remote?: RemoteSettings;
}

/** The JSON text of each token lent from this thread (tokens live as long as their proxies). */
const tokenTexts = new WeakMap<Token, string>();

function tokenText(token: Token): string {
  let text = tokenTexts.get(token);
  if (text === undefined) tokenTexts.set(token, (text = JSON.stringify(token)));
  return text;
}

/** Tokens received in lent envelopes, by text: one frozen token per hosted object. */
const receivedTokens = new Map<string, Token>();
/** Past this many texts the memory starts again (a thread that borrows many objects). */
const MAX_RECEIVED_TOKENS = 1024;

/** The token a lent envelope carries as text (checked, frozen, and kept for the next task). */
function receivedToken(text: unknown): Token {
  if (typeof text !== 'string') throw badLentToken();
  let token = receivedTokens.get(text);
  if (token !== undefined) return token;
  let parsed: Partial<Record<keyof Token, unknown>>;
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch (error) {
    throw badLentToken(error);
  }
  const { manager, id, typeid, exposed, methodToTypeid, proxytype } = parsed ?? {};
  if (
    typeof manager !== 'string' ||
    !Number.isSafeInteger(id) ||
    typeof typeid !== 'string' ||
    !Array.isArray(exposed) ||
    !exposed.every((name) => typeof name === 'string') ||
    typeof methodToTypeid !== 'object' ||
    methodToTypeid === null ||
    !Object.values(methodToTypeid).every((name) => typeof name === 'string') ||
    (proxytype !== undefined && typeof proxytype !== 'string')
  ) {
    throw badLentToken();
  }
  token = Object.freeze({
    manager,
    id: id as number,
    typeid,
    exposed: Object.freeze(exposed as string[]),
    methodToTypeid: Object.freeze(methodToTypeid as Record<string, string>),
    ...(proxytype === undefined ? {} : { proxytype }),
  });
  if (receivedTokens.size >= MAX_RECEIVED_TOKENS) receivedTokens.clear();
  receivedTokens.set(text, token);
  return token;
}

function badLentToken(cause?: unknown): Error {
  return createManagerError(
    ErrorCode.BadMessage,
    'a lent proxy envelope carries no valid token (lend() makes one from a live proxy)',
    cause === undefined ? undefined : { cause },
  );
}

/** A value ready to be posted as a task whose proxies are lent, not handed off. */
export interface Loan<T = unknown> {
  readonly value: T;
  readonly transferList: TransferListItem[];
  /**
   * Ends the leases once the task settled: those nobody borrowed, and those its thread
   * `returned` (see `Borrowed.handBack()`). The ones it reported as `borrowed` end when that
   * thread gives them back.
   */
  end(borrowed?: readonly string[], returned?: readonly string[]): void;
  /** The same, given the task thread's {@link LeaseReport} as `handBack()` made it. */
  end(report: LeaseReport): void;
  /**
   * Adds to the loan's envelopes, in place, a connection for a receiving thread that may have
   * none: per manager for which `needs(managerId)` is true (and that has none yet), a spare
   * port (or, for a manager in another process, its address). Returns the ports, which must go
   * in the transfer list of the message that carries {@link Loan.value}. For a sender that
   * learns which thread gets the value only when it posts it (a pool's load balancer): before
   * the value is posted, never after. A closed connection gets nothing (the receiver then
   * fails the task with `ERR_NOT_CONNECTED`, as it does for a missing port).
   */
  addPorts(needs: (managerId: string) => boolean): TransferListItem[];
}

/** Options of {@link lend}. */
export interface LendOptions {
  /**
   * Whether to add, per manager, a port that a receiving thread with no connection to it makes
   * its connection (true: always; a function: asked per manager id). Default false.
   */
  readonly ports?: boolean | ((managerId: string) => boolean);
}

/**
 * Prepares `value` (a task) for another thread, lending its proxies: per manager, one `lend`
 * on this thread's connection takes a reference per proxy for the lease (so a release by this
 * thread during the task cannot dispose them), in order with this thread's calls and releases.
 * Values that carry manager handles are encoded with {@link encode} instead (handles need ports).
 */
export function lend<T>(value: T, options: LendOptions = {}): Loan<T> {
  // Most tasks lend the proxies of one manager: an array searched in place, not a Map.
  const leases: Lease[] = [];
  let hasHandle = false;
  const transferList: TransferListItem[] = [];
  const encoded = encodeValue(
    value,
    (proxy: BaseProxy): ProxyEnvelope => {
      checkSendable(proxy);
      const managerId = proxy.token.manager;
      let lease: Lease | undefined;
      for (const each of leases) if (each.managerId === managerId) lease = each;
      if (lease === undefined) {
        const connection = sendingConnection(managerId, proxy);
        lease = {
          managerId,
          key: newConnectionKey(),
          ids: [],
          envelopes: [],
          connection,
          place: -1,
          connects: false,
        };
        leases.push(lease);
      }
      lease.ids.push(proxy.token.id);
      const envelope: LoanEnvelope = {
        [PROXY_ENVELOPE_KEY]: 1,
        token: tokenText(proxy.token),
        lease: lease.key,
      };
      lease.envelopes.push(envelope);
      return envelope as unknown as ProxyEnvelope;
    },
    transferList,
    (custom) => {
      if (custom instanceof ManagerHandle) hasHandle = true;
      return null;
    },
  );
  if (leases.length === 0 && !hasHandle) {
    // Nothing to lend (no proxy in the value): nothing to end either.
    return { value: encoded as T, transferList, end: endNothing, addPorts: noPorts };
  }
  if (hasHandle) {
    const handedOff = encode(value);
    return {
      value: handedOff.value,
      transferList: handedOff.transferList,
      // Ports that left are detached (closing them does nothing); the others give back.
      end: () => discard(handedOff),
      // A handoff carries a port per manager already.
      addPorts: noPorts,
    };
  }
  for (const lease of leases) lease.place = lease.connection.lend(lease.key, lease.ids);
  /** Spare ports given to the envelopes, closed at the end if they never left. */
  let spares: MessagePort[] | undefined;
  let ended = false;
  const addPorts = (needs: (managerId: string) => boolean): TransferListItem[] => {
    const ports: TransferListItem[] = [];
    if (ended) return ports;
    for (const lease of leases) {
      if (lease.connects || lease.connection.closed || !needs(lease.managerId)) continue;
      lease.connects = true;
      const remote = lease.connection.remoteSettings;
      if (remote !== undefined) {
        // A remote manager: no port reaches it; the receiver connects as this thread did.
        for (const envelope of lease.envelopes) envelope.remote = remote;
        continue;
      }
      // A connection for a receiver that has none: a spare funded with no ids.
      const spare = lease.connection.takeSpare();
      lease.connection.post({ t: 'handoff', key: spare.key, ids: [] });
      (spares ??= []).push(spare.port);
      for (const envelope of lease.envelopes) {
        envelope.key = spare.key;
        envelope.port = spare.port;
      }
      ports.push(spare.port);
    }
    return ports;
  };
  const wantsPort = options.ports ?? false;
  if (wantsPort !== false) {
    transferList.push(...addPorts(wantsPort === true ? everyManager : wantsPort));
  }
  return {
    value: encoded as T,
    transferList,
    addPorts,
    end(borrowedOrReport?: readonly string[] | LeaseReport, returnedKeys?: readonly string[]) {
      if (ended) return;
      ended = true;
      const { borrowed = NO_KEYS, returned = NO_KEYS } = isLeaseReport(borrowedOrReport)
        ? borrowedOrReport
        : { borrowed: borrowedOrReport, returned: returnedKeys };
      // A port that left with the task is detached: closing it does nothing.
      if (spares !== undefined) for (const port of spares) port.close();
      for (const lease of leases) {
        if (lease.connection.closed || borrowed.includes(lease.key)) continue;
        // A lease nobody used, still unread in the lend log, is withdrawn there: the server
        // never makes it, so there is nothing to end (no message, no wake-up).
        if (!returned.includes(lease.key) && lease.connection.withdrawLend(lease.place)) continue;
        lease.connection.postDeferred(
          returned.includes(lease.key)
            ? { t: 'unlend', key: lease.key, returned: true }
            : { t: 'unlend', key: lease.key },
        );
      }
    },
  };
}

/** One manager's part of a loan: its lease key, the ids lent, and its place in the lend log. */
interface Lease {
  readonly managerId: string;
  readonly key: string;
  readonly ids: number[];
  /** The envelopes of its proxies in the lent value (a port is added to them all). */
  readonly envelopes: LoanEnvelope[];
  readonly connection: ClientConnection;
  place: number;
  /** True once its envelopes carry a way to connect (a spare port, or a remote address). */
  connects: boolean;
}

const NO_KEYS: readonly string[] = Object.freeze([]);

function endNothing(): void {}

function noPorts(): TransferListItem[] {
  return [];
}

function everyManager(): boolean {
  return true;
}

function isLeaseReport(value: unknown): value is LeaseReport {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The proxies of one lease in the borrowing thread: calls go through this thread's connection. */
class LeaseConnection implements ProxyConnection, LeaseHandle {
  /** What leaseOf() recognises a lease's proxies by. */
  readonly [leaseSymbol] = true;
  /** Its proxies own no reference: no finalizer unless one is kept (keepBorrowed). */
  readonly ownsReferences = false;
  #borrowed = false;
  /** References kept from this lease (a retained or returned proxy), per id. */
  #kept: Map<number, number> | undefined;
  /** Calls made through this lease not settled yet. */
  #unsettled = 0;
  /** A call through this lease was answered with a value (so the server has read the borrow). */
  #answered = false;
  /**
   * False once the lease was used other than by its own calls (a keep, a proxy sent on or passed
   * as an argument, a synchronous call): only this thread can then tell when the server is done
   * with it, so it gives the lease back itself.
   */
  #onlyCalls = true;

  constructor(
    readonly connection: ClientConnection,
    readonly key: string,
  ) {}

  get managerId(): string {
    return this.connection.managerId;
  }

  get closed(): boolean {
    return this.connection.closed;
  }

  get borrowed(): boolean {
    return this.#borrowed;
  }

  /** Before a use other than a call of this lease (see `#onlyCalls`). */
  ensureBorrowed(): void {
    this.#onlyCalls = false;
    this.#borrow();
  }

  #borrow(): void {
    if (this.#borrowed || this.connection.closed) return;
    this.#borrowed = true;
    this.connection.post({ t: 'borrow', key: this.key });
  }

  keep(id: number): void {
    this.ensureBorrowed();
    if (this.connection.closed) return;
    this.connection.post({ t: 'keep', key: this.key, id });
    const kept = (this.#kept ??= new Map());
    kept.set(id, (kept.get(id) ?? 0) + 1);
  }

  call(
    proxy: object,
    token: Token,
    method: string,
    args: readonly unknown[],
    options?: CallOptions,
  ): Promise<unknown> {
    this.#borrow();
    const reply = this.connection.call(proxy, token, method, args, options);
    this.#unsettled++;
    // Watched on the side: the caller gets the promise that BaseProxy chains on `reply`, so a
    // rejection it leaves unhandled is still reported.
    reply.then(
      () => this.#settled(true),
      () => this.#settled(false),
    );
    return reply;
  }

  // Made per call, not per lease: most leases (a task that does not call) never need them.
  #settled(answered: boolean): void {
    this.#unsettled--;
    if (answered) this.#answered = true;
  }

  /** A borrowed proxy owns no reference: releasing it is local, unless it was kept. */
  release(id: number): void {
    const kept = this.#kept?.get(id);
    if (kept === undefined) return;
    if (kept === 1) this.#kept!.delete(id);
    else this.#kept!.set(id, kept - 1);
    this.connection.release(id);
  }

  flushReleases(): Promise<void> {
    return this.connection.flushReleases();
  }

  /**
   * The task ended: gives the lease back if it was borrowed (`'borrowed'`), or, with
   * `handBack`, leaves its end to the lender (`'returned'`) when the server is known to be done
   * with it: it was used only by calls, every one has settled, and one was answered with a
   * value (the server read the borrow before it). The lender's `unlend` then ends it, and this
   * thread's own give-back rides with its next message instead of waking the server now.
   */
  finish(handBack = false): 'borrowed' | 'returned' | 'unused' {
    if (!this.#borrowed) return 'unused';
    if (handBack && this.#onlyCalls && this.#unsettled === 0 && this.#answered) {
      // Given back here too, but not at once (postDeferred): with this thread's next message
      // (a later task's first call) or after 100 ms idle. Whichever of it and the lender's
      // `unlend` reaches the server first ends the lease; the other is ignored. This one
      // matters when the lender's connection closed before it could send its `unlend`.
      this.connection.postDeferred({ t: 'unborrow', key: this.key });
      return 'returned';
    }
    if (!this.connection.closed) this.connection.post({ t: 'unborrow', key: this.key });
    return 'borrowed';
  }
}

/** What a task's thread did with the leases of a task it {@link borrow}ed. */
export interface LeaseReport {
  /** Leases it borrowed and gave back itself. */
  readonly borrowed: string[];
  /** Leases it borrowed and left to the lender to end (`loan.end(borrowed, returned)`). */
  readonly returned: string[];
}

/** A task received with {@link borrow}: its value, and what to do when the task ends. */
export interface Borrowed<T> {
  readonly value: T;
  /** Gives back the leases the task borrowed; returns their keys (to report to the lender). */
  finish(): string[];
  /**
   * Like `finish()`, except that a lease the server is known to be done with (used only by
   * calls, all settled) is left to the lender to end: one message fewer for this thread. Both
   * lists go back to the lender, whose `loan.end(borrowed, returned)` ends the returned ones.
   */
  handBack(): LeaseReport;
}

/**
 * Turns a value made by {@link lend} back into live objects: lent proxies become proxies that
 * use this thread's connection to their manager under the lease (the first use posts the
 * borrow). A thread with no connection makes one from the port the lender added, or fails with
 * `ERR_NOT_CONNECTED` (the pool then sends the task again with a port). Envelopes of a plain
 * handoff are decoded as {@link decode} does.
 */
export function borrow<T = unknown>(value: unknown): Borrowed<T> {
  // lend() lends every proxy of a value or hands them all off (a value with handles). So the
  // first envelope met decides: a lent proxy, or else the value is decoded as a whole, so that
  // its envelopes share their handoffs. One walk: a value with no envelope comes back as it is.
  const leases = new Map<string, LeaseConnection>();
  let decoded: T;
  try {
    decoded = decodeValue(value, (envelope) => lentProxy(envelope, leases)) as T;
  } catch (error) {
    if (error !== HANDED_OFF) throw error;
    return { value: decode<T>(value), finish: finishNothing, handBack: handBackNothing };
  }
  if (leases.size === 0)
    return { value: decoded, finish: finishNothing, handBack: handBackNothing };
  const finish = (handBack: boolean): LeaseReport => {
    const report: LeaseReport = { borrowed: [], returned: [] };
    for (const [key, leaseConnection] of leases) {
      const outcome = leaseConnection.finish(handBack);
      if (outcome !== 'unused') report[outcome].push(key);
    }
    return report;
  };
  return {
    value: decoded,
    finish: () => finish(false).borrowed,
    handBack: () => finish(true),
  };
}

/** Thrown by {@link lentProxy} at a first envelope that is not lent: the value is handed off whole. */
const HANDED_OFF = Symbol('handed off');

function finishNothing(): string[] {
  return [];
}

function handBackNothing(): LeaseReport {
  return { borrowed: [], returned: [] };
}

/** The proxy a lent envelope becomes, under its lease (made on first use, kept in `leases`). */
function lentProxy(received: ProxyEnvelope, leases: Map<string, LeaseConnection>): BaseProxy {
  const envelope = received as unknown as Partial<LoanEnvelope>;
  const lease = envelope.lease;
  if (typeof lease !== 'string') {
    if (leases.size === 0) throw HANDED_OFF;
    throw createManagerError(
      ErrorCode.BadMessage,
      'a value mixes lent proxies with other envelopes: lend() never makes one',
    );
  }
  const token = receivedToken(envelope.token);
  const managerId = token.manager;
  let leaseConnection = leases.get(lease);
  if (leaseConnection === undefined) {
    let connection = connectionFor(managerId);
    const remote = envelope.remote;
    if (connection === undefined && remote !== undefined) {
      // A remote manager's lease: connect as the lender did (calls wait for the socket).
      connection = connectLater(managerId, remote);
    } else if (
      connection === undefined &&
      envelope.port !== undefined &&
      envelope.key !== undefined
    ) {
      connection = adoptPort(envelope.port, managerId, envelope.key);
    } else if (envelope.port !== undefined && connection?.key !== envelope.key) {
      // This thread has a connection: the spare is not needed (the server closes it).
      envelope.port.close();
    }
    if (connection === undefined) {
      throw createManagerError(
        ErrorCode.NotConnected,
        `a lent proxy (${token.typeid} id ${token.id}) reached a thread with no connection to its manager`,
        { details: { manager: managerId } },
      );
    }
    leaseConnection = new LeaseConnection(connection, lease);
    leases.set(lease, leaseConnection);
  } else if (envelope.port !== undefined && leaseConnection.connection.key !== envelope.key) {
    envelope.port.close();
  }
  return leaseConnection.connection.proxyFor(token, leaseConnection);
}

/**
 * Keeps a borrowed proxy past the end of its task: this thread takes a reference of its own
 * (the proxy then releases it as any proxy does). Does nothing for a proxy that owns one, one
 * kept already, or one released.
 */
export function keepBorrowed(proxy: object): void {
  const lease = leaseOf(proxy);
  if (lease === undefined) return;
  const target = toBaseProxy(proxy);
  // Watched from now on, it gives the reference back when collected unreleased. Not for one
  // kept already (a second keep would take a second reference) or released (nothing would
  // give it back).
  if (watchCollection(target)) lease.keep(target.token.id);
}
