import { connect as connectNet, isIP, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { authenticateServer } from './auth';
import type { NetworkAddress, TlsSettings } from './address';
import { SocketChannel } from './socket-channel';
import { clearTimer, setTimer } from '../timer';

/** Options of {@link dial}. */
export interface DialOptions {
  readonly address: NetworkAddress;
  readonly authkey: Buffer;
  /** `true`: TLS trusting the system's CAs; an object: TLS with these settings. */
  readonly tls?: TlsSettings | true;
  /** How long connecting and the handshake may take, in ms. */
  readonly timeout: number;
  readonly maxFrameBytes: number;
}

/**
 * Connects to a listening manager and authenticates both ways; resolves with the socket and
 * the bytes that arrived after the handshake. Rejects with the socket's error or a
 * `HandshakeError`.
 */
export async function dial(options: DialOptions): Promise<{ socket: Socket; rest: Buffer }> {
  const socket = await open(options);
  try {
    const rest = await authenticateServer(socket, options.authkey, options.timeout);
    return { socket, rest };
  } catch (error) {
    socket.destroy();
    throw error;
  }
}

function open(options: DialOptions): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const address = options.address;
    const tls = options.tls;
    let socket: Socket;
    const connected = () => {
      clearTimer(timer);
      socket.off('error', failed);
      socket.on('error', () => undefined);
      resolve(socket);
    };
    const failed = (error: Error) => {
      clearTimer(timer);
      socket.destroy();
      reject(error);
    };
    if (tls !== undefined) {
      const settings = tls === true ? {} : tls;
      socket = connectTls(
        {
          ...('path' in address
            ? { path: address.path }
            : { host: address.host ?? '127.0.0.1', port: address.port }),
          ca: settings.ca as string[] | undefined,
          servername:
            settings.servername ??
            ('path' in address || isIP(address.host ?? '127.0.0.1') !== 0
              ? undefined
              : address.host),
          rejectUnauthorized: settings.rejectUnauthorized ?? true,
        },
        connected,
      );
    } else {
      socket =
        'path' in address
          ? connectNet({ path: address.path }, connected)
          : connectNet({ host: address.host ?? '127.0.0.1', port: address.port }, connected);
    }
    socket.once('error', failed);
    const timer = setTimer(
      () => failed(new Error(`no connection within ${options.timeout} ms`)),
      options.timeout,
    );
  });
}

export { SocketChannel };
