import { reprOf, SERVER_HOLDER, type ObjectTable } from '@managers/refcount';
import type { CallOptions, ProxyConnection, Token } from '@managers/proxy';
import { ServerErrors } from './errors';
import { hostedValueOf } from './hosted-value';

/**
 * The connection of server-side proxies (proxies stored inside hosted objects): calls run in
 * place, in the server's own thread, and resolve with a copy of the result, as a client would
 * get; releases go straight to the table, owned by the `server` holder.
 */
export class LocalConnection implements ProxyConnection {
  #closing = false;
  /** The cause recorded for releases (the cycle collector names itself). */
  #cause = 'server-side proxy released';

  constructor(
    readonly managerId: string,
    private readonly table: ObjectTable,
    /** Called after a release left objects that the collector may need to look at. */
    private readonly onReleased: (id: number) => void,
  ) {}

  get closed(): boolean {
    return false;
  }

  /** The server is shutting down: releases are ignored from now on (clear() drops everything). */
  shutdown(): void {
    this.#closing = true;
  }

  async call(
    _proxy: object,
    token: Token,
    method: string,
    args: readonly unknown[],
    _options?: CallOptions,
  ): Promise<unknown> {
    const entry = this.table.get(token.id);
    if (entry === undefined) throw ServerErrors.notHeld(token.id, method);
    if (method === '#getvalue') return structuredClone(hostedValueOf(entry.object));
    if (method === '#repr') return reprOf(entry.object);
    const fn = (entry.object as Record<string, unknown>)[method];
    if (!entry.type.exposed.includes(method) || typeof fn !== 'function') {
      throw ServerErrors.notExposed(entry.typeid, token.id, method, entry.type.exposed);
    }
    return structuredClone(
      await (fn as (...a: unknown[]) => unknown).apply(entry.object, [...args]),
    );
  }

  release(id: number): void {
    if (this.#closing || !this.table.has(id)) return;
    try {
      this.table.decref(id, SERVER_HOLDER, this.#cause);
    } catch (error) {
      this.table.traceReject(
        `server-side release refused: ${(error as Error).message}`,
        id,
        SERVER_HOLDER,
      );
      return;
    }
    this.onReleased(id);
  }

  /** Releases `proxies` recording `cause`. */
  releaseAll(proxies: readonly { [Symbol.dispose](): void }[], cause: string): void {
    const previous = this.#cause;
    this.#cause = cause;
    try {
      for (const proxy of proxies) proxy[Symbol.dispose]();
    } finally {
      this.#cause = previous;
    }
  }

  flushReleases(): Promise<void> {
    return Promise.resolve();
  }
}
