/** Where a manager listens or is reached: TCP (`host`, `port`) or a Unix domain socket (`path`). */
export type NetworkAddress = TcpAddress | UnixAddress;

/** A TCP address. `port: 0` when listening asks for a free port (see `manager.address`). */
export interface TcpAddress {
  /** Host name or IP (default `127.0.0.1`: loopback only; `0.0.0.0` or `::` listens everywhere). */
  readonly host?: string;
  readonly port: number;
}

/** A Unix domain socket (on Windows, a named pipe path). */
export interface UnixAddress {
  readonly path: string;
}

/** TLS settings: given, sockets are TLS (`node:tls`); the authkey handshake still runs inside. */
export interface TlsSettings {
  /** Server: its private key (PEM). */
  readonly key?: string | Buffer;
  /** Server: its certificate chain (PEM). */
  readonly cert?: string | Buffer;
  /** Certificates to trust instead of the system's (a self-signed server's own cert). */
  readonly ca?: string | Buffer | readonly (string | Buffer)[];
  /** Client: the name to check the server's certificate against (default: the host). */
  readonly servername?: string;
  /** Client: reject a server whose certificate does not verify (default true). */
  readonly rejectUnauthorized?: boolean;
}

/** Describes an address for messages: `127.0.0.1:43121`, `/run/app.sock`. */
export function describeAddress(address: NetworkAddress): string {
  if ('path' in address) return address.path;
  const host = address.host ?? '127.0.0.1';
  return host.includes(':') ? `[${host}]:${address.port}` : `${host}:${address.port}`;
}

/** What is wrong with `value` as an address, or undefined. */
export function checkAddress(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) {
    return "must be { host, port } or { path } (e.g. { host: '127.0.0.1', port: 0 })";
  }
  const address = value as Record<string, unknown>;
  if ('path' in address) {
    if (Object.keys(address).some((key) => key !== 'path'))
      return 'must be { path } alone for a Unix socket';
    return typeof address.path === 'string' && address.path.length > 0
      ? undefined
      : 'must have a non-empty string path';
  }
  const extra = Object.keys(address).filter((key) => key !== 'host' && key !== 'port');
  if (extra.length) return `has unknown key '${extra[0]}' (expected host, port or path)`;
  if (
    !Number.isInteger(address.port) ||
    (address.port as number) < 0 ||
    (address.port as number) > 65535
  )
    return 'must have an integer port from 0 to 65535';
  if (address.host !== undefined && (typeof address.host !== 'string' || address.host.length === 0))
    return 'must have a non-empty string host';
  return undefined;
}

/** What is wrong with `value` as an authkey, or undefined. */
export function checkAuthkey(value: unknown): string | undefined {
  if (typeof value === 'string') return value.length > 0 ? undefined : 'must not be empty';
  if (value instanceof Uint8Array) return value.length > 0 ? undefined : 'must not be empty';
  return 'must be a string or a Uint8Array';
}

/** What is wrong with `value` as TLS settings, or undefined. */
export function checkTls(value: unknown): string | undefined {
  if (value === true) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return 'must be true or an object of { key, cert, ca, servername, rejectUnauthorized }';
  const known = new Set(['key', 'cert', 'ca', 'servername', 'rejectUnauthorized']);
  const unknown = Object.keys(value).find((key) => !known.has(key));
  return unknown === undefined ? undefined : `has unknown key '${unknown}'`;
}
