import { randomUUID } from 'node:crypto';
import { isAbsolute } from 'node:path';
import { URL } from 'node:url';
import { inspect } from 'node:util';
import { MessageChannel, Worker } from 'node:worker_threads';
import {
  createManagerError,
  withCallerStack,
  ErrorCode,
  formatDebugInfo,
  inspectSymbol,
  traceChannel,
  type DebugEntry,
  type InspectSnapshot,
  type ManagerError,
  type TraceEvent,
} from '@managers/refcount';
import type { BaseProxy } from '@managers/proxy';
import { ClientConnection } from './client-connection';
import { fromErrorEnvelope } from './error-envelope';
import { PROTOCOL_VERSION, type ControlFromServer, type ServerWorkerData } from './protocol';
import {
  checkTargets,
  recordProxyType,
  validateRegistration,
  type Registration,
} from './registration';
import {
  connectionFor,
  forgetConnection,
  newConnectionKey,
  setConnection,
  threadLabel,
} from './threads';
import { discard, encode, ManagerHandle } from './handoff';
import { DEFAULT_MAX_MESSAGE_SIZE } from './message-size';
import { createLiveness, markDead } from './sync-channel';
import type { CreateMethods, ProxyOf, RegistrySpec, SpecOf, TypedRegisterOptions } from './types';
import type { Callable } from './registration';
import type { ServerReference } from './references';
import { check, validateOptions, type OptionCheck } from './options';
import { toFilePath, workerEntry, type FileSpecifier } from './worker-file';
import { connectRemote, type RemoteConnectOptions } from './remote';
import { refuseStartWhileLoadingRegistry } from './registry-module';
import { describeAddress } from './transport/address';
import {
  checkAddress,
  checkAuthkey,
  checkTls,
  type NetworkAddress,
  type TlsSettings,
} from './transport/address';
import { DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_HEARTBEAT_TIMEOUT } from './transport/limits';
import { clearTimer, setTimer } from './timer';

/** Brands manager classes (the server worker looks for one among a module's exports). */
export const managerClassSymbol: unique symbol = Symbol.for('@managers/manager-class');
/** Where a manager class keeps its registrations. */
export const registrySymbol: unique symbol = Symbol.for('@managers/registry');

/** Why a manager closed: what {@link ManagerImpl.whenClosed} resolves with. */
export interface ManagerCloseInfo {
  /** In words: `the manager was shut down`, `the server worker crashed: boom`, … */
  readonly reason: string;
  /** The error, when the server crashed, exited by itself or failed to start. */
  readonly error?: unknown;
}

/** Options of `start()`. */
export interface StartOptions {
  /**
   * The module that exports this manager class (an absolute path or file URL, e.g.
   * `require.resolve('./managers')`, `new URL('./managers.js', import.meta.url)` or its
   * `href`). The server worker loads it with `import()` (ESM, top-level `await` and CommonJS
   * work) to learn the registrations, as Python's spawn re-imports `__main__`. `.ts` modules
   * load through tsx (an optional peer dependency) with `require()`.
   */
  readonly module: FileSpecifier;
  /** The export holding the manager class (default: the one manager class the module exports). */
  readonly exportName?: string;
  /** Default timeout of every call in ms (default 0: none). */
  readonly timeout?: number;
  /** The name of a function exported by `module` to run in the server worker before it serves. */
  readonly initializer?: string;
  /**
   * Arguments for the initializer (structured-cloned). Proxies and manager handles of other
   * managers inside them are handed off to the server worker, as `postMessage` does (Python's
   * `TestInitializers` passes a Namespace proxy): the initializer gets live proxies.
   */
  readonly initializerArgs?: readonly unknown[];
  /** How many trace events the server keeps for `trace()` (default 1000; 0 turns the buffer off). */
  readonly traceBufferSize?: number;
  /**
   * Publish the server's trace events on this thread's `node:diagnostics_channel` channel
   * `TRACE_CHANNEL_NAME` (they happen in the server worker, whose channel this thread cannot
   * see). Default false; `manager.forwardTrace(enabled)` changes it later.
   */
  readonly forwardTrace?: boolean;
  /** A name for the manager in trace events and messages (default: the class name). */
  readonly name?: string;
  /** How long `start()` waits for the server to be ready, in ms (default 30000). */
  readonly startTimeout?: number;
  /**
   * The largest message, in bytes, this thread sends and the server replies (default 64 MiB,
   * `DEFAULT_MAX_MESSAGE_SIZE`). A call or create whose arguments are larger (estimated:
   * strings 2 bytes a character, buffers their byteLength) rejects with
   * `ERR_MESSAGE_TOO_LARGE` before anything is sent; so does a call whose result is larger
   * (the server sends the error instead). It protects honest threads and the server's
   * replies: a raw port can still post anything, and it is cloned before any check.
   */
  readonly maxMessageSize?: number;
  /**
   * Also listen for other processes, on TCP (`{ host, port }`; `port: 0` picks a free one, see
   * `manager.address`) or a Unix domain socket (`{ path }`). Requires `authkey`. Clients
   * connect with `MyManager.connect({ address, authkey })`.
   */
  readonly address?: NetworkAddress;
  /**
   * The shared secret every socket must prove it knows before anything else (HMAC-SHA256
   * challenge–response, both ways). A string is taken as UTF-8. It authenticates; it does not
   * encrypt: use `tls` on networks you do not trust.
   */
  readonly authkey?: string | Uint8Array;
  /** Serve TLS on `address` with this key and certificate (PEM). */
  readonly tls?: TlsSettings;
  /**
   * A socket client silent this long (no message, no heartbeat: a partitioned or frozen
   * process) is dropped and its references released, in ms (default 10000). A client that
   * exits or is killed is released as soon as its socket closes.
   */
  readonly heartbeatTimeout?: number;
}

const startOptionChecks: Readonly<Record<string, OptionCheck>> = {
  module: (value) =>
    (typeof value === 'string' && value.length > 0) || value instanceof URL
      ? undefined
      : 'must be an absolute path, a file: URL string or a URL object',
  exportName: check.nonEmptyString,
  timeout: check.nonNegativeNumber,
  initializer: check.nonEmptyString,
  initializerArgs: check.array,
  traceBufferSize: check.nonNegativeInteger,
  forwardTrace: check.boolean,
  name: check.nonEmptyString,
  startTimeout: check.positiveNumber,
  maxMessageSize: (value) =>
    Number.isInteger(value) && (value as number) > 0
      ? undefined
      : 'must be a positive integer (bytes)',
  address: checkAddress,
  authkey: checkAuthkey,
  tls: (value) =>
    checkTls(value) ??
    (value === true ||
    (value as TlsSettings).key === undefined ||
    (value as TlsSettings).cert === undefined
      ? 'must be an object with the server key and cert (PEM)'
      : undefined),
  heartbeatTimeout: check.positiveNumber,
};

type State = 'initial' | 'starting' | 'started' | 'closed';

/**
 * The manager: starts the server worker, creates hosted objects and returns proxies to them
 * (Python's `BaseManager`). Subclass it through `register()`:
 *
 * ```ts
 * export const MyManager = BaseManager.register('Magnifier', { callable: Magnifier });
 * await using manager = await MyManager.start({ module: __filename });
 * const mag = await manager.Magnifier(2);
 * ```
 */
class ManagerImpl {
  static {
    Object.defineProperty(this, 'name', { value: 'BaseManager', configurable: true });
  }
  static readonly [managerClassSymbol] = true;
  static [registrySymbol]: ReadonlyMap<string, Registration> = new Map();

  #state: State = 'initial';
  #worker: Worker | undefined;
  #connection: ClientConnection | undefined;
  #managerId = '';
  #name = '';
  #exited: Promise<void> | undefined;
  #closeReason = '';
  /** The error that crashed the server worker, if it crashed. */
  #crashError: unknown;
  #resolveClosed: ((info: ManagerCloseInfo) => void) | undefined;
  /**
   * Resolves (never rejects) once this manager is closed, with why: `{ reason }` after
   * `shutdown()`, `{ reason, error }` when the server worker crashed (the error it threw) or
   * exited, or failed to start. `closed` is the same as a boolean. A manager made by
   * `connect()` resolves it when its connection to the server closes.
   */
  readonly whenClosed: Promise<ManagerCloseInfo> = new Promise((resolve) => {
    this.#resolveClosed = resolve;
  });
  /** False for a manager made by `connect()`: it can use the server but not shut it down. */
  #owner = true;
  /** Where the server listens for other processes (or where a remote manager was reached). */
  #address: NetworkAddress | undefined;
  /** Made by `connect({ address })`: it may close its share of this thread's socket. */
  #remote = false;

  /** Adds a typeid: returns a new manager class whose registry has it (the receiver is unchanged). */
  static register(typeid: string, options: unknown = {}): typeof ManagerImpl {
    const registration = validateRegistration(typeid, options);
    if (registration.proxytype !== undefined) recordProxyType(typeid, registration.proxytype);
    const parent = this;
    const registry = new Map(parent[registrySymbol]);
    registry.set(typeid, registration);
    const Manager = class extends parent {};
    Object.defineProperty(Manager, 'name', { value: parent.name, configurable: true });
    Manager[registrySymbol] = registry;
    if (registration.createMethod) {
      Object.defineProperty(Manager.prototype, typeid, {
        configurable: true,
        writable: true,
        value(this: ManagerImpl, ...args: unknown[]) {
          return this.create(typeid, ...args);
        },
      });
    } else if (Object.prototype.hasOwnProperty.call(parent.prototype, typeid)) {
      Object.defineProperty(Manager.prototype, typeid, {
        configurable: true,
        writable: true,
        value: undefined,
      });
    }
    return Manager;
  }

  /** Creates a manager of this class and starts it. */
  static async start(this: new () => ManagerImpl, options: StartOptions): Promise<ManagerImpl> {
    const manager = new this();
    await manager.start(options);
    return manager;
  }

  /**
   * A manager of this class attached to a running server through a handle received from
   * another thread (Python's `connect()`): it creates objects and calls them like the owner,
   * but cannot shut the server down. `handle` is what `decode()` returned for the handle
   * `manager.handle()` made in the owner's thread.
   */
  static async connect(
    this: new () => ManagerImpl,
    handle: ManagerHandle | RemoteConnectOptions,
  ): Promise<ManagerImpl> {
    if (
      !(handle instanceof ManagerHandle) &&
      typeof handle === 'object' &&
      handle !== null &&
      ('address' in handle || 'authkey' in handle)
    ) {
      const registry = (this as unknown as typeof ManagerImpl)[registrySymbol];
      const { connection, welcome, created } = await connectRemote(
        handle,
        new Map([...registry].map(([typeid, registration]) => [typeid, registration.proxytype])),
      ).catch((error: unknown) => Promise.reject(withCallerStack(error)));
      const missing = [...registry.keys()].filter((typeid) => !welcome.typeids.includes(typeid));
      if (missing.length) {
        // Only a connection this call made is closed: this thread's other proxies keep theirs.
        if (created) connection.close('typeids differ');
        throw createManagerError(
          ErrorCode.UnknownTypeid,
          `the manager at ${handle.address === undefined ? '?' : describeAddress(handle.address)} does not serve ${missing.map((typeid) => `'${typeid}'`).join(', ')} (it serves ${welcome.typeids.join(', ') || 'nothing'}): connect with the manager class it was started with`,
          { details: { typeid: missing[0] } },
        );
      }
      const manager = new this();
      manager.#attach(connection, new ManagerHandle(welcome.managerId, welcome.name));
      manager.#address = handle.address;
      manager.#remote = true;
      connection.remoteUsers++;
      if (created) connection.openedByConnect = true;
      return manager;
    }
    if (!(handle instanceof ManagerHandle)) {
      throw createManagerError(
        ErrorCode.InvalidOption,
        `connect() takes a ManagerHandle (from manager.handle(), sent with encode() and received with decode()) or { address, authkey } for a manager in another process, got ${inspect(handle)}`,
        { details: { option: 'handle' } },
      );
    }
    const connection = connectionFor(handle.managerId);
    if (connection === undefined) {
      throw createManagerError(
        ErrorCode.ManagerClosed,
        `manager ${handle.name} is closed, or its handle was not received in this thread`,
        { details: { manager: handle.managerId } },
      );
    }
    const manager = new this();
    manager.#attach(connection, handle);
    return manager;
  }

  #attach(connection: ClientConnection, handle: ManagerHandle): void {
    const registry = (this.constructor as typeof ManagerImpl)[registrySymbol];
    connection.addProxyTypes(
      new Map([...registry].map(([typeid, registration]) => [typeid, registration.proxytype])),
    );
    this.#owner = false;
    this.#connection = connection;
    this.#managerId = handle.managerId;
    this.#name = handle.name;
    connection.managerName ??= handle.name;
    this.#state = 'started';
    // A connected manager closes with its connection (the server went away).
    connection.onClosed((reason, cause) => {
      this.#state = 'closed';
      this.#closeReason ||= reason;
      this.#resolveClosed?.(cause === undefined ? { reason } : { reason, error: cause });
    });
  }

  /**
   * A handle to this manager's server, to send to another thread inside any value given to
   * `encode()` / `postMessage()` / `createWorker()`; there, `MyManager.connect(decode(...))`.
   */
  handle(): ManagerHandle {
    this.#ready();
    return new ManagerHandle(this.#managerId, this.#name);
  }

  /**
   * Where the server listens for other processes (`start({ address })`, with the port it got
   * when 0 was asked), or where a manager made by `connect({ address })` reached it;
   * `undefined` otherwise.
   */
  get address(): NetworkAddress | undefined {
    return this.#address;
  }

  /** True for the manager that started the server (false for one made by `connect()`). */
  get isOwner(): boolean {
    return this.#owner;
  }

  /** The registered typeids. */
  static get typeids(): string[] {
    return [...this[registrySymbol].keys()];
  }

  /** The manager's unique id (shared with every proxy it hands out). */
  get managerId(): string {
    return this.#managerId;
  }

  /** True once shut down, or after the server worker went away. */
  get closed(): boolean {
    return this.#state === 'closed' || this.#connection?.closed === true;
  }

  /** Starts the server worker and connects to it. Rejects if this manager was started before. */
  async start(options: StartOptions): Promise<this> {
    if (this.#state !== 'initial') {
      throw createManagerError(
        ErrorCode.AlreadyStarted,
        this.#state === 'closed'
          ? 'this manager was shut down: it cannot be started again'
          : 'this manager is already started',
      );
    }
    validateOptions(options, startOptionChecks);
    refuseStartWhileLoadingRegistry();
    if (options.module === undefined) {
      throw createManagerError(
        ErrorCode.InvalidOption,
        "options.module is invalid: the registry module is required (e.g. require.resolve('./managers') or new URL('./managers.js', import.meta.url))",
        { details: { option: 'module' } },
      );
    }
    const settings = options;
    if (settings.address !== undefined && settings.authkey === undefined) {
      throw createManagerError(
        ErrorCode.InvalidOption,
        'options.authkey is required with options.address: every socket must prove it knows it',
        { details: { option: 'authkey' } },
      );
    }
    for (const option of ['authkey', 'tls', 'heartbeatTimeout'] as const) {
      if (settings[option] !== undefined && settings.address === undefined) {
        throw createManagerError(
          ErrorCode.InvalidOption,
          `options.${option} is only used with options.address (listening for other processes)`,
          { details: { option } },
        );
      }
    }
    const modulePath = toFilePath(settings.module, 'options.module');
    if (!isAbsolute(modulePath)) {
      throw createManagerError(
        ErrorCode.InvalidOption,
        `options.module must be an absolute path or a file URL (use require.resolve('./module') or new URL('./module.js', import.meta.url)), got ${inspect(settings.module)}`,
        { details: { option: 'module' } },
      );
    }
    const registry = (this.constructor as typeof ManagerImpl)[registrySymbol];
    checkTargets(registry);
    // Proxies in the initializer's arguments are handed off (their references taken now).
    const initializerArgs = encode([...(settings.initializerArgs ?? [])]);
    this.#state = 'starting';
    this.#managerId = randomUUID();
    // Default name: the class's own name, or (for a class made by register() alone) the
    // name it is exported under, which the server worker reports when ready.
    const className = (this.constructor as { name?: string }).name;
    this.#name = settings.name ?? (className && className !== 'BaseManager' ? className : '');
    const { port1, port2 } = new MessageChannel();
    const key = newConnectionKey();
    const workerData: ServerWorkerData = {
      version: PROTOCOL_VERSION,
      managerId: this.#managerId,
      name: this.#name,
      module: modulePath,
      exportName: settings.exportName,
      initializer: settings.initializer,
      initializerArgs: initializerArgs.value,
      traceBufferSize: settings.traceBufferSize ?? 1000,
      forwardTrace: settings.forwardTrace ?? false,
      maxMessageSize: settings.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE,
      port: port2,
      key,
      liveness: createLiveness(this.#managerId),
      listen:
        settings.address === undefined
          ? undefined
          : {
              address: settings.address,
              authkey: settings.authkey!,
              tls: settings.tls,
              heartbeatTimeout: settings.heartbeatTimeout ?? DEFAULT_HEARTBEAT_TIMEOUT,
              handshakeTimeout: DEFAULT_HANDSHAKE_TIMEOUT,
            },
    };
    let worker: Worker;
    try {
      const entry = workerEntry('server-worker', modulePath);
      worker = new Worker(entry.filename, {
        workerData,
        transferList: [port2, ...initializerArgs.transferList],
        execArgv: entry.execArgv,
        name: `${this.#name} server`,
      });
    } catch (error) {
      port1.close();
      port2.close();
      discard(initializerArgs);
      this.#state = 'closed';
      throw createManagerError(
        ErrorCode.StartFailed,
        `could not start the server worker: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    this.#worker = worker;
    this.#exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    // Wakes threads blocked in synchronous calls when the server dies without running JS.
    worker.once('exit', () => markDead(workerData.liveness));
    const proxyTypes = new Map(
      [...registry].map(([typeid, registration]) => [typeid, registration.proxytype]),
    );
    const connection = new ClientConnection(port1, this.#managerId, key, {
      label: threadLabel(),
      timeout: settings.timeout ?? 0,
      maxMessageSize: settings.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE,
      proxyTypes,
      onClose: (closed) => {
        forgetConnection(closed);
        // A crash closes the port before the worker's exit event: the manager is closed now.
        if (this.#state === 'started') this.#state = 'closed';
      },
      // The port closing unasked means the server worker is going away: wait for its exit
      // (briefly) so that pending calls learn why, with the crash's error as their cause.
      whyClosed: async () => {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          this.#exited,
          new Promise<void>((resolve) => (timer = setTimeout(resolve, 2000))),
        ]);
        clearTimeout(timer);
        return {
          reason: this.#closeReason || 'the server closed the connection',
          cause: this.#crashError,
        };
      },
    });
    this.#connection = connection;
    setConnection(connection);
    try {
      await this.#waitReady(
        worker,
        settings.startTimeout ?? 30_000,
        [...registry.keys()],
        settings.exportName,
      );
    } catch (error) {
      this.#state = 'closed';
      connection.close('the server failed to start', error);
      await worker.terminate();
      this.#resolveClosed?.({ reason: 'the server failed to start', error });
      throw error;
    }
    connection.managerName = this.#name;
    worker.on('exit', (code) => this.#onExit(code));
    worker.on('message', (message: ControlFromServer) => {
      if (message.t !== 'trace' || !traceChannel.hasSubscribers) return;
      for (const event of message.events) traceChannel.publish(event);
    });
    // Without a listener, an uncaught exception in the server worker is re-thrown here and
    // would crash this process: record it as the close reason instead ('exit' follows).
    worker.on('error', (error: unknown) => {
      this.#crashError ??= error;
      this.#closeReason ||= `the server worker crashed: ${(error as Error)?.message ?? String(error)}`;
    });
    worker.unref();
    this.#state = 'started';
    return this;
  }

  #waitReady(
    worker: Worker,
    timeout: number,
    typeids: string[],
    exportName: string | undefined,
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      let lastError: unknown;
      const done = (error?: ManagerError) => {
        clearTimer(timer);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        if (error) reject(error);
        else resolve();
      };
      const onMessage = (message: ControlFromServer) => {
        if (message.t === 'ready') {
          if (this.#name === '') this.#name = message.name;
          this.#address = message.address;
          if (this.#connection !== undefined) this.#connection.address = message.address;
          // The module must export this very class (or one with the same registrations).
          const served = [...message.typeids].sort().join(', ');
          const expected = [...typeids].sort().join(', ');
          if (served === expected) return done();
          done(
            createManagerError(
              ErrorCode.StartFailed,
              `options.module exports a manager class${exportName ? ` (options.exportName '${exportName}')` : ''} whose typeids (${served || 'none'}) differ from this class's (${expected || 'none'}): export the class you start, or name it with options.exportName`,
              { details: { option: exportName ? 'exportName' : 'module' } },
            ),
          );
        } else if (message.t === 'failed') {
          const cause = fromErrorEnvelope(message.error);
          done(
            createManagerError(
              ErrorCode.StartFailed,
              `the server worker failed to start: ${cause.message}`,
              { cause },
            ),
          );
        }
      };
      const onError = (error: unknown) => (lastError = error);
      const onExit = (code: number) =>
        done(
          createManagerError(
            ErrorCode.StartFailed,
            `the server worker exited with code ${code} before it was ready`,
            {
              cause: lastError,
            },
          ),
        );
      const timer = setTimer(
        () =>
          done(
            createManagerError(
              ErrorCode.StartFailed,
              `the server worker was not ready within ${timeout} ms`,
            ),
          ),
        timeout,
      );
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
    });
  }

  #onExit(code: number): void {
    const reason = this.#closeReason || `the server worker exited with code ${code}`;
    this.#state = 'closed';
    this.#connection?.close(reason, this.#crashError);
    this.#resolveClosed?.(
      this.#crashError === undefined && reason === 'the manager was shut down'
        ? { reason }
        : { reason, error: this.#crashError ?? new Error(reason) },
    );
  }

  /** The connection of this thread (rejects if the manager is not started or is closed). */
  #ready(): ClientConnection {
    if (this.#state !== 'started' || this.#connection === undefined || this.#connection.closed) {
      throw createManagerError(
        this.#state === 'initial' || this.#state === 'starting'
          ? ErrorCode.InvalidOption
          : ErrorCode.ManagerClosed,
        this.#state === 'initial' || this.#state === 'starting'
          ? 'the manager is not started: call start() first'
          : `manager ${this.#name} is closed${this.#closeReason ? `: ${this.#closeReason}` : ''}`,
      );
    }
    return this.#connection;
  }

  /**
   * Creates an object of `typeid` in the server and resolves with a proxy to it
   * (one round trip: the server takes the reference before it replies, R2).
   */
  create(typeid: string, ...args: unknown[]): Promise<BaseProxy> {
    try {
      if (typeof typeid !== 'string') {
        throw createManagerError(
          ErrorCode.InvalidOption,
          `create(typeid, ...args): typeid must be the string a type was registered under, got ${inspect(typeid, { depth: 0 })}`,
          { details: { option: 'typeid' } },
        );
      }
      return this.#ready()
        .create(typeid, args)
        .then(undefined, withCallerStack) as Promise<BaseProxy>;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Python's `_debug_info()`; with `holders: true` each object also lists its references per holder. */
  async debugInfo(options: { holders?: boolean } = {}): Promise<string> {
    validateOptions(options, { holders: check.boolean }, 'debugInfo(options): ');
    return formatDebugInfo(await this.entries(), options);
  }

  /** The structured form of debugInfo: one row per hosted object, with its holders. */
  async entries(): Promise<DebugEntry[]> {
    return (await this.#query('#debug')) as DebugEntry[];
  }

  /**
   * The object graph inside the server: which hosted objects hold server-side proxies to which
   * (found as disposal finds them: own properties, arrays, Maps, Sets). For inspectors.
   */
  async references(): Promise<ServerReference[]> {
    return (await this.#query('#refs')) as ServerReference[];
  }

  /** Python's `_number_of_objects()`. */
  async numberOfObjects(): Promise<number> {
    return (await this.#query('#count')) as number;
  }

  /** The server's recent trace events (its ring buffer, `traceBufferSize` long). */
  async trace(): Promise<TraceEvent[]> {
    return ((await this.#query('#inspect')) as InspectSnapshot).trace as TraceEvent[];
  }

  /**
   * Starts (or stops) publishing the server's trace events on this thread's diagnostics
   * channel `TRACE_CHANNEL_NAME`. Only the manager that started the server can.
   */
  forwardTrace(enabled = true): void {
    if (typeof enabled !== 'boolean') {
      throw createManagerError(
        ErrorCode.InvalidOption,
        `forwardTrace(enabled): enabled must be a boolean, got ${inspect(enabled, { depth: 0 })}`,
        { details: { option: 'enabled' } },
      );
    }
    this.#ready();
    if (!this.#owner || this.#worker === undefined) {
      throw createManagerError(
        ErrorCode.NotOwner,
        'only the manager that started the server can forward its trace',
      );
    }
    this.#worker.postMessage({ t: 'trace', enabled });
  }

  /** For the jest matchers. */
  [inspectSymbol](): Promise<InspectSnapshot> {
    return this.#query('#inspect') as Promise<InspectSnapshot>;
  }

  #query(method: string): Promise<unknown> {
    try {
      return this.#ready().query(method).then(undefined, withCallerStack);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Disposes every hosted object (their `Symbol.asyncDispose` / `Symbol.dispose` run), rejects
   * pending calls with `ERR_MANAGER_CLOSED` and ends the server worker. A second call is harmless.
   */
  async shutdown(): Promise<void> {
    if (!this.#owner) {
      throw createManagerError(
        ErrorCode.NotOwner,
        `manager ${this.#name} was reached with connect(): only the manager that started it can shut it down`,
      );
    }
    if (this.#state === 'initial') {
      this.#state = 'closed';
      this.#resolveClosed?.({ reason: 'the manager was shut down before it started' });
      return;
    }
    const worker = this.#worker;
    if (worker === undefined) return;
    // Closed already: its server worker exits, or was told to. Its port may also have closed
    // while the worker goes on (not by a crash): it is told to stop all the same.
    if (this.#state === 'closed') return this.#stopWorker(worker);
    this.#state = 'closed';
    this.#closeReason = 'the manager was shut down';
    await this.#connection?.flushReleases();
    if (this.#connection) this.#connection.expectedCloseReason = this.#closeReason;
    await this.#stopWorker(worker);
    this.#connection?.close(this.#closeReason);
    this.#resolveClosed?.({ reason: this.#closeReason });
  }

  /** Tells the server worker to shut down and waits for its exit (terminated after 10 s). */
  async #stopWorker(worker: Worker): Promise<void> {
    worker.postMessage({ t: 'shutdown' });
    worker.ref();
    const timer = setTimeout(() => void worker.terminate(), 10_000);
    await this.#exited;
    clearTimeout(timer);
  }

  /**
   * For a manager made by `connect({ address, authkey })`: gives up this thread's socket to the
   * server. The socket closes once every such manager of this thread (they share it) has
   * disconnected; then the proxies of this thread for that server stop working
   * (`ERR_MANAGER_CLOSED`) and the server releases their references. Releases made before are
   * sent first. A connection this thread had before its first `connect()` (the owner's own, when
   * a process connects to the manager it started) is shared and left open. Does nothing for
   * other managers, or a second time.
   */
  async disconnect(): Promise<void> {
    if (!this.#remote || this.#connection === undefined) return;
    this.#remote = false;
    const connection = this.#connection;
    if (--connection.remoteUsers > 0 || connection.closed || !connection.openedByConnect) return;
    await connection.flushReleases();
    connection.close('disconnected');
  }

  /**
   * `await using manager = …`: the owner shuts the manager down at the end of the block; a
   * manager made by `connect({ address })` disconnects (see {@link disconnect}).
   */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#owner) await this.shutdown();
    else await this.disconnect();
  }

  toString(): string {
    return `<${(this.constructor as { name?: string }).name || 'Manager'} ${this.#name} ${this.#state}>`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/** A manager instance of registry `R`: the base API plus one create method per typeid. */
export type ManagerInstance<R extends RegistrySpec> = Omit<ManagerImpl, 'create' | 'start'> &
  CreateMethods<R> & {
    /** Creates an object of `typeid`; resolves with a proxy to it. */
    create<K extends keyof R & string>(typeid: K, ...args: R[K]['args']): Promise<ProxyOf<R, K>>;
    /** Starts the server worker (a manager made with `new`). */
    start(options: StartOptions): Promise<ManagerInstance<R>>;
  };

/** A manager class of registry `R` (what `BaseManager.register` returns). */
export interface ManagerClass<R extends RegistrySpec> {
  new (): ManagerInstance<R>;
  readonly prototype: ManagerInstance<R>;
  /** The registered typeids. */
  readonly typeids: string[];
  /**
   * Registers `typeid` (Python's `register`): returns a new manager class with it; the
   * receiver is unchanged. Options are validated: an invalid one is an `ERR_INVALID_OPTION`
   * error naming it.
   */
  register<
    K extends string,
    C extends Callable | null = null,
    const M extends Readonly<Record<string, string>> = {},
    CM extends boolean = true,
    const E extends readonly string[] | undefined = undefined,
  >(
    typeid: K,
    options?: TypedRegisterOptions<C, M, CM, E>,
  ): ManagerClass<R & { [P in K]: SpecOf<C, M, CM, E> }>;
  /** Creates a manager of this class and starts its server worker. */
  start(options: StartOptions): Promise<ManagerInstance<R>>;
  /**
   * A manager of this class attached to a running server (it cannot shut it down): through a
   * handle received from another thread, or over a socket to a manager in another process that
   * listens (`{ address, authkey }`; rejects with `ERR_AUTHENTICATION` for a wrong key).
   */
  connect(handle: ManagerHandle | RemoteConnectOptions): Promise<ManagerInstance<R>>;
}

/**
 * The proxy type of typeid `K` of a manager class (or manager) `M`:
 *
 * ```ts
 * export const MyManager = BaseManager.register('Counter', { callable: Counter });
 * export type CounterProxy = ProxyFor<typeof MyManager, 'Counter'>;
 * ```
 */
export type ProxyFor<M, K extends string> =
  M extends ManagerClass<infer R>
    ? K extends keyof R
      ? ProxyOf<R, K>
      : never
    : M extends ManagerInstance<infer R>
      ? K extends keyof R
        ? ProxyOf<R, K>
        : never
      : never;

/** The base manager class, with no typeids registered. See {@link ManagerClass}. */
export const BaseManager = ManagerImpl as unknown as ManagerClass<{}>;
/** A manager of registry `R`. */
export type BaseManager<R extends RegistrySpec = RegistrySpec> = ManagerInstance<R>;

/** True when `value` is a manager class (from any copy of this module). */
export function isManagerClass(value: unknown): value is typeof ManagerImpl {
  return (
    typeof value === 'function' &&
    (value as { [managerClassSymbol]?: unknown })[managerClassSymbol] === true
  );
}

export { ManagerImpl };
