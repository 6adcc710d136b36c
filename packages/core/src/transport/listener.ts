import { lstatSync, unlinkSync } from 'node:fs';
import {
  connect,
  createServer as createNetServer,
  type AddressInfo,
  type Server as NetServer,
  type Socket,
} from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { authenticateClient } from './auth';
import type { NetworkAddress, TlsSettings } from './address';
import { SocketChannel } from './socket-channel';

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
 * handshake before a single byte reaches the protocol decoder; one that fails, stalls or
 * misbehaves is destroyed, and nothing of it is kept.
 */
export function listen(options: ListenerOptions): Promise<Listener> {
  let pending = 0;
  const onSocket = (socket: Socket) => {
    socket.on('error', () => undefined);
    if (pending >= MAX_PENDING_HANDSHAKES) return socket.destroy();
    pending++;
    socket.pause();
    authenticateClient(socket, options.authkey, options.handshakeTimeout).then(
      () => {
        pending--;
        if (socket.destroyed) return;
        options.onChannel(
          new SocketChannel(socket, {
            maxFrameBytes: options.maxFrameBytes,
            heartbeatTimeout: options.heartbeatTimeout,
          }),
        );
      },
      (error: Error) => {
        pending--;
        options.onRefused?.(error.message);
        // A refusal was answered (0x00) by the handshake: let it reach the client, then cut.
        setTimeout(() => socket.destroy(), 100).unref();
        socket.end();
      },
    );
  };
  const tls = options.tls;
  const server: NetServer = tls
    ? createTlsServer(
        { key: tls.key, cert: tls.cert, ca: tls.ca as string[] | undefined },
        onSocket,
      )
    : createNetServer(onSocket);
  // A TLS handshake that fails never becomes a secure connection: nothing to do but drop it.
  server.on('tlsClientError', () => undefined);
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

/** True when something accepts connections on the Unix socket `path`. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect({ path });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
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
