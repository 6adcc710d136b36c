/**
 * SyncManager: a manager class with Python's SyncManager set and shared memory segments, each
 * with its own proxy type. The server worker loads this package's entry module (index), which
 * exports `SyncManager` and no other manager class.
 */
import { extname, join } from 'node:path';
import {
  BaseManager,
  type BaseProxy,
  type ManagerHandle,
  type ManagerInstance,
  type StartOptions,
} from '@managers/core';
import { proxyOfClass, toBaseProxy, type ProxyConnection } from '@managers/proxy';
import { createManagerError, ErrorCode } from '@managers/refcount';
import {
  Barrier,
  type BarrierOptions,
  BoundedSemaphore,
  Condition,
  Event,
  Lock,
  RLock,
  Semaphore,
} from './objects/locks';
import { Namespace, SharedArray, SharedList, SharedMap, Value } from './objects/containers';
import type { MapKey } from './objects/map-keys';
import { Queue } from './objects/queue';
import { SharedMemorySegment, type SharedMemoryOptions } from './objects/shared-memory';
import {
  ArrayProxy,
  ListProxy,
  MapProxy,
  NamespaceProxy,
  ValueProxy,
  type CharArrayProxy,
} from './proxies/containers';
import {
  BarrierProxy,
  ConditionProxy,
  EventProxy,
  LockProxy,
  SemaphoreProxy,
} from './proxies/locks';
import { QueueProxy } from './proxies/queue';
import { SharedMemoryProxy } from './proxies/shared-memory';

const MAP = [
  'get',
  'getItem',
  'set',
  'has',
  'delete',
  'size',
  'keys',
  'values',
  'entries',
  'clear',
  'update',
  'pop',
  'popitem',
  'setdefault',
  'copy',
];
const LIST = [
  'append',
  'extend',
  'insert',
  'get',
  'set',
  'delete',
  'pop',
  'remove',
  'index',
  'count',
  'includes',
  'length',
  'slice',
  'getSlice',
  'setSlice',
  'deleteSlice',
  'reverse',
  'sort',
  'repeat',
  'clear',
  'copy',
];
const QUEUE = [
  'put',
  'putNowait',
  'get',
  'getNowait',
  'qsize',
  'empty',
  'full',
  'maxsize',
  'taskDone',
  'join',
  'unfinishedTasks',
  'shutdown',
  'isShutdown',
  'cancel',
];
const LOCK = ['acquire', 'release', 'locked', 'owned', 'recoveries', 'cancel', 'syncKey'];
const SEMAPHORE = ['acquire', 'release', 'value', 'cancel'];

/** Proxy types by typeid (for `asSyncProxy`). */
export const PROXY_TYPES = {
  Map: MapProxy,
  List: ListProxy,
  Namespace: NamespaceProxy,
  Value: ValueProxy,
  Array: ArrayProxy,
  Queue: QueueProxy,
  JoinableQueue: QueueProxy,
  Lock: LockProxy,
  RLock: LockProxy,
  Semaphore: SemaphoreProxy,
  BoundedSemaphore: SemaphoreProxy,
  Condition: ConditionProxy,
  Event: EventProxy,
  Barrier: BarrierProxy,
  SharedMemory: SharedMemoryProxy,
} as const;

const Registered = BaseManager.register('Map', {
  callable: (entries?: Iterable<readonly [unknown, unknown]> | Record<string, unknown>) =>
    new SharedMap(entries),
  proxytype: MapProxy,
  exposed: MAP,
})
  .register('List', {
    callable: (items?: Iterable<unknown>) => new SharedList(items),
    proxytype: ListProxy,
    exposed: LIST,
  })
  .register('Namespace', {
    callable: (initial?: Record<string, unknown>) => new Namespace(initial),
    proxytype: NamespaceProxy,
    exposed: ['get', 'set', 'delete', 'has', 'keys', 'toObject'],
  })
  .register('Value', {
    callable: (typecode: string, ...value: unknown[]) => new Value(typecode, ...value),
    proxytype: ValueProxy,
    exposed: ['get', 'set', 'add', 'typecode'],
  })
  .register('Array', {
    callable: (typecode: string, init: number | Iterable<unknown>) =>
      new SharedArray(typecode, init),
    proxytype: ArrayProxy,
    exposed: ['length', 'get', 'set', 'slice', 'getSlice', 'setSlice', 'toArray', 'typecode'],
  })
  .register('Queue', {
    callable: (maxsize?: number) => new Queue(maxsize),
    proxytype: QueueProxy,
    exposed: QUEUE,
  })
  .register('JoinableQueue', {
    callable: (maxsize?: number) => new Queue(maxsize, 'JoinableQueue'),
    proxytype: QueueProxy,
    exposed: QUEUE,
  })
  .register('Lock', { callable: () => new Lock(), proxytype: LockProxy, exposed: LOCK })
  .register('RLock', { callable: () => new RLock(), proxytype: LockProxy, exposed: LOCK })
  .register('Semaphore', {
    callable: (value?: number) => new Semaphore(value),
    proxytype: SemaphoreProxy,
    exposed: SEMAPHORE,
  })
  .register('BoundedSemaphore', {
    callable: (value?: number) => new BoundedSemaphore(value),
    proxytype: SemaphoreProxy,
    exposed: SEMAPHORE,
  })
  .register('Condition', {
    callable: (lock?: unknown) => Condition.create(lock),
    proxytype: ConditionProxy,
    exposed: ['acquire', 'release', 'wait', 'notify', 'notifyAll', 'cancel'],
  })
  .register('Event', {
    callable: () => new Event(),
    proxytype: EventProxy,
    exposed: ['isSet', 'set', 'clear', 'wait', 'cancel'],
  })
  .register('Barrier', {
    callable: (parties: number, options?: number | null | BarrierOptions) =>
      new Barrier(parties, options),
    proxytype: BarrierProxy,
    exposed: ['wait', 'abort', 'reset', 'parties', 'nWaiting', 'broken', 'cancel'],
  })
  .register('SharedMemory', {
    callable: (spec: number | SharedMemoryOptions) => SharedMemorySegment.open(spec),
    proxytype: SharedMemoryProxy,
    exposed: ['name', 'size', 'buffer', 'unlink'],
  });

type Key = MapKey;

/** The create methods of a SyncManager, with their proxy types. */
export interface SyncCreateMethods {
  /**
   * Python's `dict()`: a shared Map. Keys are primitives, arrays (tuples) or Sets (frozensets)
   * of keys, compared by value; values may be proxies.
   */
  Map<K extends Key = Key, V = unknown>(
    entries?: Iterable<readonly [K, V]> | Record<string, V>,
  ): Promise<MapProxy<K, V>>;
  /** Python's `list()`. */
  List<T = unknown>(items?: Iterable<T>): Promise<ListProxy<T>>;
  Namespace<T extends Record<string, unknown> = Record<string, unknown>>(
    initial?: Partial<T>,
  ): Promise<NamespaceProxy<T>>;
  /**
   * `Value(typecode, value)`: typecodes b B h H i I l L (number), q Q (bigint), f d (number),
   * c (one byte: a one-byte Uint8Array or 0–255; reads give a Uint8Array).
   */
  Value(typecode: 'c', value: Uint8Array | number): Promise<ValueProxy<Uint8Array>>;
  Value(typecode: string, value: number): Promise<ValueProxy<number>>;
  Value(typecode: string, value: bigint): Promise<ValueProxy<bigint>>;
  /** `Array('c', bytesOrLength)`: bytes (`multiprocessing.Array('c', b'hello')`). */
  Array(
    typecode: 'c',
    init: number | Uint8Array | Iterable<Uint8Array | number>,
  ): Promise<CharArrayProxy>;
  /** `Array(typecode, sequenceOrLength)`. */
  Array(typecode: string, init: number | Iterable<number>): Promise<ArrayProxy<number>>;
  Array<T extends bigint>(typecode: string, init: Iterable<T>): Promise<ArrayProxy<bigint>>;
  Queue<T = unknown>(maxsize?: number): Promise<QueueProxy<T>>;
  JoinableQueue<T = unknown>(maxsize?: number): Promise<QueueProxy<T>>;
  Lock(): Promise<LockProxy>;
  RLock(): Promise<LockProxy>;
  Semaphore(value?: number): Promise<SemaphoreProxy>;
  BoundedSemaphore(value?: number): Promise<SemaphoreProxy>;
  /** `Condition(lock?)`: over a new RLock, or over the given Lock/RLock proxy. */
  Condition(lock?: LockProxy): Promise<ConditionProxy>;
  Event(): Promise<EventProxy>;
  /**
   * `Barrier(parties, timeout?)` or `Barrier(parties, { timeout, action, actionArgs })`:
   * timeout in ms; `action` names a function exported by the registry module, run in the
   * server each time the barrier trips (Python's `action`).
   */
  Barrier(parties: number, options?: number | null | BarrierOptions): Promise<BarrierProxy>;
  /**
   * Python's `SharedMemory(name, create, size)`: `SharedMemory(size)` or
   * `SharedMemory({ create: true, size, name? })` makes a segment; `SharedMemory({ name })`
   * attaches to a live one of this manager.
   */
  SharedMemory(spec: number | SharedMemoryOptions): Promise<SharedMemoryProxy>;
}

/** A started SyncManager. */
export type SyncManager = Omit<ManagerInstance<{}>, 'create' | 'start'> &
  SyncCreateMethods & {
    create(typeid: string, ...args: unknown[]): Promise<BaseProxy>;
    start(options: StartOptions): Promise<SyncManager>;
  };

/** The SyncManager class. */
export interface SyncManagerClass {
  new (): SyncManager;
  readonly typeids: string[];
  /** Starts a SyncManager; `module` must be this package's entry (see {@link startSyncManager}). */
  start(options: StartOptions): Promise<SyncManager>;
  connect(handle: ManagerHandle): Promise<SyncManager>;
  register: (typeof Registered)['register'];
}

/** Python's SyncManager (plus SharedMemoryManager's segments). */
export const SyncManager = Registered as unknown as SyncManagerClass;

/** The module the server worker loads: this package's entry, in the same form (source or dist) as this file. */
export const SYNC_MODULE = join(__dirname, `index${extname(__filename)}`);

/** Starts a SyncManager (fills `options.module` with this package's entry). */
export function startSyncManager(options: Partial<StartOptions> = {}): Promise<SyncManager> {
  return SyncManager.start({ ...options, module: options.module ?? SYNC_MODULE });
}

type ProxyTypes = typeof PROXY_TYPES;

/**
 * The @managers/sync proxy for a proxy of a sync typeid that arrived as a plain AutoProxy (a
 * proxy received with `decode()` in another thread). The result takes the proxy's reference
 * over: release one or the other, not both. Generic like the create methods:
 *
 * ```ts
 * const lengths = asSyncProxy<string, number>(received, 'Map'); // MapProxy<string, number>
 * const jobs = asSyncProxy<Job>(received, 'Queue'); // QueueProxy<Job>
 * ```
 */
export function asSyncProxy<K extends Key = Key, V = unknown>(
  proxy: object,
  typeid: 'Map',
): MapProxy<K, V>;
export function asSyncProxy<T = unknown>(proxy: object, typeid: 'List'): ListProxy<T>;
export function asSyncProxy<T = unknown>(
  proxy: object,
  typeid: 'Queue' | 'JoinableQueue',
): QueueProxy<T>;
export function asSyncProxy<T extends Record<string, unknown> = Record<string, unknown>>(
  proxy: object,
  typeid: 'Namespace',
): NamespaceProxy<T>;
export function asSyncProxy<T extends number | bigint | Uint8Array = number>(
  proxy: object,
  typeid: 'Value',
): ValueProxy<T>;
export function asSyncProxy<T extends number | bigint = number>(
  proxy: object,
  typeid: 'Array',
): ArrayProxy<T>;
export function asSyncProxy<K extends keyof ProxyTypes>(
  proxy: object,
  typeid?: K,
): InstanceType<ProxyTypes[K]>;
export function asSyncProxy<K extends keyof ProxyTypes>(
  proxy: object,
  typeid?: K,
): InstanceType<ProxyTypes[K]> {
  const base: BaseProxy = toBaseProxy(proxy);
  const token = base.token;
  const type = PROXY_TYPES[(typeid ?? token.typeid) as K] as unknown as
    (new (token: BaseProxy['token'], connection: ProxyConnection) => BaseProxy) | undefined;
  if (type === undefined) {
    throw createManagerError(
      ErrorCode.InvalidOption,
      `${String(base)} is not a @managers/sync proxy`,
      {
        details: { typeid: typeid ?? token.typeid },
      },
    );
  }
  return proxyOfClass(base, type) as unknown as InstanceType<ProxyTypes[K]>;
}
