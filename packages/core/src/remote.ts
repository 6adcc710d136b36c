import { inspect } from 'node:util';
import { createManagerError, ErrorCode, type ManagerError } from '@managers/refcount';
import { ClientConnection } from './client-connection';
import { PROTOCOL_VERSION } from './protocol';
import type { ProxyType } from './registration';
import { connectionFor, forgetConnection, setConnection, threadLabel } from './threads';
import { authkeyBytes, HandshakeError } from './transport/auth';
import {
  checkAddress,
  checkAuthkey,
  checkTls,
  describeAddress,
  type NetworkAddress,
  type TlsSettings,
} from './transport/address';
import { dial } from './transport/dial';
import { frameLimit } from './transport/limits';
import { PendingChannel } from './transport/pending-channel';
import { SocketChannel } from './transport/socket-channel';
import { DEFAULT_MAX_MESSAGE_SIZE } from './message-size';
import { check, validateOptions, type OptionCheck } from './options';
import { clearTimer, setTimer } from './timer';

/** Options of `MyManager.connect({ address, authkey })`: a manager in another process. */
export interface RemoteConnectOptions {
  /** Where the manager listens (`manager.address` in its process). */
  readonly address: NetworkAddress;
  /** The key the manager was started with (a string is taken as UTF-8). */
  readonly authkey: string | Uint8Array;
  /** TLS: `true` to trust the system's CAs, or settings (`ca` for a self-signed server). */
  readonly tls?: TlsSettings | true;
  /** Default timeout of every call in ms (default 0: none). */
  readonly timeout?: number;
  /** How long connecting and authenticating may take, in ms (default 10000). */
  readonly connectTimeout?: number;
  /** The largest message this process sends, in bytes (default 64 MiB). */
  readonly maxMessageSize?: number;
}

export const remoteConnectOptionChecks: Readonly<Record<string, OptionCheck>> = {
  address: checkAddress,
  authkey: checkAuthkey,
  tls: checkTls,
  timeout: check.nonNegativeNumber,
  connectTimeout: check.positiveNumber,
  maxMessageSize: (value) =>
    Number.isInteger(value) && (value as number) > 0
      ? undefined
      : 'must be a positive integer (bytes)',
};

/** What a listening server says first on an authenticated socket. */
export interface Welcome {
  readonly managerId: string;
  readonly name: string;
  readonly typeids: readonly string[];
  readonly heartbeatTimeout: number;
  /** The server's `maxMessageSize`: this side sends within it, and accepts replies up to it. */
  readonly maxMessageSize: number;
  readonly address: NetworkAddress | undefined;
}

/** A thread's label as a remote server sees it: the thread and its process. */
function remoteLabel(): string {
  return `${threadLabel()}.pid-${process.pid}`;
}

function welcomeOf(message: unknown): Welcome | string {
  const welcome = message as Record<string, unknown> | null;
  if (typeof welcome !== 'object' || welcome === null || welcome.t !== 'welcome')
    return 'the server did not say welcome';
  if (welcome.version !== PROTOCOL_VERSION)
    return `protocol version mismatch: this process speaks ${PROTOCOL_VERSION}, the server ${String(welcome.version)}`;
  if (
    typeof welcome.managerId !== 'string' ||
    typeof welcome.name !== 'string' ||
    !Array.isArray(welcome.typeids) ||
    typeof welcome.heartbeatTimeout !== 'number' ||
    !Number.isSafeInteger(welcome.maxMessageSize) ||
    (welcome.maxMessageSize as number) <= 0
  )
    return 'the server sent a malformed welcome';
  return welcome as unknown as Welcome;
}

/**
 * Connects this thread to a manager listening in another process (or this one), authenticating
 * with the authkey. Reuses this thread's connection when it has one to that manager already.
 * Rejects with `ERR_AUTHENTICATION` for a wrong key, `ERR_MANAGER_CLOSED` when nothing answers.
 */
export async function connectRemote(
  options: RemoteConnectOptions,
  proxyTypes?: ReadonlyMap<string, ProxyType | undefined>,
): Promise<{ connection: ClientConnection; welcome: Welcome; created: boolean }> {
  validateOptions(options, remoteConnectOptionChecks, 'connect(): ');
  for (const required of ['address', 'authkey'] as const) {
    if (options[required] === undefined) {
      throw createManagerError(
        ErrorCode.InvalidOption,
        `connect(): options.${required} is required to reach a manager in another process`,
        { details: { option: required } },
      );
    }
  }
  const settings: RemoteSettings = {
    address: options.address,
    authkey: options.authkey,
    ...(options.tls === undefined ? {} : { tls: options.tls }),
    maxMessageSize: options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE,
    timeout: options.timeout ?? 0,
    connectTimeout: options.connectTimeout ?? 10_000,
  };
  const { channel, welcome } = await openChannel(settings, options.connectTimeout ?? 10_000);
  const existing = connectionFor(welcome.managerId);
  if (existing !== undefined) {
    // One connection per thread per manager: the one it has serves.
    channel.close();
    return { connection: existing, welcome, created: false };
  }
  const connection = remoteConnection(
    channel,
    welcome.managerId,
    { ...settings, maxMessageSize: Math.min(settings.maxMessageSize, welcome.maxMessageSize) },
    { timeout: options.timeout ?? 0, proxyTypes },
  );
  connection.managerName = welcome.name;
  return { connection, welcome, created: true };
}

/**
 * How to reach a remote manager, as a connection remembers it: a thread that receives one of
 * its proxies from this thread connects with the same settings (they travel inside the
 * process only, in the envelope of the proxy).
 */
export interface RemoteSettings {
  readonly address: NetworkAddress;
  readonly authkey: string | Uint8Array;
  readonly tls?: TlsSettings | true;
  readonly maxMessageSize: number;
  /** The default call timeout of the connection these settings came from (ms; 0: none). */
  readonly timeout?: number;
  /** How long connecting may take (ms). */
  readonly connectTimeout?: number;
}

/** A ClientConnection over a socket channel (open or still connecting), registered for this thread. */
function remoteConnection(
  channel: SocketChannel | PendingChannel,
  managerId: string,
  settings: RemoteSettings,
  options: { timeout: number; proxyTypes?: ReadonlyMap<string, ProxyType | undefined> },
): ClientConnection {
  const where = describeAddress(settings.address);
  const connection = new ClientConnection(channel, managerId, '', {
    label: remoteLabel(),
    timeout: options.timeout,
    maxMessageSize: settings.maxMessageSize,
    proxyTypes: options.proxyTypes,
    onClose: (closed) => forgetConnection(closed),
    whyClosed: async () => ({
      reason:
        channel.closeReason === undefined
          ? `the server at ${where} closed the connection`
          : `the connection to ${where} was closed: ${channel.closeReason}`,
    }),
  });
  connection.address = settings.address;
  connection.remoteSettings = settings;
  setConnection(connection);
  return connection;
}

/**
 * This thread's connection to the remote manager `managerId`, made at once from `settings`
 * (received with one of its proxies) while its socket connects: calls made meanwhile wait in
 * order. If connecting fails (or the server is another manager), the connection closes and its
 * calls reject with `ERR_MANAGER_CLOSED` saying why.
 */
export function connectLater(managerId: string, settings: RemoteSettings): ClientConnection {
  const opened = openChannel(settings, settings.connectTimeout ?? 10_000).then(
    ({ channel, welcome }) => {
      if (welcome.managerId !== managerId) {
        channel.close();
        throw new Error(`the manager at ${describeAddress(settings.address)} is another manager`);
      }
      return channel;
    },
  );
  const channel = new PendingChannel(opened, frameLimit(settings.maxMessageSize));
  return remoteConnection(channel, managerId, settings, { timeout: settings.timeout ?? 0 });
}

/** Dials, authenticates and waits for the server's welcome. */
async function openChannel(
  settings: RemoteSettings,
  timeout: number,
): Promise<{ channel: SocketChannel; welcome: Welcome }> {
  const where = describeAddress(settings.address);
  let dialed: Awaited<ReturnType<typeof dial>>;
  try {
    dialed = await dial({
      address: settings.address,
      authkey: authkeyBytes(settings.authkey),
      tls: settings.tls,
      timeout,
      maxFrameBytes: frameLimit(settings.maxMessageSize),
    });
  } catch (error) {
    throw connectError(where, error, settings.tls !== undefined);
  }
  const channel = new SocketChannel(dialed.socket, {
    maxFrameBytes: frameLimit(settings.maxMessageSize),
    heartbeatTimeout: 0,
    initial: dialed.rest,
  });
  const welcome = await new Promise<Welcome>((resolve, reject) => {
    const timer = setTimer(() => {
      channel.destroy('no welcome');
      reject(
        createManagerError(
          ErrorCode.ManagerClosed,
          `cannot connect to the manager at ${where}: it did not say welcome within ${timeout} ms`,
        ),
      );
    }, timeout);
    const onClose = () => {
      clearTimer(timer);
      reject(
        createManagerError(
          ErrorCode.ManagerClosed,
          `cannot connect to the manager at ${where}: the server closed the socket (${channel.closeReason ?? 'it is shutting down, or refused this client'})`,
        ),
      );
    };
    channel.once('close', onClose);
    channel.once('message', (message: unknown) => {
      clearTimer(timer);
      channel.off('close', onClose);
      const result = welcomeOf(message);
      if (typeof result === 'string') {
        channel.destroy(result);
        return reject(
          createManagerError(
            ErrorCode.BadMessage,
            `cannot connect to the manager at ${where}: ${result}`,
          ),
        );
      }
      resolve(result);
    });
    channel.start();
  });
  channel.setHeartbeat(welcome.heartbeatTimeout);
  channel.setFrameLimits(
    frameLimit(Math.min(settings.maxMessageSize, welcome.maxMessageSize)),
    frameLimit(Math.max(settings.maxMessageSize, welcome.maxMessageSize)),
  );
  return { channel, welcome };
}

function connectError(where: string, error: unknown, tls: boolean): ManagerError {
  if (error instanceof HandshakeError && error.kind === 'refused') {
    return createManagerError(
      ErrorCode.Authentication,
      `cannot connect to the manager at ${where}: ${error.message} (check that both sides use the same authkey)`,
      { details: { address: where } },
    );
  }
  // A plain client at a TLS server sees its socket closed before the greeting.
  const hint =
    error instanceof HandshakeError && !tls ? ' (if the manager listens with TLS, pass tls)' : '';
  return createManagerError(
    ErrorCode.ManagerClosed,
    `cannot connect to the manager at ${where}: ${(error as Error)?.message ?? inspect(error)}${hint}`,
    { cause: error, details: { address: where } },
  );
}
