import { inspect } from 'node:util';
import { createManagerError, ErrorCode, withCallerStack } from '@managers/refcount';
import { isProxy, type BaseProxy, type Remote, type Token } from '@managers/proxy';
import { checkSendable, sendingConnection } from './handoff';
import { knownProxyType } from './registration';
import { connectRemote, remoteConnectOptionChecks } from './remote';
import { connectionFor } from './threads';
import type { NetworkAddress, TlsSettings } from './transport/address';
import { sameAuthkey } from './transport/auth';
import { DEFAULT_EXPORT_LEASE } from './transport/limits';
import { check, validateOptions } from './options';

/** Marks a value made by {@link exportProxy}. */
const EXPORTED = '@managers/exported-proxy';

/**
 * A proxy as plain data, for a channel the library does not see: `process.send`, a queue, a
 * file, an HTTP body. Only strings, numbers and arrays: it survives JSON. It carries one
 * in-flight reference, held by the server until {@link importProxy} claims it or its lease
 * ends. Its `key` is a capability: whoever holds it (and the authkey) can take the reference.
 */
export interface ExportedProxy {
  readonly [EXPORTED]: 1;
  /** The manager's id and name. */
  readonly manager: string;
  readonly name: string;
  /** Where the manager listens, when it does (the importer may give another address). */
  readonly address?: NetworkAddress;
  /** The secret that claims the reference. */
  readonly key: string;
  /** The object's token (id, typeid, exposed methods). */
  readonly token: {
    readonly id: number;
    readonly typeid: string;
    readonly exposed: readonly string[];
    readonly methodToTypeid: Readonly<Record<string, string>>;
    readonly proxytype?: string;
  };
  /** When the lease ends (ms since the epoch, by the exporter's clock). */
  readonly expires: number;
}

/** Options of {@link exportProxy}. */
export interface ExportOptions {
  /** How long the server keeps the reference for an importer, in ms (default 60000, at most a day). */
  readonly lease?: number;
}

/** Options of {@link importProxy}. */
export interface ImportOptions {
  /** The manager's authkey: needed when this thread has no connection to it yet. */
  readonly authkey?: string | Uint8Array;
  /** Where to reach the manager, instead of the address the export carries. */
  readonly address?: NetworkAddress;
  /** TLS settings to connect with (see `connect()`). */
  readonly tls?: TlsSettings | true;
  /** How long connecting may take, in ms (default 10000). */
  readonly connectTimeout?: number;
}

/**
 * Turns a proxy into plain data another process (or thread) can rebuild with
 * {@link importProxy} (R3 across processes). The reference for the copy is taken on this
 * thread's connection, in order with its calls and releases, and confirmed before this
 * resolves: the data may leave at once, and this proxy may be released. A reference never
 * imported is released when the lease ends. Each export is imported once.
 */
export async function exportProxy(
  proxy: unknown,
  options: ExportOptions = {},
): Promise<ExportedProxy> {
  try {
    validateOptions(options, { lease: check.positiveNumber }, 'exportProxy(): ');
    if (!isProxy(proxy)) {
      throw createManagerError(
        ErrorCode.InvalidOption,
        `exportProxy() takes a proxy, got ${inspect(proxy, { depth: 0 })}`,
        { details: { option: 'proxy' } },
      );
    }
    const base = proxy as unknown as BaseProxy;
    checkSendable(base);
    const token = base.token;
    const connection = sendingConnection(token.manager, base);
    const lease = options.lease ?? DEFAULT_EXPORT_LEASE;
    const { key, address } = await connection.exportReferences([token.id], lease);
    const exported: ExportedProxy = {
      [EXPORTED]: 1,
      manager: token.manager,
      name: connection.managerName ?? token.manager,
      ...(address === undefined && connection.address === undefined
        ? {}
        : { address: connection.address ?? address }),
      key,
      token: {
        id: token.id,
        typeid: token.typeid,
        exposed: [...token.exposed],
        methodToTypeid: { ...token.methodToTypeid },
        ...(token.proxytype === undefined ? {} : { proxytype: token.proxytype }),
      },
      expires: Date.now() + lease,
    };
    return exported;
  } catch (error) {
    throw withCallerStack(error);
  }
}

/** A value for an error message, without its `key` (a capability must not be printed). */
function describeValue(value: unknown): string {
  if (typeof value !== 'object' || value === null) return inspect(value);
  const shown: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  if ('key' in shown) shown.key = '<redacted>';
  return inspect(shown, { depth: 1 });
}

function checkExported(value: unknown): ExportedProxy {
  const exported = value as Partial<ExportedProxy> | null;
  if (
    typeof exported !== 'object' ||
    exported === null ||
    exported[EXPORTED] !== 1 ||
    typeof exported.manager !== 'string' ||
    typeof exported.key !== 'string' ||
    typeof exported.token !== 'object' ||
    exported.token === null ||
    !Number.isSafeInteger(exported.token.id) ||
    typeof exported.token.typeid !== 'string' ||
    !Array.isArray(exported.token.exposed)
  ) {
    throw createManagerError(
      ErrorCode.InvalidOption,
      `importProxy() takes what exportProxy() made, got ${describeValue(value)}`,
      { details: { option: 'exported' } },
    );
  }
  return exported as ExportedProxy;
}

/** importProxy()'s options are connect()'s that concern connecting. */
const importOptionChecks = Object.fromEntries(
  (['authkey', 'address', 'tls', 'connectTimeout'] as const).map((name) => [
    name,
    remoteConnectOptionChecks[name]!,
  ]),
);

/**
 * Rebuilds a proxy from {@link exportProxy}'s data and takes its reference (a `claim`, as a
 * thread's handoff does). Connects to the manager first when this thread has no connection to
 * it (`authkey`, and `address` unless the export carries one). Rejects with `ERR_UNKNOWN_ID`
 * when the export was imported already or its lease ended.
 */
export async function importProxy<T = Remote<unknown>>(
  exported: unknown,
  options: ImportOptions = {},
): Promise<T> {
  try {
    validateOptions(options, importOptionChecks, 'importProxy(): ');
    const data = checkExported(exported);
    let connection = connectionFor(data.manager);
    const knownKey = connection?.remoteSettings?.authkey;
    if (
      options.authkey !== undefined &&
      knownKey !== undefined &&
      !sameAuthkey(options.authkey, knownKey)
    ) {
      // The connection this thread would reuse proved another key: refused, as a new socket
      // with this key would be.
      throw createManagerError(
        ErrorCode.Authentication,
        `importProxy(): options.authkey is not the key of manager ${data.name} (this thread's connection to it authenticated with another)`,
        { details: { option: 'authkey' } },
      );
    }
    if (connection === undefined) {
      const address = options.address ?? data.address;
      if (address === undefined || options.authkey === undefined) {
        throw createManagerError(
          ErrorCode.InvalidOption,
          `importProxy(): this thread has no connection to manager ${data.name}: options.authkey${address === undefined ? ' and options.address are' : ' is'} needed to connect`,
          { details: { option: options.authkey === undefined ? 'authkey' : 'address' } },
        );
      }
      const connected = await connectRemote({
        address,
        authkey: options.authkey,
        ...(options.tls === undefined ? {} : { tls: options.tls }),
        ...(options.connectTimeout === undefined ? {} : { connectTimeout: options.connectTimeout }),
      });
      if (connected.welcome.managerId !== data.manager) {
        if (connected.created) connected.connection.close('another manager');
        throw createManagerError(
          ErrorCode.InvalidOption,
          `importProxy(): the manager at that address is not the one the proxy was exported from (${data.name})`,
          { details: { option: 'address' } },
        );
      }
      connection = connected.connection;
    }
    if (
      data.token.proxytype !== undefined &&
      knownProxyType(data.token.typeid, data.token.proxytype) === undefined
    ) {
      // An AutoProxy in its place would fail on its first call, with a less helpful message.
      throw createManagerError(
        ErrorCode.InvalidOption,
        `importProxy(): '${data.token.typeid}' proxies are ${data.token.proxytype}s, a class this process has not loaded: import the module that registers '${data.token.typeid}' (its manager class, e.g. from '@managers/sync') before importing`,
        { details: { option: 'exported', typeid: data.token.typeid } },
      );
    }
    await connection.claimExport(data.key);
    const token: Token = {
      manager: data.manager,
      id: data.token.id,
      typeid: data.token.typeid,
      exposed: Object.freeze([...data.token.exposed]),
      methodToTypeid: Object.freeze({ ...data.token.methodToTypeid }),
      ...(data.token.proxytype === undefined ? {} : { proxytype: data.token.proxytype }),
    };
    return connection.proxyFor(token) as T;
  } catch (error) {
    throw withCallerStack(error);
  }
}
