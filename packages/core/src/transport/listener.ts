import { lstatSync, unlinkSync } from 'node:fs';
import {
  connect,
  createServer as createNetServer,
  type AddressInfo,
  type Server as NetServer,
  type Socket,
} from 'node:net';
import { createSecureContext, TLSSocket } from 'node:tls';
import { authenticateClient } from './auth';
import type { NetworkAddress, TlsSettings } from './address';
import { SocketChannel } from './socket-channel';
import { clearTimer, setTimer } from '../timer';

/** Sockets still in their handshake at once, at most: more are closed at once (a flood). */
const MAX_PENDING_HANDSHAKES = 128;

/** Options of {@link listen}. */
export interface ListenerOptions {
  readonly address: NetworkAddress;
  readonly authkey: Buffer;
  readonly tls?: TlsSettings;
  /** How long an unauthenticated socket may take to answer the challenge. */
  readonly handshakeTimeout: number;
  readonly maxFrameBytes: number;
  readonly heartbeatTimeout: number;
  /** Called with each authenticated socket, ready for the protocol. */
  readonly onChannel: (channel: SocketChannel) => void;
  /** Called when a socket fails its handshake (no secret in `reason`). */
  readonly onRefused?: (reason: string) => void;
}

/** A listening manager server's socket. */
export interface Listener {
  /** The bound address (`port` filled in when 0 was asked). */
  readonly address: NetworkAddress;
  close(): Promise<void>;
}

/**
 * Listens on TCP or a Unix domain socket (optionally TLS). Every socket must pass the authkey
 * handshake (after TLS's, with TLS) within `handshakeTimeout` before a single byte reaches the
 * protocol decoder; one that fails, stalls or misbehaves is destroyed, and nothing of it is
 * kept. At most 128 sockets are in their handshakes at once: a new one evicts the oldest, so
 * idle connections (a flood) cannot lock out clients that answer.
 */
export function listen(options: ListenerOptions): Promise<Listener> {
  /** Sockets not yet authenticated, oldest first. */
  const pending = new Set<Socket>();
  const tls = options.tls;
  const secureContext =
    tls === undefined
      ? undefined
      : createSecureContext({ key: tls.key, cert: tls.cert, ca: tls.ca as string[] | undefined });
  const onConnection = (raw: Socket) => {
    raw.on('error', () => undefined);
    if (pending.size >= MAX_PENDING_HANDSHAKES) {
      const oldest = pending.values().next().value!;
      pending.delete(oldest);
      oldest.destroy();
    }
    pending.add(raw);
    raw.once('close', () => pending.delete(raw));
    // One deadline for the whole way in (TLS, then the authkey).
    const deadline = setTimer(() => raw.destroy(), options.handshakeTimeout);
    deadline?.unref();
    const authenticate = (socket: Socket) => {
      socket.pause();
      authenticateClient(socket, options.authkey, options.handshakeTimeout).then(
        () => {
          clearTimer(deadline);
          pending.delete(raw);
          if (socket.destroyed) return;
          options.onChannel(
            new SocketChannel(socket, {
              maxFrameBytes: options.maxFrameBytes,
              heartbeatTimeout: options.heartbeatTimeout,
            }),
          );
        },
        (error: Error) => {
          clearTimer(deadline);
          pending.delete(raw);
          options.onRefused?.(error.message);
          // A refusal was answered (0x00) by the handshake: let it reach the client, then cut.
          setTimeout(() => socket.destroy(), 100).unref();
          socket.end();
        },
      );
    };
    if (secureContext === undefined) return authenticate(raw);
    const secure = new TLSSocket(raw, { isServer: true, secureContext });
    // A TLS handshake that fails never becomes a secure connection: drop it.
    secure.on('error', () => raw.destroy());
    secure.once('secure', () => authenticate(secure));
  };
  const server: NetServer = createNetServer(onConnection);
  return bind(server, options.address).then((address) => ({
    address,
    close: () => new Promise<void>((done) => server.close(() => done())),
  }));
}

/**
 * Binds `server`. A Unix socket path left behind by a process that died (nothing answers on
 * it) is removed and bound again; one where a server answers is in use, as for TCP.
 */
async function bind(server: NetServer, address: NetworkAddress): Promise<NetworkAddress> {
  try {
    return await listenOnce(server, address);
  } catch (error) {
    if (!('path' in address) || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    // Only a socket file nobody serves is removed: never a regular file, never a live server's.
    if (!isSocketFile(address.path) || (await answers(address.path))) throw error;
    unlinkSync(address.path);
    return listenOnce(server, address);
  }
}

function isSocketFile(path: string): boolean {
  try {
    return lstatSync(path).isSocket();
  } catch {
    return false;
  }
}

/**
 * False only when nothing listens on the Unix socket `path` (the connect is refused): a busy
 * server (a full backlog), a slow one or any other error counts as alive.
 */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect({ path });
    const timer = setTimeout(() => {
      probe.destroy();
      resolve(true);
    }, 1000);
    probe.once('connect', () => {
      clearTimeout(timer);
      probe.destroy();
      resolve(true);
    });
    probe.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(error.code !== 'ECONNREFUSED');
    });
  });
}

function listenOnce(server: NetServer, asked: NetworkAddress): Promise<NetworkAddress> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const ready = () => {
      server.off('error', reject);
      server.on('error', () => undefined);
      resolve(boundAddress(server, asked));
    };
    if ('path' in asked) server.listen(asked.path, ready);
    else server.listen(asked.port, asked.host ?? '127.0.0.1', ready);
  });
}

function boundAddress(server: NetServer, asked: NetworkAddress): NetworkAddress {
  if ('path' in asked) return { path: asked.path };
  const info = server.address() as AddressInfo;
  return { host: asked.host ?? '127.0.0.1', port: info.port };
}
