/**
 * The entry of the server worker: loads the registry module (as Python's spawn re-imports
 * `__main__`), runs the initializer, then serves connections until told to shut down.
 */
import '@managers/refcount/polyfill';
import { parentPort, workerData } from 'node:worker_threads';
import { createManagerError, ErrorCode } from '@managers/refcount';
import { toErrorEnvelope } from './error-envelope';
import { decode } from './handoff';
import { loadModule } from './load-module';
import { isManagerClass, registrySymbol, type ManagerImpl } from './manager';
import { PROTOCOL_VERSION, type ControlToServer, type ServerWorkerData } from './protocol';
import { loadingRegistryModule, setRegistryModule } from './registry-module';
import { Server } from './server/index';
import { installSyncExitHooks } from './sync-server';
import { authkeyBytes } from './transport/auth';
import { describeAddress } from './transport/address';
import { listen, type Listener } from './transport/listener';
import { frameLimit } from './transport/limits';

const data = workerData as ServerWorkerData;
const control = parentPort!;
installSyncExitHooks(data.managerId, data.liveness);

let exportName = data.exportName ?? '';

function findManagerClass(exports: Record<string, unknown>): typeof ManagerImpl {
  if (data.exportName !== undefined) {
    const named = exports[data.exportName];
    if (!isManagerClass(named)) {
      throw createManagerError(
        ErrorCode.StartFailed,
        `options.exportName: '${data.exportName}' exported by ${data.module} is not a manager class`,
        { details: { option: 'exportName' } },
      );
    }
    return named;
  }
  const found = Object.entries(exports).filter(([, value]) => isManagerClass(value));
  if (found.length !== 1) {
    throw createManagerError(
      ErrorCode.StartFailed,
      found.length === 0
        ? `options.module: ${data.module} exports no manager class (export the class that register() returned)`
        : `options.module: ${data.module} exports ${found.length} manager classes (${found
            .map(([name]) => name)
            .join(', ')}): name one with options.exportName`,
      { details: { option: found.length === 0 ? 'module' : 'exportName' } },
    );
  }
  exportName = found[0]![0];
  return found[0]![1] as typeof ManagerImpl;
}

async function main(): Promise<void> {
  if (data.version !== PROTOCOL_VERSION) {
    throw createManagerError(
      ErrorCode.StartFailed,
      `protocol version mismatch: caller ${data.version}, server ${PROTOCOL_VERSION}`,
    );
  }
  const exports = await loadingRegistryModule(data.module, () => loadModule(data.module));
  setRegistryModule(data.module, exports);
  const managerClass = findManagerClass(exports);
  if (data.initializer !== undefined) {
    const initializer = exports[data.initializer];
    if (typeof initializer !== 'function') {
      throw createManagerError(
        ErrorCode.StartFailed,
        `options.initializer: '${data.initializer}' is not a function exported by ${data.module}`,
        { details: { option: 'initializer' } },
      );
    }
    // Proxies in the arguments were handed off by start(): this thread adopts them here.
    const args = decode<unknown[]>(data.initializerArgs);
    await (initializer as (...args: unknown[]) => unknown)(...args);
  }
  // Trace forwarding to the owner thread (for its diagnostics_channel): batched per tick. The
  // listener is only set while forwarding, so that without it (and with traceBufferSize 0) the
  // table builds no events at all.
  let forwarded: unknown[] = [];
  const sendForwarded = () => {
    control.postMessage({ t: 'trace', events: forwarded });
    forwarded = [];
  };
  const forward = (event: unknown) => {
    if (forwarded.push(event) === 1) setImmediate(sendForwarded);
  };
  const server = new Server({
    managerId: data.managerId,
    name: data.name || exportName || 'manager',
    registry: managerClass[registrySymbol],
    traceBufferSize: data.traceBufferSize,
    maxMessageSize: data.maxMessageSize,
    onTrace: data.forwardTrace ? forward : undefined,
  });
  let listener: Listener | undefined;
  if (data.listen !== undefined) {
    const settings = data.listen;
    const typeids = [...managerClass[registrySymbol].keys()];
    try {
      listener = await listen({
        address: settings.address,
        authkey: authkeyBytes(settings.authkey),
        tls: settings.tls,
        handshakeTimeout: settings.handshakeTimeout,
        heartbeatTimeout: settings.heartbeatTimeout,
        maxFrameBytes: frameLimit(data.maxMessageSize),
        onChannel: (channel) =>
          server.acceptRemote(channel, {
            typeids,
            heartbeatTimeout: settings.heartbeatTimeout,
            maxMessageSize: data.maxMessageSize,
          }),
        onRefused: (reason) => server.table.traceReject(`socket refused: ${reason}`),
      });
    } catch (error) {
      throw createManagerError(
        ErrorCode.StartFailed,
        `options.address: cannot listen on ${describeAddress(settings.address)}: ${(error as Error).message}`,
        { cause: error, details: { option: 'address' } },
      );
    }
    server.listenAddress = listener.address;
  }
  control.on('message', (message: ControlToServer) => {
    if (message.t === 'trace') server.table.setTraceListener(message.enabled ? forward : undefined);
    else if (message.t === 'shutdown') {
      void listener?.close();
      void server.shutdown().finally(() => {
        control.postMessage({ t: 'closed' });
        process.exit(0);
      });
    }
  });
  server.accept(data.port, data.key);
  control.postMessage({
    t: 'ready',
    version: PROTOCOL_VERSION,
    typeids: [...managerClass[registrySymbol].keys()],
    name: data.name || exportName || 'manager',
    address: listener?.address,
  });
}

main().catch((error: unknown) => {
  control.postMessage({ t: 'failed', error: toErrorEnvelope(error) });
  process.exit(1);
});
