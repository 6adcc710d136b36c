import { inspect } from 'node:util';
import Piscina from 'piscina';
import {
  decode,
  fromErrorEnvelope,
  isTypeScriptFile,
  lend,
  typeScriptExecArgv,
  type FileSpecifier,
  type LendOptions,
} from '@managers/core';
import { createManagerError, ErrorCode, isManagerError } from '@managers/refcount';
import { DispatchPorts, keepThreads, type Dispatch } from './dispatch-ports';
import { taskFilePath } from './entry';
import { TASK_LOADER_FILE, taskKey } from './task-key';
import {
  reportOf,
  resultValue,
  TASK_ERROR_KEY,
  uniqueTransferList,
  unwrapTransferable,
  type TaskReport,
} from './values';

/** Piscina's constructor options. */
export type PiscinaOptions = NonNullable<ConstructorParameters<typeof Piscina>[0]>;
/** Piscina's `run()` options. */
export type PiscinaRunOptions = NonNullable<Parameters<Piscina['run']>[1]>;

/** Options of a {@link ManagedPool}: Piscina's, with other defaults. */
export interface ManagedPoolOptions extends Omit<PiscinaOptions, 'filename'> {
  /**
   * The task file: an absolute path, a `file:` URL string or a `URL` (its default export, or
   * the export named by `name`, is a `defineTask()` task). A TypeScript file loads through
   * tsx (an optional peer dependency).
   */
  filename?: FileSpecifier | null;
  /**
   * How an idle pool thread waits for its next task. Default `'disabled'`; `'async'` also
   * works; Piscina's `'sync'` is refused: an idle thread would block in `Atomics.wait` and its
   * event loop would not run between tasks, so the connection it keeps to each manager would
   * get no replies, adoption confirmations or close events while it is idle.
   */
  atomics?: 'async' | 'disabled';
}

/**
 * The Piscina options a pool whose tasks carry proxies needs: `atomics` not `'sync'`
 * (default `'disabled'`), and for a TypeScript task file, the execArgv that loads it (tsx
 * and the `source` condition) unless `execArgv` is given.
 */
export function managedPoolOptions(options: ManagedPoolOptions = {}): PiscinaOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw createManagerError(
      ErrorCode.InvalidOption,
      `ManagedPool(options): options must be an object, got ${inspect(options, { depth: 0 })}`,
      { details: { option: 'options' } },
    );
  }
  const given = options.filename;
  if (
    given !== undefined &&
    given !== null &&
    typeof given !== 'string' &&
    !(given instanceof URL || Object.prototype.toString.call(given) === '[object URL]')
  ) {
    throw createManagerError(
      ErrorCode.InvalidOption,
      `ManagedPool(options): options.filename must be the task file's path, a file: URL string or a URL, got ${inspect(given, { depth: 0 })}`,
      { details: { option: 'filename' } },
    );
  }
  const atomics = (options.atomics as string | undefined) ?? 'disabled';
  if (atomics === 'sync') {
    throw createManagerError(
      ErrorCode.InvalidOption,
      "options.atomics 'sync' is not supported: an idle pool thread would block in Atomics.wait, " +
        "and the manager connections it keeps would get no replies or close events between tasks (use 'disabled' or 'async')",
      { details: { option: 'atomics' } },
    );
  }
  if (atomics !== 'async' && atomics !== 'disabled') {
    throw createManagerError(
      ErrorCode.InvalidOption,
      `options.atomics must be 'disabled' or 'async', got ${inspect(atomics)}`,
      { details: { option: 'atomics' } },
    );
  }
  const filename =
    options.filename === undefined || options.filename === null
      ? options.filename
      : taskFilePath(options.filename as FileSpecifier);
  const execArgv =
    options.execArgv ??
    (typeof filename === 'string' && isTypeScriptFile(filename)
      ? typeScriptExecArgv(filename)
      : undefined);
  return { ...options, filename, atomics, ...(execArgv === undefined ? {} : { execArgv }) };
}

/**
 * Runs one task on `pool` with its proxies, manager handles and marked buffers handed off:
 * `encode()` takes the references of the proxies in `task` before it leaves (R3), the ports
 * and buffers go into Piscina's `transferList`, and the result is decoded into working
 * proxies. The task file must wrap its function with `defineTask()`. If the task is never
 * posted (aborted while queued, pool destroyed, clone error) the handoff ports are closed,
 * and the server drops the references taken for it.
 *
 * `task` may also be a `Piscina.move(value)`: the value is walked and its transferables kept.
 */
export async function runTask<R = unknown>(
  pool: Piscina,
  task: unknown,
  options: PiscinaRunOptions = {},
): Promise<R> {
  return runWith(pool, (value, runOptions) => pool.run(value, runOptions), task, options);
}

/** What a pool's tasks reported: which of its threads are connected to which manager. */
interface PoolConnections {
  readonly threadsByManager: Map<string, Set<number>>;
  /**
   * Managers every thread of the pool has reported a connection to, so that a task needs no
   * port for them and the check costs no walk of the pool's threads. Kept only for a pool that
   * says when it starts a thread (Piscina's `workerCreate`), which empties it.
   */
  readonly allConnected: Set<string> | undefined;
  /** The options of this pool's `lend()`s: a port only for threads not connected yet. */
  readonly lendOptions: LendOptions;
}

/** The options of a task sent again with a port for every manager (see runWith). */
const WITH_PORTS: LendOptions = { ports: true };
/** The options of a ManagedPool task: ports come when Piscina picks its thread. */
const NO_PORTS: LendOptions = { ports: false };

interface PoolLike {
  readonly threads?: readonly { threadId: number }[];
  on?(event: 'workerCreate', listener: () => void): unknown;
}

const poolConnections = new WeakMap<object, PoolConnections>();

function connectionsOf(pool: PoolLike): PoolConnections {
  let connections = poolConnections.get(pool);
  if (connections === undefined) {
    const watched = typeof pool.on === 'function';
    connections = {
      threadsByManager: new Map(),
      allConnected: watched ? new Set() : undefined,
      lendOptions: { ports: (managerId) => needsPort(pool, managerId) },
    };
    const { allConnected, threadsByManager } = connections;
    // A new thread is not connected; threads gone take their records with them.
    if (watched) {
      pool.on!('workerCreate', () => {
        allConnected!.clear();
        keepThreads(threadsByManager, liveThreads(pool));
      });
    }
    poolConnections.set(pool, connections);
  }
  return connections;
}

/** The ids of `pool`'s threads now. */
function liveThreads(pool: PoolLike): Set<number> {
  return new Set((pool.threads ?? []).map((thread) => thread.threadId));
}

function recordReport(pool: PoolLike, report: TaskReport | undefined): void {
  if (report === undefined) return;
  const { threadsByManager } = connectionsOf(pool);
  for (const managerId of report.managers) {
    let threads = threadsByManager.get(managerId);
    if (threads === undefined) threadsByManager.set(managerId, (threads = new Set()));
    threads.add(report.thread);
  }
}

/** True when some thread of `pool` has not reported a connection to `managerId` yet. */
function needsPort(pool: PoolLike, managerId: string): boolean {
  const connections = connectionsOf(pool);
  if (connections.allConnected?.has(managerId) === true) return false;
  const threads = pool.threads ?? [];
  const connected = connections.threadsByManager.get(managerId);
  if (connected === undefined || threads.length === 0) return true;
  if (threads.some((thread) => !connected.has(thread.threadId))) return true;
  connections.allConnected?.add(managerId);
  return false;
}

async function runWith<R>(
  pool: PoolLike,
  run: (task: unknown, options: PiscinaRunOptions) => Promise<unknown>,
  task: unknown,
  options: PiscinaRunOptions,
  forcePorts = false,
  dispatchPorts?: DispatchPorts,
): Promise<R> {
  const unwrapped = unwrapTransferable(task);
  // The task's proxies are lent for its duration (no port, no claim, no reference of the pool
  // thread's own), with a port added only for threads not yet connected to their manager:
  // for a ManagedPool, when Piscina picks the thread (dispatch-ports.ts); for another pool,
  // now, if any of its threads has not reported a connection.
  const atDispatch = dispatchPorts !== undefined && !forcePorts;
  const loan = lend(
    unwrapped.value,
    forcePorts ? WITH_PORTS : atDispatch ? NO_PORTS : connectionsOf(pool).lendOptions,
  );
  const given = (options.transferList as readonly never[] | undefined) ?? [];
  // A value lend() left as it was holds no proxy: no port can be needed where it goes.
  const atThread = atDispatch && loan.value !== unwrapped.value;
  // The balancer adds ports to this very list, which Piscina posts.
  const transferList =
    given.length + unwrapped.transferList.length + loan.transferList.length !== 0
      ? uniqueTransferList([...given, ...unwrapped.transferList, ...loan.transferList])
      : atThread
        ? []
        : undefined;
  const dispatch: Dispatch | undefined = atThread
    ? { loan, transferList: transferList!, taskId: -1 }
    : undefined;
  const runOptions =
    transferList === undefined
      ? options
      : { ...options, transferList: transferList as PiscinaRunOptions['transferList'] };
  let result: unknown;
  try {
    result = await (dispatch === undefined
      ? run(loan.value, runOptions)
      : dispatchPorts!.submit(dispatch, run, loan.value, runOptions));
  } catch (error) {
    const report = reportOf(error);
    recordReport(pool, report);
    // No report: the task did not run on a thread that goes on (not posted, or its thread died).
    if (dispatch !== undefined && report === undefined) dispatchPorts!.unposted(dispatch);
    // Leases the task did not borrow end now (a task that never left borrowed nothing).
    loan.end(report?.borrowed, report?.returned);
    const envelope =
      typeof error === 'object' && error !== null
        ? (error as Record<string, unknown>)[TASK_ERROR_KEY]
        : undefined;
    const rebuilt =
      envelope === undefined
        ? error
        : fromErrorEnvelope(envelope as Parameters<typeof fromErrorEnvelope>[0]);
    // A thread that was not connected yet got the task without a port (it started after the
    // check): send it again with one.
    if (!forcePorts && isManagerError(rebuilt, ErrorCode.NotConnected))
      return runWith<R>(pool, run, task, options, true, dispatchPorts);
    throw rebuilt;
  } finally {
    if (dispatch !== undefined) dispatchPorts!.settled(dispatch);
  }
  const report = reportOf(result);
  recordReport(pool, report);
  loan.end(report?.borrowed, report?.returned);
  return decode<R>(resultValue(result, report));
}

/** True for run options with nothing but a task file and an export name (most): nothing to copy. */
function isOnlyRoute(options: PiscinaRunOptions): boolean {
  for (const key in options) if (key !== 'name' && key !== 'filename') return false;
  return true;
}

/** The relay entry of {@link ManagedPool} (package-internal: see `hosted-pool.ts`). */
export const relaySymbol = Symbol('@managers/piscina/relay');

/**
 * A Piscina pool whose tasks and results may contain @managers proxies, manager handles and
 * buffers marked with `transfer()`, with no transfer list written by hand. It *is* a Piscina
 * (events, `threads`, `close()`, `destroy()`, `await using`); only `run()` differs: it
 * encodes the task and decodes the result (see {@link runTask}). Its task file wraps its
 * function with `defineTask()`.
 *
 * Defaults differ from Piscina's in one place: `atomics: 'disabled'` (see
 * {@link ManagedPoolOptions.atomics}). A TypeScript `filename` gets the execArgv that loads it.
 */
export class ManagedPool<T = any, R = any> extends Piscina<T, R> {
  /** The task file given to the constructor (Piscina's own `filename` is the loader). */
  readonly #taskFile: string | null | undefined;
  readonly #defaultName: string;
  /** Loader keys of the task file's exports, by export name. */
  readonly #keys = new Map<string, string>();
  /** Gives a task's proxies a port when the thread Piscina picks has no connection yet. */
  readonly #dispatchPorts: DispatchPorts;

  constructor(options: ManagedPoolOptions = {}) {
    const settings = managedPoolOptions(options);
    const taskFile = settings.filename;
    const defaultName = options.name ?? 'default';
    const dispatchPorts = new DispatchPorts();
    super(
      dispatchPorts.wrap(
        typeof taskFile === 'string'
          ? {
              ...settings,
              filename: TASK_LOADER_FILE,
              name: taskKey(taskFile, defaultName),
              execArgv:
                settings.execArgv ??
                (isTypeScriptFile(TASK_LOADER_FILE) ? typeScriptExecArgv(taskFile) : undefined),
            }
          : settings,
      ),
    );
    dispatchPorts.threadsByManager = connectionsOf(this).threadsByManager;
    this.on('workerCreate', () => dispatchPorts.prune(liveThreads(this)));
    this.#dispatchPorts = dispatchPorts;
    this.#taskFile = taskFile;
    this.#defaultName = defaultName;
  }

  /**
   * Runs one task (see {@link runTask}). `options.name` picks another export of the task file,
   * `options.filename` another task file; either must be a `defineTask()` task, or the call
   * rejects with `ERR_INVALID_OPTION` (and the task's proxies are released).
   */
  override run(task: T, options: PiscinaRunOptions = {}): Promise<R> {
    return runWith<R>(
      this,
      (value, runOptions) => super.run(value as T, runOptions),
      task,
      this.#route(options),
      false,
      this.#dispatchPorts,
    );
  }

  /** Piscina's options for a task of export `options.name` of the task file (through the loader). */
  #route(options: PiscinaRunOptions): PiscinaRunOptions {
    const file =
      options.filename === undefined || options.filename === null
        ? this.#taskFile
        : taskFilePath(options.filename);
    if (typeof file !== 'string') return options;
    const name = options.name ?? this.#defaultName;
    let key: string | undefined;
    if (file === this.#taskFile) {
      // The pool's own file: its keys are made once per export name.
      key = this.#keys.get(name);
      if (key === undefined) this.#keys.set(name, (key = taskKey(file, name)));
    } else {
      key = taskKey(file, name);
    }
    // Not `{ ...options, filename, name }`: on Node 20's V8, a spread followed by a key it
    // already has takes a slow path (about 1.3 µs, per task; Node 24's takes 25 ns).
    if (isOnlyRoute(options)) return { filename: TASK_LOADER_FILE, name: key };
    const { filename: _filename, name: _name, ...rest } = options;
    return { ...rest, filename: TASK_LOADER_FILE, name: key };
  }

  /**
   * Runs a task that is encoded already (its proxies handed off by the thread that sent it, its
   * ports in `options.transferList`) and resolves with what the task thread sent back, still
   * encoded: for a pool hosted by a manager, which relays tasks without owning their proxies.
   */
  [relaySymbol](task: unknown, options: PiscinaRunOptions): Promise<unknown> {
    return super.run(task as T, this.#route(options));
  }
}
