import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { TransferListItem } from '@managers/proxy';
import { clearTimer, setTimer, type Timer } from './timer';
import { isRemoteChannel, type Channel } from './transport/channel';
import { newConnectionKey } from './threads';
import { createManagerError, ErrorCode, type ManagerError } from '@managers/refcount';
import {
  BaseProxy,
  createAutoProxy,
  decodeValue,
  encodeValue,
  forEachEnvelope,
  PROXY_ENVELOPE_KEY,
  type CallOptions,
  type ProxyConnection,
  type ProxyEnvelope,
  type Token,
} from '@managers/proxy';
import { fromErrorEnvelope } from './error-envelope';
import { leaseOf } from './lease-registry';
import { DEFAULT_MAX_MESSAGE_SIZE, isLargerThan, messageTooLarge } from './message-size';
import { LendLogWriter, type DirectedTo } from './lend-log';
import { pendingReleases as threadPendingReleases } from './post-guard';
import { DirectTargets } from './direct-targets';
import type { Reply, WireToken } from './protocol';
import type { NetworkAddress } from './transport/address';
import type { RemoteSettings } from './remote';
import { knownProxyType, type ProxyType } from './registration';

const NO_TRANSFER: TransferListItem[] = [];
/** This thread's connections with releases not posted yet (see post-guard.ts). */
const pendingReleases = threadPendingReleases();
/** How long a deferred message (postDeferred) waits for another post to ride with. */
const DEFERRED_MS = 100;
/** Messages per batch at most (TOOLCHAIN.md: 64 per message, several in flight, is the fast shape). */
const MAX_BATCH = 64;
const NO_SUBJECT: Subject = {};

interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  /** Keeps the calling proxy reachable until the reply (R5). */
  readonly pin: object | undefined;
  /** What the call is about (a token, a typeid); words are only made when an error needs them. */
  readonly subject: Subject;
  readonly method: string | undefined;
  timer: Timer | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** A request's subject: the object's token for a call, the typeid for a create, nothing for a query. */
interface Subject {
  readonly typeid?: string;
  readonly id?: number;
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function describeSubject(subject: Subject, method: string | undefined): string {
  if (method === undefined) return `create '${subject.typeid}'`;
  return subject.typeid === undefined ? method : `${subject.typeid}.${method}()`;
}

function subjectDetails(subject: Subject, method: string | undefined): Record<string, unknown> {
  const details: Record<string, unknown> = {};
  if (subject.typeid !== undefined) details.typeid = subject.typeid;
  if (subject.id !== undefined) details.id = subject.id;
  if (method !== undefined) details.method = method;
  return details;
}

/** A protocol message on its way out. */
type OutgoingMessage = { rid?: number } & Record<string, unknown>;

/** Options of a {@link ClientConnection}. */
export interface ClientConnectionOptions {
  /** How this thread names itself to the server (`main`, `thread-3`). */
  readonly label: string;
  /** Default per-call timeout in ms (0: none). */
  readonly timeout: number;
  /** Arguments larger than this many bytes (estimated) are refused before they are sent (default 64 MiB). */
  readonly maxMessageSize?: number;
  /** Custom proxy classes by typeid (from the manager's registry), when this thread knows them. */
  readonly proxyTypes?: ReadonlyMap<string, ProxyType | undefined>;
  /** Decodes an envelope that arrived with a handoff key (a proxy inside a returned value sent by another thread). */
  readonly decodeHandoff?: (envelope: ProxyEnvelope) => unknown;
  /** Called once when the connection closes. */
  readonly onClose?: (connection: ClientConnection) => void;
  /**
   * Called when the port closes without `close()`: the promise of why (the owner waits for
   * its server worker's exit, so that a crash's error reaches every pending call as `cause`).
   */
  readonly whyClosed?: () => Promise<{ reason: string; cause?: unknown }>;
}

/**
 * One thread's connection to one manager's server: request ids, pending calls, timeouts,
 * AbortSignals, batched releases and calls. Closing it (or the server going away) rejects
 * every pending call with `ERR_MANAGER_CLOSED`.
 */
export class ClientConnection implements ProxyConnection {
  readonly managerId: string;
  /** The connection key the server knows this port by. */
  readonly key: string;
  readonly #port: Channel;
  /** True when the transport is a socket to another process (values only: no ports). */
  readonly remote: boolean;
  /** Where a remote connection dialed (for messages and exports). */
  address: NetworkAddress | undefined;
  /** How a remote connection was made: a thread this one hands a proxy to connects the same way. */
  remoteSettings: RemoteSettings | undefined;
  /** Managers of this thread made by `connect({ address })` that share this connection. */
  remoteUsers = 0;
  /**
   * True when a `connect({ address })` of this thread opened this connection: the last such
   * manager to disconnect closes it. A connection the thread had already (the owner's, or one
   * made for proxies it received) is shared by `connect()` but never closed by `disconnect()`.
   */
  openedByConnect = false;
  /** Claims waiting to know they were not refused (importProxy): key → reject. */
  readonly #claimWaiters = new Map<string, (error: unknown) => void>();
  readonly #pending = new Map<number, Pending>();
  readonly #options: ClientConnectionOptions;
  readonly #proxyTypes = new Map<string, ProxyType>();
  #nextRid = 1;
  /** Messages queued in this tick, posted together by the next flush. */
  #outMessages: OutgoingMessage[] = [];
  /** Their transferables, all together (one transfer list for the batch). */
  #outTransfer: TransferListItem[] = [];
  /** Per message index, its own transferables (only needed if the batch must be split). */
  #outTransfers: Map<number, TransferListItem[]> | undefined;
  #flushScheduled = false;
  #releases: number[] = [];
  #releaseWaiters: (() => void)[] = [];
  #closeError: ManagerError | undefined;
  /** Replies the server asked to confirm: delivered to their caller (`ok`), or not (`lost`). */
  #acks: number[] = [];
  #lostAcks: number[] = [];
  #ackScheduled = false;
  /**
   * The ports of handoffs this connection claimed: kept (not closed) until the server closes
   * them after the claim, since closing one first could drop its references before the claim
   * is read.
   */
  readonly #claimed = new Set<MessagePort>();
  /** Why the server refused this connection something, for the close reason. */
  #refusal: string | undefined;
  #referenced = false;
  readonly #closeListeners: ((reason: string, cause: unknown) => void)[] = [];
  readonly #flushTask = () => this.#flush();
  /** The fallback flush of messages posted with postDeferred() and no other post since. */
  #deferredTimer: NodeJS.Timeout | undefined;
  /** Set by the owner before it shuts the server down: the reason pending calls are given. */
  expectedCloseReason: string | undefined;
  /** The manager's name, for messages (its id until the name is known). */
  managerName: string | undefined;
  readonly #spares: { key: string; port: MessagePort }[] = [];
  /** Where this thread writes its lends (lend-log.ts), made on the first one. */
  #lendLog: LendLogWriter | undefined;
  /** How many messages this connection posted on its port (a lend log entry's place). */
  #posted = 0;
  #refilling = false;
  /** The places this thread posts proxies to, and who reads there (directed handoffs). */
  readonly targets = new DirectTargets();
  /** The last exposed list and methodToTypeid seen per typeid, shared by its proxies' tokens. */
  readonly #shapes = new Map<string, Pick<Token, 'exposed' | 'methodToTypeid'>>();

  constructor(port: Channel, managerId: string, key: string, options: ClientConnectionOptions) {
    this.#port = port;
    this.remote = isRemoteChannel(port);
    this.managerId = managerId;
    this.key = key;
    this.#options = options;
    if (options.proxyTypes) this.addProxyTypes(options.proxyTypes);
    port.on('message', (message: unknown) => this.#onMessage(message));
    port.on('close', () => {
      if (this.expectedCloseReason !== undefined) return this.close(this.expectedCloseReason);
      if (this.#refusal !== undefined)
        return this.close(`the server closed the connection: ${this.#refusal}`);
      if (options.whyClosed === undefined) return this.close('the server closed the connection');
      void options.whyClosed().then(({ reason, cause }) => this.close(reason, cause));
    });
    port.unref();
    port.start();
    this.#enqueue({ t: 'hello', label: options.label }, NO_TRANSFER);
  }

  /**
   * Throws `ERR_NOT_SUPPORTED` when this connection is a socket: `what` needs a MessagePort
   * (a handoff to a thread, a synchronous channel), which cannot cross a process.
   */
  requireLocal(what: string): void {
    if (!this.remote) return;
    throw createManagerError(
      ErrorCode.NotSupported,
      `${what} is not possible over a socket connection to manager ${this.managerName || this.managerId}: a MessagePort cannot cross a process (use exportProxy() and importProxy() to send a proxy on)`,
      { details: { manager: this.managerId } },
    );
  }

  /**
   * Exports references for another process (`exportProxy`): the server keeps one in-flight
   * reference per id under a secret key until a connection claims it or `lease` ms pass.
   */
  exportReferences(
    ids: readonly number[],
    lease: number,
  ): Promise<{ key: string; address: NetworkAddress | undefined }> {
    const message = { t: 'call', rid: 0, id: 0, method: '#export', args: undefined as unknown };
    return this.#request(
      message,
      [ids, lease],
      undefined,
      undefined,
      NO_SUBJECT,
      '#export',
    ) as Promise<{
      key: string;
      address: NetworkAddress | undefined;
    }>;
  }

  /**
   * Claims an exported handoff and resolves once the server has acted on the claim (a round
   * trip behind it on this connection); rejects if the server refused it (unknown key, lease
   * ended, claimed already).
   */
  async claimExport(key: string): Promise<void> {
    const refused = new Promise<never>((_, reject) => this.#claimWaiters.set(key, reject));
    refused.catch(() => undefined);
    this.post({ t: 'claim', key });
    try {
      await Promise.race([this.query('#count'), refused]);
    } finally {
      this.#claimWaiters.delete(key);
    }
  }

  get closed(): boolean {
    return this.#closeError !== undefined;
  }

  /** Creates an object of `typeid` on the server; resolves with a proxy owning the reference the server took (R2). */
  create(typeid: string, args: readonly unknown[], options?: CallOptions): Promise<unknown> {
    const message = { t: 'create', rid: 0, typeid, args: undefined as unknown };
    return this.#request(message, args, options, undefined, { typeid }, undefined);
  }

  call(
    proxy: object,
    token: Token,
    method: string,
    args: readonly unknown[],
    options?: CallOptions,
  ): Promise<unknown> {
    const message = { t: 'call', rid: 0, id: token.id, method, args: undefined as unknown };
    return this.#request(message, args, options, proxy, token, method);
  }

  /** A call on the server itself (`#inspect`, `#count`): no object involved. */
  query(method: string, options?: CallOptions): Promise<unknown> {
    const message = { t: 'call', rid: 0, id: 0, method, args: undefined as unknown };
    return this.#request(message, [], options, undefined, NO_SUBJECT, method);
  }

  release(id: number): void {
    if (this.closed) return;
    this.#releases.push(id);
    this.#scheduleReleases();
  }

  flushReleases(): Promise<void> {
    if (this.#releases.length === 0 || this.closed) return Promise.resolve();
    // Someone waits: the releases leave with this tick's flush, not at the end of the turn.
    this.#scheduleFlush();
    return new Promise((resolve) => this.#releaseWaiters.push(resolve));
  }

  /** Posts a raw protocol message (handoff, adopt) in order with the calls and releases of this thread. */
  post(message: Record<string, unknown>, transfer: TransferListItem[] = []): void {
    if (this.closed) throw this.#closeError;
    this.#enqueue(message, transfer);
  }

  /**
   * Posts a message nothing waits on (a lease ended or given back), in order with this
   * thread's calls and releases, but without a flush of its own: it leaves with whatever this
   * thread posts next, or on its own after DEFERRED_MS without another post. A caller settling
   * pool tasks sends its `unlend`s with its next `lend`, and a pool thread its give-back with its
   * next task's first call, instead of waking the server for each.
   */
  postDeferred(message: Record<string, unknown>): void {
    if (this.closed) return;
    this.#queueReleases();
    if (this.#outMessages.push(message as OutgoingMessage) >= MAX_BATCH) return this.#flush();
    if (this.#deferredTimer !== undefined) return;
    this.#deferredTimer = setTimeout(() => {
      this.#deferredTimer = undefined;
      if (!this.closed) this.#flush();
    }, DEFERRED_MS);
    this.#deferredTimer.unref();
  }

  /** Makes a proxy of this connection for a token whose reference this connection already holds. */
  /** Custom proxy classes by typeid, learned from a manager class (the owner's, or `connect()`'s). */
  addProxyTypes(proxyTypes: ReadonlyMap<string, ProxyType | undefined>): void {
    for (const [typeid, proxyType] of proxyTypes)
      if (proxyType !== undefined) this.#proxyTypes.set(typeid, proxyType);
  }

  /**
   * Takes the references of a received handoff (a second handoff port of a thread that has a
   * connection already) into this connection: a `claim` on this connection's own port, so it
   * is ordered with every later call and release of this thread and needs no confirmation.
   * The handoff's port is left open: the server closes it once the claim is done.
   */
  claim(key: string, port?: MessagePort, ids?: readonly number[]): void {
    // The ids of the proxies made from it: if the server refuses the claim, it ignores as many
    // releases of them from this connection (those proxies own nothing).
    this.post(
      ids === undefined || ids.length === 0 ? { t: 'claim', key } : { t: 'claim', key, ids },
    );
    if (port === undefined) return;
    this.#claimed.add(port);
    port.once('close', () => this.#claimed.delete(port));
    port.on('message', () => undefined);
    port.unref();
  }

  /**
   * A handoff connection for proxies about to be sent: its server end was registered ahead of
   * time (a `handoff` with no ids), so sending costs no new channel on the critical path. One
   * spare is kept ready; taking it schedules the next.
   */
  takeSpare(): { key: string; port: MessagePort } {
    const spare = this.#spares.pop() ?? this.#makeSpare();
    if (this.#spares.length === 0 && !this.#refilling) {
      this.#refilling = true;
      setImmediate(() => {
        this.#refilling = false;
        if (!this.closed && this.#spares.length === 0) this.#spares.push(this.#makeSpare());
      }).unref();
    }
    return spare;
  }

  #makeSpare(): { key: string; port: MessagePort } {
    const { port1, port2 } = new MessageChannel();
    const key = newConnectionKey();
    this.post({ t: 'spare', key, port: port1 }, [port1]);
    return { key, port: port2 };
  }

  /**
   * Lends `ids` under `key` for a task (loan.ts): written in this connection's lend log, which
   * reaches the server without waking it (lend-log.ts), or posted when it cannot be (a socket,
   * a full log). Returns the entry's place in the log, for {@link withdrawLend}, or -1 when it
   * was posted. Throws if the connection is closed.
   */
  lend(key: string, ids: readonly number[]): number {
    const place = this.#logged((log, after) => log.write(key, after, ids));
    if (place === -1) this.#enqueue({ t: 'lend', key, ids }, NO_TRANSFER);
    return place;
  }

  /**
   * Withdraws a lend written in the log at `place` (what {@link lend} returned) that the server
   * has not read: true when it is withdrawn (no lease was made: nothing to end), false when
   * the server read it (end the lease with an `unlend`).
   */
  withdrawLend(place: number): boolean {
    return place >= 0 && this.#lendLog !== undefined && this.#lendLog.cancel(place);
  }

  /**
   * Hands `ids` off under `key` to the connection `directed.to` reads with (a directed handoff,
   * handoff.ts): written in the lend log like a lend, so that a handoff wakes the server only
   * when its receiver claims it; posted when it cannot be. Throws if the connection is closed.
   */
  direct(key: string, ids: readonly number[], directed: DirectedTo): void {
    if (this.#logged((log, after) => (log.writeDirect(key, after, ids, directed) ? 0 : -1)) === -1)
      this.#enqueue({ t: 'direct', key, ids, to: directed.to, tag: directed.tag }, NO_TRANSFER);
  }

  /**
   * Writes an entry in the lend log: returns what `write` did, or -1 when it cannot be written
   * (a remote connection, a full log: then post the message instead). Throws if closed.
   */
  #logged(write: (log: LendLogWriter, after: number) => number): number {
    if (this.#closeError !== undefined) throw this.#closeError;
    if (!this.remote) {
      if (this.#lendLog === undefined) {
        this.#lendLog = new LendLogWriter();
        // At once, not with this tick's messages: a borrow (or claim) of the first entry
        // written there may reach the server before this thread posts anything else.
        this.postNow({ t: 'lendlog', buffer: this.#lendLog.buffer }, NO_TRANSFER);
      }
      // What this tick queued before the entry goes first (a claim of a proxy lent here, a
      // call): the entry's place is after it. Messages that wait for a later post (given back
      // leases, releases) may stay behind: a release placed after the entry only lowers what
      // this thread holds once the entry has taken its references.
      if (this.#flushScheduled) this.#flush();
      const place = write(this.#lendLog, this.#posted);
      if (place !== -1 && this.#lendLog.wantsReclaim())
        this.#enqueue({ t: 'reclaim' }, NO_TRANSFER);
      return place;
    }
    return -1;
  }

  /** Posts everything queued now, synchronously (a handoff must leave before its message does). */
  flushNow(): void {
    this.#flush();
  }

  // --- Hooks of synchronous calls (sync-channel.ts) ---

  /** The default per-call timeout in ms (0: none). */
  get timeout(): number {
    return this.#options.timeout;
  }

  /** A request id for a call whose reply comes back another way (a synchronous call). */
  newRid(): number {
    return this.#nextRid++;
  }

  /** Posts everything queued, then `message`, now; throws if `message` cannot be cloned. */
  postNow(message: Record<string, unknown>, transfer: readonly TransferListItem[]): void {
    if (this.#closeError !== undefined) throw this.#closeError;
    this.#flush();
    this.#postOnPort(message, transfer);
  }

  /** The value of a reply that came back another way (a proxy for a token); throws its error. */
  decodeReply(reply: Reply): unknown {
    if (reply.e !== undefined) throw fromErrorEnvelope(reply.e);
    if (reply.p !== undefined) return this.proxyFor(this.#token(reply.p));
    return decodeValue(reply.v, (envelope) =>
      envelope.key === undefined
        ? this.proxyFor(envelope.token)
        : this.#options.decodeHandoff!(envelope),
    );
  }

  proxyFor(token: Token, via: ProxyConnection = this): BaseProxy {
    const proxyType =
      this.#proxyTypes.get(token.typeid) ??
      (token.proxytype === undefined ? undefined : knownProxyType(token.typeid, token.proxytype));
    return proxyType === undefined ? createAutoProxy(token, via) : new proxyType(token, via);
  }

  /**
   * Closes the connection: every pending call rejects with `ERR_MANAGER_CLOSED` (with `cause`
   * when given, e.g. the error that crashed the server). Idempotent.
   */
  close(reason = 'the connection was closed', cause?: unknown): void {
    if (this.closed) return;
    this.#closeError = createManagerError(
      ErrorCode.ManagerClosed,
      `manager ${this.managerName || this.managerId} is closed: ${reason}`,
      { details: { manager: this.managerId }, ...(cause === undefined ? {} : { cause }) },
    );
    this.#flush();
    for (const pending of this.#pending.values()) this.#settle(pending, this.#closeError, false);
    this.#pending.clear();
    for (const resolve of this.#releaseWaiters.splice(0)) resolve();
    for (const spare of this.#spares.splice(0)) spare.port.close();
    for (const port of this.#claimed) port.close();
    this.#claimed.clear();
    this.#port.close();
    this.#options.onClose?.(this);
    for (const listener of this.#closeListeners.splice(0)) listener(reason, cause);
  }

  /** Calls `listener` once when this connection closes, with the reason (at once if closed). */
  onClosed(listener: (reason: string, cause: unknown) => void): void {
    if (this.closed) listener(this.#closeError?.message ?? 'closed', undefined);
    else this.#closeListeners.push(listener);
  }

  /**
   * Sends `message` (its `rid` and `args` filled in here) and resolves with the decoded reply.
   * `subject` is only turned into words when an error needs them: the hot path builds no
   * strings.
   */
  #request(
    message: { rid: number; args: unknown },
    args: readonly unknown[],
    options: CallOptions | undefined,
    pin: object | undefined,
    subject: Subject,
    method: string | undefined,
  ): Promise<unknown> {
    if (this.#closeError !== undefined) return Promise.reject(this.#closeError);
    const signal = options?.signal ?? undefined;
    if (signal?.aborted) {
      return Promise.reject(
        createManagerError(
          ErrorCode.Aborted,
          `${describeSubject(subject, method)} was aborted before it was sent`,
          {
            cause: signal.reason,
            details: subjectDetails(subject, method),
          },
        ),
      );
    }
    // Refused here rather than blocking both threads for seconds on a huge clone.
    const limit = this.#options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    if (args.length !== 0 && isLargerThan(args, limit)) {
      return Promise.reject(
        messageTooLarge(
          `the arguments of ${describeSubject(subject, method)} are`,
          limit,
          subjectDetails(subject, method),
        ),
      );
    }
    let transfer: TransferListItem[] = NO_TRANSFER;
    try {
      const list: TransferListItem[] = [];
      message.args = encodeValue(
        args,
        (proxy) => this.encodeProxy(proxy, describeSubject(subject, method)),
        list,
      );
      if (list.length) transfer = list;
    } catch (error) {
      return Promise.reject(error);
    }
    const rid = (message.rid = this.#nextRid++);
    return new Promise((resolve, reject) => {
      const pending: Pending = {
        resolve,
        reject,
        pin,
        subject,
        method,
        timer: undefined,
        signal,
        onAbort: undefined,
      };
      const timeout = options?.timeout ?? this.#options.timeout;
      if (timeout > 0) {
        pending.timer = setTimer(() => {
          if (this.#pending.delete(rid)) {
            this.#settle(
              pending,
              createManagerError(
                ErrorCode.Timeout,
                `${describeSubject(subject, method)} timed out after ${timeout} ms`,
                {
                  details: { ...subjectDetails(subject, method), timeout },
                },
              ),
              false,
            );
          }
        }, timeout);
      }
      if (signal !== undefined) {
        pending.onAbort = () => {
          if (this.#pending.delete(rid)) {
            this.#settle(
              pending,
              createManagerError(
                ErrorCode.Aborted,
                `${describeSubject(subject, method)} was aborted`,
                {
                  cause: signal.reason,
                  details: subjectDetails(subject, method),
                },
              ),
              false,
            );
          }
        };
        signal.addEventListener('abort', pending.onAbort, { once: true });
      }
      this.#pending.set(rid, pending);
      if (!this.#referenced) {
        this.#referenced = true;
        this.#port.ref();
      }
      this.#enqueue(message as unknown as OutgoingMessage, transfer);
    });
  }

  /** The envelope of a proxy passed as an argument to `what` (checks it can be). */
  encodeProxy(proxy: BaseProxy, what: string): ProxyEnvelope {
    const token = proxy.token;
    // A borrowed proxy passed as an argument: the server must know of the borrow first.
    leaseOf(proxy)?.ensureBorrowed();
    if (proxy.released) {
      throw createManagerError(
        ErrorCode.ProxyReleased,
        `cannot pass ${String(proxy)} to ${what}: the proxy was released`,
        { details: { typeid: token.typeid, id: token.id } },
      );
    }
    if (token.manager !== this.managerId) {
      throw createManagerError(
        ErrorCode.Unserializable,
        `cannot pass ${String(proxy)} to ${what}: it belongs to another manager`,
        { details: { typeid: token.typeid, id: token.id } },
      );
    }
    return { [PROXY_ENVELOPE_KEY]: 1, token };
  }

  #enqueue(message: OutgoingMessage, transfer: TransferListItem[]): void {
    // Releases queued before this message leave before it (program order): a call or query
    // made after `release(proxy)` must see the release done.
    this.#queueReleases();
    if (transfer.length) {
      (this.#outTransfers ??= new Map()).set(this.#outMessages.length, transfer);
      this.#outTransfer.push(...transfer);
    }
    // A full batch leaves at once, so the server works on it while this thread queues the
    // next: several batches in flight instead of one big one ping-ponging.
    if (this.#outMessages.push(message) >= MAX_BATCH) this.#flush();
    else this.#scheduleFlush();
  }

  /**
   * A confirmation leaves with the next message this thread sends, or after the current
   * macrotask: the code awaiting the value runs with it first (up to its next wait for I/O), so
   * a thread that dies in between has its item given back rather than confirmed unread.
   */
  #scheduleAck(): void {
    if (this.#ackScheduled) return;
    this.#ackScheduled = true;
    setImmediate(() => {
      this.#ackScheduled = false;
      if (this.#acks.length) this.#scheduleFlush();
    });
  }

  /**
   * Releases leave with this thread's next message to the manager, or before anything else
   * the thread posts (post-guard.ts), or at the end of this turn of its event loop (not in this
   * tick's microtasks): releases made over several ticks of one turn leave together, and a
   * thread told of a release by this thread's message sees it done.
   */
  #scheduleReleases(): void {
    // In the set: an end-of-turn flush is scheduled already. (A flush since then took this
    // connection out; the one scheduled then finds nothing, or what came after, to post.)
    if (pendingReleases.has(this)) return;
    pendingReleases.add(this);
    setImmediate(this.#releasesTask);
  }

  readonly #releasesTask = () => this.flushReleasesNow();

  /** Posts the releases made so far now (post-guard.ts, before another post of this thread). */
  flushReleasesNow(): void {
    pendingReleases.delete(this);
    // Releases may already sit in the queue (moved there by a call or a postDeferred).
    if ((this.#releases.length || this.#outMessages.length) && !this.closed) this.#flush();
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    queueMicrotask(this.#flushTask);
  }

  /**
   * Posts everything queued in this tick, in program order (releases made before a call go
   * before it), as one batch when there are several messages.
   */
  #flush(): void {
    this.#flushScheduled = false;
    pendingReleases.delete(this);
    this.#queueReleases();
    if (this.#acks.length || this.#lostAcks.length) {
      this.#outMessages.push({ t: 'ack', ok: this.#acks, lost: this.#lostAcks });
      this.#acks = [];
      this.#lostAcks = [];
    }
    const messages = this.#outMessages;
    if (messages.length === 0) return this.#releasesPosted();
    const transfer = this.#outTransfer;
    const transfers = this.#outTransfers;
    this.#outMessages = [];
    if (transfer.length) this.#outTransfer = [];
    this.#outTransfers = undefined;
    try {
      this.#postOnPort(messages.length === 1 ? messages[0] : { t: 'batch', m: messages }, transfer);
    } catch {
      messages.forEach((message, index) =>
        this.#postAlone(message, transfers?.get(index) ?? NO_TRANSFER),
      );
    }
    this.#releasesPosted();
  }

  /** Releases made so far leave before the next queued message (program order). */
  #queueReleases(): void {
    if (this.#releases.length === 0) return;
    this.#outMessages.push({ t: 'release', ids: this.#releases });
    this.#releases = [];
  }

  /** Every post on the port goes here, so that `#posted` (a lend log entry's place) counts it. */
  #postOnPort(message: unknown, transfer: readonly TransferListItem[]): void {
    this.#port.postMessage(message, transfer);
    this.#posted++;
  }

  #releasesPosted(): void {
    if (this.#releases.length === 0 && this.#releaseWaiters.length > 0)
      for (const resolve of this.#releaseWaiters.splice(0)) resolve();
  }

  #postAlone(message: OutgoingMessage, transfer: TransferListItem[]): void {
    try {
      this.#postOnPort(message, transfer);
    } catch (error) {
      const rid = message.rid;
      const pending = rid === undefined ? undefined : this.#pending.get(rid);
      if (rid !== undefined && pending !== undefined) {
        this.#pending.delete(rid);
        this.#settle(
          pending,
          createManagerError(
            ErrorCode.Unserializable,
            `an argument of ${describeSubject(pending.subject, pending.method)} could not be sent: ${(error as Error).message}`,
            { cause: error, details: subjectDetails(pending.subject, pending.method) },
          ),
          false,
        );
      }
    }
  }

  #onMessage(message: unknown): void {
    if (Array.isArray(message)) {
      for (const reply of message) this.#onReply(reply as Reply);
      return;
    }
    // Replies carry no `t`: one property read on the hot path tells them from the rest.
    const kind = (message as { t?: unknown }).t;
    if (kind === undefined) return this.#onReply(message as Reply);
    if (kind === 'refused') return this.#onRefused(message as { reason?: unknown; key?: unknown });
    if (kind === 'receiver') {
      const notice = message as { tag?: unknown; serial?: unknown };
      return this.targets.learn(notice.tag, notice.serial);
    }
    if (kind === 'closing') {
      const reason = (message as { reason?: unknown }).reason;
      this.expectedCloseReason ??= typeof reason === 'string' ? reason : 'the server closed';
    }
  }

  /** The server refused a spare, a handoff or a claim of this thread: say so, never silently. */
  #onRefused(message: { reason?: unknown; key?: unknown }): void {
    const reason = typeof message.reason === 'string' ? message.reason : 'refused';
    const waiter =
      typeof message.key === 'string' ? this.#claimWaiters.get(message.key) : undefined;
    if (waiter !== undefined) {
      // A refused import: its caller hears of it; the connection is fine.
      return waiter(
        createManagerError(ErrorCode.UnknownId, `the exported proxy cannot be imported: ${reason}`),
      );
    }
    this.#refusal = reason;
    process.emitWarning(`manager ${this.managerId}: ${reason}`, {
      code: 'MANAGERS_REFUSED',
    });
  }

  #onReply(reply: Reply): void {
    const pending = this.#pending.get(reply.rid);
    if (reply.a === 1) {
      // The server waits to know whether this value reached its caller (a queue's item).
      if (pending === undefined || reply.e !== undefined) {
        this.#lostAcks.push(reply.rid);
        this.#scheduleFlush();
      } else {
        this.#acks.push(reply.rid);
        this.#scheduleAck();
      }
    }
    if (pending === undefined) {
      // The call timed out or was aborted: give back any reference the server took for it.
      if (reply.p !== undefined) this.release(reply.p.id);
      if (reply.v !== undefined)
        forEachEnvelope(reply.v, (envelope) => this.release(envelope.token.id));
      return;
    }
    this.#pending.delete(reply.rid);
    if (reply.e !== undefined) return this.#settle(pending, fromErrorEnvelope(reply.e), false);
    if (reply.p !== undefined)
      return this.#settle(pending, this.proxyFor(this.#token(reply.p)), true);
    let value: unknown;
    try {
      value = decodeValue(reply.v, (envelope) =>
        envelope.key === undefined
          ? this.proxyFor(envelope.token)
          : this.#options.decodeHandoff!(envelope),
      );
    } catch (error) {
      return this.#settle(pending, error, false);
    }
    this.#settle(pending, value, true);
  }

  #token(wire: WireToken): Token {
    // Every reply carries the exposed list afresh: share one copy per typeid between proxies.
    let shape = this.#shapes.get(wire.typeid);
    if (shape === undefined || !sameNames(shape.exposed, wire.exposed)) {
      shape = {
        exposed: Object.freeze([...wire.exposed]),
        methodToTypeid: Object.freeze({ ...wire.methodToTypeid }),
      };
      this.#shapes.set(wire.typeid, shape);
    }
    const token: { -readonly [K in keyof Token]: Token[K] } = {
      manager: this.managerId,
      id: wire.id,
      typeid: wire.typeid,
      exposed: shape.exposed,
      methodToTypeid: shape.methodToTypeid,
    };
    if (wire.proxytype !== undefined) token.proxytype = wire.proxytype;
    return token;
  }

  #settle(pending: Pending, value: unknown, ok: boolean): void {
    clearTimer(pending.timer);
    if (pending.onAbort !== undefined)
      pending.signal!.removeEventListener('abort', pending.onAbort);
    if (this.#pending.size === 0 && this.#referenced) {
      this.#referenced = false;
      this.#port.unref();
    }
    if (ok) pending.resolve(value);
    else pending.reject(value);
  }
}
