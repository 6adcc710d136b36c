import { MessagePort, parentPort, Worker, type WorkerOptions } from 'node:worker_threads';
import type { TransferListItem } from '@managers/proxy';
import { createManagerError, ErrorCode } from '@managers/refcount';
import { inspect } from 'node:util';
import {
  connectionOf,
  decodeValue,
  encodableSymbol,
  encodeValue,
  HANDLE_ENVELOPE_KEY,
  PROXY_ENVELOPE_KEY,
  type BaseProxy,
  type ProxyEnvelope,
} from '@managers/proxy';
import { ClientConnection } from './client-connection';
import { connectLater, type RemoteSettings } from './remote';
import { leaseOf } from './lease-registry';
import type { DirectTarget } from './direct-targets';
import {
  connectionFor,
  forgetConnection,
  newConnectionKey,
  setConnection,
  threadLabel,
} from './threads';
import { userWorkerStart } from './worker-file';
import { validateOptions } from './options';

/**
 * A manager handle: sent to another thread (inside any value given to {@link encode}), it
 * lets that thread connect to the running manager, as Python's `connect()` does. Get one with
 * `manager.handle()`; in the receiving thread, `decode()` gives it back and
 * `MyManager.connect(handle)` makes a manager that can create objects (but not shut down).
 */
export class ManagerHandle {
  readonly [encodableSymbol] = true;

  constructor(
    /** The manager's unique id. */
    readonly managerId: string,
    /** The manager's name. */
    readonly name: string,
  ) {}

  toString(): string {
    return `<ManagerHandle ${this.name} ${this.managerId}>`;
  }
}

interface HandleEnvelope {
  readonly [HANDLE_ENVELOPE_KEY]: 1;
  readonly managerId: string;
  readonly name: string;
  readonly key: string;
  readonly port?: MessagePort;
  readonly remote?: RemoteSettings;
  readonly direct?: 1;
}

/**
 * A handoff of a remote manager's proxy (its connection is a socket): no port, but how to
 * connect. The receiving thread connects with these settings (unless it has a connection) and
 * claims the export by key.
 */
interface RemoteHandoff {
  readonly key: string;
  readonly remote?: RemoteSettings;
  readonly port?: MessagePort;
  /** 1: a directed handoff (no port): the receiving thread has a connection and claims by key. */
  readonly direct?: 1;
}

/**
 * Marks the handoff ports `encode()` put in transfer lists (to tell them from the caller's own
 * ports). A mark on the object, not a WeakSet: a WeakSet entry per handoff costs the garbage
 * collector about 0.3 µs, more than the mark by twenty times (the same for the two below).
 */
const handoffPortMark = Symbol('@managers/core/handoff-port');

/**
 * The checks every way of sending a proxy makes (a handoff, a loan): it is not released, and if
 * this thread borrowed it, the server hears of the borrow before the proxy's id is sent on.
 */
export function checkSendable(proxy: BaseProxy): void {
  if (proxy.released) {
    const connection = connectionOf(proxy);
    if (connection instanceof ClientConnection && connection.closed) {
      // Released because its manager closed: say so, as a call on it would.
      throw createManagerError(
        ErrorCode.ManagerClosed,
        `cannot send ${String(proxy)}: manager ${connection.managerName || connection.managerId} is closed`,
        { details: { typeid: proxy.token.typeid, id: proxy.token.id } },
      );
    }
    throw createManagerError(
      ErrorCode.ProxyReleased,
      `cannot send ${String(proxy)}: the proxy was released`,
      { details: { typeid: proxy.token.typeid, id: proxy.token.id } },
    );
  }
  leaseOf(proxy)?.ensureBorrowed();
}

/**
 * This thread's connection to `managerId`, to send `what` (a proxy or a handle) through. `what`
 * is only described (`String()`) when there is none: a description costs as much as the send.
 */
export function sendingConnection(managerId: string, what: object): ClientConnection {
  const connection = connectionFor(managerId);
  if (connection === undefined) {
    throw createManagerError(
      ErrorCode.ManagerClosed,
      `cannot send ${String(what)}: this thread has no open connection to its manager (${managerId})`,
      { details: { manager: managerId } },
    );
  }
  return connection;
}

/** A value ready for `postMessage`: the value to post and its transfer list. */
export interface Encoded<T = unknown> {
  readonly value: T;
  readonly transferList: TransferListItem[];
}

/** Options of {@link encode}. */
export interface EncodeOptions {
  /**
   * Where the value will be posted (what `postMessage(target, value)` passes). For a Worker,
   * or this thread's `parentPort`, the first handoff there carries a port; once the manager
   * has said which of its connections reads there, later ones carry none (directed handoffs:
   * cheaper, same guarantees). Any other target changes nothing: a MessagePort can be moved to
   * another thread or closed, so proxies posted on one always carry a port. Give it only if
   * the value is posted there.
   */
  readonly target?: object;
}

/** The directed handoffs of an encoded value: how {@link discard} gives their references back. */
const directedMark = Symbol('@managers/core/directed');

/** The directed handoffs recorded on an encoded value (see {@link discard}). */
interface WithDirected {
  readonly [directedMark]?: { connection: ClientConnection; key: string }[];
}

/**
 * Prepares `value` to be posted to another thread: every proxy (and manager handle) inside it
 * is handed off. For each manager involved, the reference of every proxy in flight is taken
 * *before* the message leaves (R3): a `handoff` request goes out on this thread's own
 * connection, in order with its calls and releases, so a release by the sender that follows
 * can never overtake it. The references belong to a fresh connection whose port travels in
 * the message; the receiver adopts them with {@link decode}. If the message is never read
 * (the receiver died), that port closes and the server drops the references.
 *
 * MessagePorts and buffers marked with `transfer()` go to the transfer list too.
 */
export function encode<T>(value: T, options?: EncodeOptions): Encoded<T> {
  const target = options?.target;
  if (options !== undefined) {
    validateOptions(options, ENCODE_OPTIONS, 'encode(value, options): ');
  }
  if (target !== undefined && (typeof target !== 'object' || target === null)) {
    throw createManagerError(
      ErrorCode.InvalidOption,
      'options.target must be the Worker or port the value will be posted on',
      { details: { option: 'target' } },
    );
  }
  return encodeFor(
    value,
    target === undefined || !isFixedPlace(target)
      ? undefined
      : (connection) => connection.targets.of(target),
  );
}

/**
 * True for a place whose messages one known thread reads for as long as it lives: a Worker
 * (its thread), or this thread's `parentPort` (its parent). Directed handoffs go only there:
 * any other MessagePort may be moved to another thread, closed, or never read, and then only a
 * port in the message (closed with it) lets the server know.
 */
function isFixedPlace(target: object): boolean {
  return target instanceof Worker || (parentPort !== null && target === parentPort);
}

interface Handoff {
  key: string;
  port: MessagePort | undefined;
  remote: RemoteSettings | undefined;
  /** A directed handoff's receiver and target tag. */
  direct: { to: number; tag: number } | undefined;
  ids: number[];
  connection: ClientConnection;
}

/** What an envelope carries for its receiver to take the handoff up: a port, connection settings, or nothing but the key (directed). */
function howToTakeUp(
  handoff: Handoff,
): { port: MessagePort } | { remote: RemoteSettings } | { direct: 1 } {
  if (handoff.direct !== undefined) return { direct: 1 };
  return handoff.remote === undefined ? { port: handoff.port! } : { remote: handoff.remote };
}

/** {@link encode}, with the place the value goes to as each connection knows it (if known). */
function encodeFor<T>(
  value: T,
  targetOf: ((connection: ClientConnection) => DirectTarget) | undefined,
): Encoded<T> {
  // A number, a string, null: nothing to hand off (most results of tasks).
  if (typeof value !== 'object' || value === null) return { value, transferList: [] };
  const transferList: TransferListItem[] = [];
  const handoffs = new Map<string, Handoff>();
  const handoffFor = (managerId: string, what: object) => {
    let handoff = handoffs.get(managerId);
    if (handoff !== undefined) return handoff;
    const connection = sendingConnection(managerId, what);
    const remote = connection.remoteSettings;
    const target = remote === undefined ? targetOf?.(connection) : undefined;
    handoff = { key: '', port: undefined, remote, direct: undefined, ids: [], connection };
    if (remote !== undefined) {
      // A remote manager: no port can reach its server. The references are exported under a
      // key (on this thread's socket, in order with its calls: R3), and the receiver connects
      // with the same settings and claims them.
      handoff.key = newConnectionKey();
      connection.post({ t: 'export', key: handoff.key, ids: handoff.ids });
    } else if (target?.receiver !== undefined) {
      // The connection that reads this place is known: no port. The reference is taken on
      // this thread's own connection, in order with its calls and releases (R3), for that
      // receiver, which claims it by key; if it dies first, the server drops it. The request
      // is written at the end, once its ids are all known, in the lend log: the server reads
      // it when the receiver's claim names its key, so a handoff does not wake the server.
      handoff.key = newConnectionKey();
      handoff.direct = { to: target.receiver, tag: target.tag };
    } else {
      // A spare connection registered ahead of time: the reference is taken by a request on
      // this thread's own connection, in order with its calls and releases (R3). Tagged
      // with the place it goes to, the server says who takes it up.
      const spare = connection.takeSpare();
      handoff.key = spare.key;
      handoff.port = spare.port;
      connection.post({
        t: 'handoff',
        key: spare.key,
        ids: handoff.ids,
        ...(target === undefined ? {} : { tag: target.tag }),
      });
      transferList.push(spare.port);
      (spare.port as unknown as Record<symbol, boolean>)[handoffPortMark] = true;
    }
    handoffs.set(managerId, handoff);
    return handoff;
  };
  let encoded: unknown;
  try {
    encoded = encodeValue(
      value,
      (proxy: BaseProxy): ProxyEnvelope => {
        checkSendable(proxy);
        const handoff = handoffFor(proxy.token.manager, proxy);
        // The handoff request was queued, not yet posted: ids added now still go with it.
        handoff.ids.push(proxy.token.id);
        return {
          [PROXY_ENVELOPE_KEY]: 1,
          token: proxy.token,
          key: handoff.key,
          ...howToTakeUp(handoff),
        } as ProxyEnvelope;
      },
      transferList,
      (custom) => {
        if (!(custom instanceof ManagerHandle)) {
          throw createManagerError(ErrorCode.Unserializable, `cannot send ${String(custom)}`);
        }
        const handoff = handoffFor(custom.managerId, custom);
        const envelope: HandleEnvelope = {
          [HANDLE_ENVELOPE_KEY]: 1,
          managerId: custom.managerId,
          name: custom.name,
          key: handoff.key,
          ...howToTakeUp(handoff),
        };
        return envelope;
      },
    );
  } catch (error) {
    // Nothing was posted yet (requests wait for the flush): drop the handoffs.
    for (const handoff of handoffs.values()) {
      handoff.ids.length = 0;
      handoff.port?.close();
    }
    throw error;
  }
  // Post (or log) the handoff requests now, before the caller can post the message, so that
  // the server holds the references even if this thread dies right after sending (its log is
  // read when its connection closes).
  const directed: { connection: ClientConnection; key: string }[] = [];
  for (const handoff of handoffs.values()) {
    const { connection, direct } = handoff;
    if (direct !== undefined) {
      connection.direct(handoff.key, handoff.ids, direct);
      directed.push(handoff);
    }
    connection.flushNow();
  }
  const result: Encoded<T> = { value: encoded as T, transferList };
  // Not enumerable: a spread copy of the result does not carry them.
  if (directed.length) Object.defineProperty(result, directedMark, { value: directed });
  return result;
}

/** Marks an envelope decoded (its own object, in the thread that received it). */
const decodedMark = Symbol('@managers/core/decoded');
/** Marks the directed handoffs of an encoded value recalled (by {@link discard}). */
const discardedMark = Symbol('@managers/core/discarded');
/** Objects {@link markOnce} could not mark (frozen by the application: rare). */
const markedFrozen = new WeakMap<object, Set<symbol>>();

/**
 * Marks `object` with `mark`: false when it was marked already. A symbol property on the
 * object, or for a frozen one an entry on the side.
 */
function markOnce(object: object, mark: symbol): boolean {
  if ((object as Record<symbol, unknown>)[mark] === true) return false;
  if (Object.isExtensible(object)) {
    (object as Record<symbol, unknown>)[mark] = true;
    return true;
  }
  let marks = markedFrozen.get(object);
  if (marks?.has(mark)) return false;
  if (marks === undefined) markedFrozen.set(object, (marks = new Set()));
  marks.add(mark);
  return true;
}

/**
 * Makes the handoff port `port` (with its connection `key`) this thread's connection to
 * `managerId`, for a thread that has none yet.
 */
export function adoptPort(port: MessagePort, managerId: string, key: string): ClientConnection {
  const connection = new ClientConnection(port, managerId, key, {
    label: threadLabel(),
    timeout: 0,
    onClose: (closed) => forgetConnection(closed),
  });
  setConnection(connection);
  return connection;
}

/**
 * Turns a received value back into live objects: every proxy envelope becomes a working proxy
 * that owns the reference taken for it by the sender, every handle envelope a
 * {@link ManagerHandle}. The first handoff port of a manager becomes this thread's connection
 * to it; the references of later ones are claimed on that connection (and the server closes
 * their ports). Decoding the same message twice is an error.
 */
export function decode<T = unknown>(value: unknown): T {
  // A number, a string, null: nothing to take up (most results of calls and tasks).
  if (typeof value !== 'object' || value === null) return value as T;
  const connections = new Map<string, ClientConnection>();
  // Claims are posted once the whole value is decoded, in the order their keys came, each with
  // the ids of the proxies made from it (what the server ignores the releases of if it refuses
  // the claim).
  const claims = new Map<string, Claim>();
  const claimLater = (connection: ClientConnection, key: string, port?: MessagePort) =>
    claims.set(key, { connection, port, ids: [] });
  const connectionOf = (managerId: string, handoff: RemoteHandoff): ClientConnection => {
    const { key, port, remote } = handoff;
    let connection = connections.get(key);
    if (connection !== undefined) return connection;
    const existing = connectionFor(managerId);
    if (existing !== undefined) {
      claimLater(existing, key, port);
      connection = existing;
    } else if (handoff.direct === 1) {
      throw createManagerError(
        ErrorCode.BadMessage,
        `a proxy of manager ${managerId} was posted to this thread as to a thread connected to it, and this thread is not: ` +
          'give encode() a target only if the value is posted there',
        { details: { manager: managerId } },
      );
    } else if (port === undefined) {
      // A remote manager's proxy: connect as the sender did, then claim the export.
      connection = connectLater(managerId, remote!);
      claimLater(connection, key);
    } else {
      connection = adoptPort(port, managerId, key);
    }
    connections.set(key, connection);
    return connection;
  };
  try {
    return decodeEnvelopes(value, connectionOf, claims);
  } finally {
    for (const [key, { connection, port, ids }] of claims) connection.claim(key, port, ids);
  }
}

/** A claim `decode()` will post: on which connection, the handoff's port, the ids of the proxies made from it. */
interface Claim {
  readonly connection: ClientConnection;
  readonly port: MessagePort | undefined;
  readonly ids: number[];
}

function decodeEnvelopes<T>(
  value: unknown,
  connectionOf: (managerId: string, handoff: RemoteHandoff) => ClientConnection,
  claims: ReadonlyMap<string, Claim>,
): T {
  return decodeValue(value, (envelope) => {
    if (!markOnce(envelope, decodedMark)) {
      throw createManagerError(
        ErrorCode.BadMessage,
        'this message was decoded already: each received value can be decoded once',
      );
    }
    if ((envelope as unknown as HandleEnvelope)[HANDLE_ENVELOPE_KEY] === 1) {
      const handle = envelope as unknown as HandleEnvelope;
      checkHandoff(handle, `a handle of manager ${handle.name}`);
      connectionOf(handle.managerId, handle);
      return new ManagerHandle(handle.managerId, handle.name);
    }
    if (typeof (envelope as { lease?: unknown }).lease === 'string') {
      throw createManagerError(
        ErrorCode.BadMessage,
        'this value was made by lend(): receive it with borrow(), not decode()',
      );
    }
    const handoff = envelope as unknown as RemoteHandoff;
    checkHandoff(handoff, `a proxy envelope for ${envelope.token.typeid} id ${envelope.token.id}`);
    const connection = connectionOf(envelope.token.manager, handoff);
    claims.get(handoff.key)?.ids.push(envelope.token.id);
    return connection.proxyFor(envelope.token);
  }) as T;
}

function checkHandoff(handoff: Partial<RemoteHandoff>, what: string): void {
  if (
    typeof handoff.key !== 'string' ||
    (handoff.port === undefined &&
      handoff.direct !== 1 &&
      (typeof handoff.remote !== 'object' || handoff.remote === null))
  ) {
    throw createManagerError(ErrorCode.BadMessage, `${what} arrived without its handoff port`);
  }
}

/**
 * Gives back the references an encoded value took, when it will not be posted after all (a
 * queued task aborted, a post that threw): closes its handoff ports, and the server drops what
 * was taken for them; a directed handoff is recalled (`recall`) and its references dropped.
 * Ports of the value's own are left alone. A port that was posted is detached here, and closing
 * it does nothing.
 */
export function discard(encoded: Encoded): void {
  if (
    typeof encoded !== 'object' ||
    encoded === null ||
    !Array.isArray((encoded as { transferList?: unknown }).transferList)
  ) {
    throw createManagerError(
      ErrorCode.InvalidOption,
      `discard(encoded): encoded must be what encode() returned ({ value, transferList }), got ${inspect(encoded, { depth: 1 })}`,
      { details: { option: 'encoded' } },
    );
  }
  for (const item of encoded.transferList) {
    if (
      item instanceof MessagePort &&
      (item as unknown as Record<symbol, unknown>)[handoffPortMark]
    )
      item.close();
  }
  // Once: a second discard recalls nothing more (the list is marked, not the Encoded, which
  // the caller may have frozen).
  const directed = (encoded as WithDirected)[directedMark];
  if (directed === undefined || !markOnce(directed, discardedMark)) return;
  // A recall of a directed handoff the receiver claimed already does nothing.
  for (const { connection, key } of directed)
    if (!connection.closed) connection.post({ t: 'recall', key });
}

/** Posts `value` to `target` (a Worker, a MessagePort, `parentPort`) with its proxies handed off. */
export function postMessage(
  target: { postMessage(value: unknown, transferList?: readonly TransferListItem[]): void },
  value: unknown,
): void {
  if (
    (typeof target !== 'object' && typeof target !== 'function') ||
    target === null ||
    typeof (target as { postMessage?: unknown }).postMessage !== 'function'
  ) {
    throw createManagerError(
      ErrorCode.InvalidOption,
      `postMessage(target, value): target must be a Worker, a MessagePort or parentPort, got ${inspect(target, { depth: 0 })}`,
      { details: { option: 'target' } },
    );
  }
  const encoded = encode(value, { target });
  try {
    target.postMessage(encoded.value, encoded.transferList);
  } catch (error) {
    discard(encoded);
    throw cloneFailure(error, 'postMessage(target, value)');
  }
  // A Worker that has exited drops what is posted to it, without a word and without
  // transferring its ports: give the references back (its threadId is -1 from then on).
  if (target instanceof Worker && target.threadId === -1) discard(encoded);
}

/**
 * Starts a Worker whose `workerData` may hold proxies and manager handles (the worker reads
 * them with `decode(workerData)`). `filename` is a path (absolute, or relative to the current
 * directory), a `file:` URL string or a `URL`; a TypeScript file (`.ts`, `.mts`, `.cts`) is
 * loaded through tsx, in ESM and CommonJS packages alike.
 */
export function createWorker(filename: string | URL, options: WorkerOptions = {}): Worker {
  const start = userWorkerStart(filename, options);
  // The worker is the place its workerData goes: what it takes up there tells this thread
  // which connection reads the worker's messages, for postMessage(worker, …) later.
  const targets = new Map<ClientConnection, DirectTarget>();
  const encoded = encodeFor(options.workerData, (connection) => {
    let target = targets.get(connection);
    if (target === undefined) targets.set(connection, (target = connection.targets.reserve()));
    return target;
  });
  try {
    const worker = new Worker(start.filename, {
      ...options,
      eval: start.eval ?? options.eval,
      execArgv: start.execArgv ?? options.execArgv,
      workerData: encoded.value,
      // A port given in workerData may be in the caller's transferList too (a plain Worker
      // needs it there): listed once.
      transferList: [...new Set([...(options.transferList ?? []), ...encoded.transferList])],
    });
    for (const [connection, target] of targets) connection.targets.bind(worker, target);
    return worker;
  } catch (error) {
    discard(encoded);
    throw cloneFailure(error, 'createWorker(filename, { workerData })');
  }
}

const ENCODE_OPTIONS = {
  target: (value: unknown) =>
    typeof value === 'object' && value !== null
      ? undefined
      : 'must be the Worker or port the value will be posted on',
};

/**
 * A structured-clone failure of a value posted by `where` (a function, a class instance with
 * private state…) as `ERR_UNSERIALIZABLE`, as a call's arguments get; other errors as they are.
 */
function cloneFailure(error: unknown, where: string): unknown {
  if ((error as { name?: unknown } | null)?.name !== 'DataCloneError') return error;
  return createManagerError(
    ErrorCode.Unserializable,
    `${where}: the value cannot be cloned: ${(error as Error).message}`,
    { cause: error },
  );
}
