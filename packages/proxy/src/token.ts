/** Identifies a hosted object: which manager, which id, what a proxy for it may call. */
export interface Token {
  /** The id of the manager (its server) that hosts the object. */
  readonly manager: string;
  /** The object's id in the server's table. */
  readonly id: number;
  /** The typeid it was created under. */
  readonly typeid: string;
  /** The method names a proxy may call. */
  readonly exposed: readonly string[];
  /** Methods whose results come back as proxies, with the typeid they are managed under. */
  readonly methodToTypeid: Readonly<Record<string, string>>;
  /** The name of the registration's custom proxy class, if it has one. */
  readonly proxytype?: string;
}

/** Options of one call. */
export interface CallOptions {
  /** Reject with `ERR_TIMEOUT` if no reply came within this many milliseconds (0: never). */
  readonly timeout?: number;
  /** Reject with `ERR_ABORTED` when this signal aborts. */
  readonly signal?: AbortSignal;
}

/**
 * What a proxy needs from the wire; `@managers/core`'s client connection implements it.
 * One connection per thread per manager, shared by all the proxies of that thread.
 */
export interface ProxyConnection {
  /** The id of the manager this connection talks to. */
  readonly managerId: string;
  /** True once the connection is closed: every call then rejects with `ERR_MANAGER_CLOSED`. */
  readonly closed: boolean;
  /**
   * Sends a call of `method` on the object of `proxy` and resolves with the decoded result.
   * `proxy` is kept referenced by the pending call, so it cannot be collected mid-call (R5).
   */
  call(
    proxy: object,
    token: Token,
    method: string,
    args: readonly unknown[],
    options?: CallOptions,
  ): Promise<unknown>;
  /** Gives one reference to `id` back (batched with other releases). */
  release(id: number): void;
  /** Resolves once every release queued so far has been posted. */
  flushReleases(): Promise<void>;
  /**
   * False for a connection whose proxies own no reference (a task's borrowed proxies): they
   * are not watched for collection unless one takes a reference (see `watchCollection`).
   * Default true.
   */
  readonly ownsReferences?: boolean;
}
