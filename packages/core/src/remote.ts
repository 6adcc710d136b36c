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
import { SocketChannel } from './transport/socket-channel';
import { DEFAULT_MAX_MESSAGE_SIZE } from './message-size';
import { check, validateOptions, type OptionCheck } from './options';

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
    typeof welcome.heartbeatTimeout !== 'number'
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
): Promise<{ connection: ClientConnection; welcome: Welcome }> {
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
  const where = describeAddress(options.address);
  const timeout = options.connectTimeout ?? 10_000;
  const maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  let dialed: Awaited<ReturnType<typeof dial>>;
  try {
    dialed = await dial({
      address: options.address,
      authkey: authkeyBytes(options.authkey),
      tls: options.tls,
      timeout,
      maxFrameBytes: frameLimit(maxMessageSize),
    });
  } catch (error) {
    throw connectError(where, error);
  }
  const channel = new SocketChannel(dialed.socket, {
    maxFrameBytes: frameLimit(maxMessageSize),
    heartbeatTimeout: 0,
    initial: dialed.rest,
  });
  const welcome = await new Promise<Welcome>((resolve, reject) => {
    const timer = setTimeout(() => {
      channel.destroy('no welcome');
      reject(
        createManagerError(
          ErrorCode.ManagerClosed,
          `cannot connect to the manager at ${where}: it did not say welcome within ${timeout} ms`,
        ),
      );
    }, timeout);
    const onClose = () => {
      clearTimeout(timer);
      reject(
        createManagerError(
          ErrorCode.ManagerClosed,
          `cannot connect to the manager at ${where}: the server closed the socket (${channel.closeReason ?? 'it is shutting down, or refused this client'})`,
        ),
      );
    };
    channel.once('close', onClose);
    channel.once('message', (message: unknown) => {
      clearTimeout(timer);
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
  const existing = connectionFor(welcome.managerId);
  if (existing !== undefined) {
    // One connection per thread per manager: the one it has serves.
    channel.close();
    return { connection: existing, welcome };
  }
  channel.setHeartbeat(welcome.heartbeatTimeout);
  const connection = new ClientConnection(channel, welcome.managerId, '', {
    label: remoteLabel(),
    timeout: options.timeout ?? 0,
    maxMessageSize,
    proxyTypes,
    onClose: (closed) => forgetConnection(closed),
    whyClosed: async () => ({
      reason:
        channel.closeReason === undefined
          ? `the server at ${where} closed the connection`
          : `the connection to ${where} was closed: ${channel.closeReason}`,
    }),
  });
  connection.managerName = welcome.name;
  connection.address = options.address;
  setConnection(connection);
  return { connection, welcome };
}

function connectError(where: string, error: unknown): ManagerError {
  if (error instanceof HandshakeError && error.kind === 'refused') {
    return createManagerError(
      ErrorCode.Authentication,
      `cannot connect to the manager at ${where}: ${error.message} (check that both sides use the same authkey)`,
      { details: { address: where } },
    );
  }
  return createManagerError(
    ErrorCode.ManagerClosed,
    `cannot connect to the manager at ${where}: ${(error as Error)?.message ?? inspect(error)}`,
    { cause: error, details: { address: where } },
  );
}
