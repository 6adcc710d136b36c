import type { ObjectTable } from '@managers/refcount';
import type { ProxyConnection } from '@managers/proxy';
import type { Registration, TypeInfoCache } from '../registration';
import type { ServerConnection } from './connection';

/** A registration and the type infos made from it. */
export interface RegisteredType {
  readonly registration: Registration;
  readonly types: TypeInfoCache;
}

/** What the server's parts share: the table, the registry, and the server-side connection. */
export interface ServerContext {
  readonly managerId: string;
  readonly table: ObjectTable;
  readonly registry: ReadonlyMap<string, RegisteredType>;
  /** The connection of server-side proxies (proxies held by hosted objects). */
  readonly local: ProxyConnection;
  /** The largest reply value, in bytes (estimated). */
  readonly maxMessageSize: number;
  /**
   * `#export` (exportProxy): takes one in-flight reference per id under a new key; returns the
   * key and the server's listening address, or throws a ManagerError naming what is wrong.
   */
  readonly exportReferences: (
    connection: ServerConnection,
    ids: unknown,
    lease: unknown,
  ) => { key: string; address: unknown };
}
