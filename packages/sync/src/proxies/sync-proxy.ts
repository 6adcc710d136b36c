import { BaseProxy, syncFormSymbol, type SyncCaller } from '@managers/core';
import { SyncErrorCode, syncError } from '../errors';
import { callContext } from '../owner';
import { checkOptions, type OptionsSpec } from '../options';
import { makeSyncForm, type SyncForm } from './sync-form';

/** Options of a call that may block: `timeout` in ms (omitted/null: forever), `signal` to cancel. */
export interface WaitOptions {
  readonly timeout?: number | null;
  readonly signal?: AbortSignal;
}

/** Options of acquire-like calls (Python's `acquire(blocking=True, timeout=-1)`). */
export interface AcquireOptions extends WaitOptions {
  /** false: try once and return at once (Python's `blocking=False`). */
  readonly blocking?: boolean;
}

/**
 * The base of the @managers/sync proxies: `call` for plain methods, `wait` for methods that may
 * block in the server. Owner-aware calls send a call context (a wait id) first; the owner is
 * the connection, as the server knows it. Their timeout runs in the server, and aborting the
 * signal asks the server to cancel the wait: the call then rejects with `ERR_ABORTED`, unless
 * the server had already completed it, in which case it resolves normally (a queue item a
 * reply carries is given back if it does not reach its caller).
 */
export class SyncProxy extends BaseProxy {
  /**
   * The synchronous form (`syncProxy(proxy)` from @managers/core): the same methods, blocking
   * the calling thread until the server answers. It shares this proxy's reference.
   */
  [syncFormSymbol](caller: SyncCaller): SyncForm<this> {
    return makeSyncForm(this, caller);
  }

  /**
   * Checks `options`, the options argument of `call` (`acquire(options)`), then runs `body`
   * with them. A refusal (a Python-style positional argument, an unknown key, a value of the
   * wrong type) rejects with `ERR_INVALID_OPTION` naming `Typeid.call`; the synchronous form
   * throws it.
   */
  protected withOptions<O extends object, R>(
    call: string,
    options: unknown,
    spec: OptionsSpec,
    body: (checked: Partial<O>) => Promise<R>,
  ): Promise<R> {
    let checked: Partial<O>;
    try {
      checked = checkOptions<O>(`${this.token.typeid}.${call}`, options, spec);
    } catch (error) {
      return Promise.reject(error);
    }
    return body(checked);
  }

  /** Calls a plain method. */
  protected call<T>(method: string, ...args: unknown[]): Promise<T> {
    return this.callMethod(method, args) as Promise<T>;
  }

  /** Calls an owner-aware method (its first argument is the call context). */
  protected ownerCall<T>(method: string, ...args: unknown[]): Promise<T> {
    if (this.released) return this.callMethod(method, args) as Promise<T>;
    return this.callMethod(method, [callContext(), ...args], {
      timeout: 0,
    }) as Promise<T>;
  }

  /** Calls an owner-aware method that may block, with cancellation through `signal`. */
  protected async waitCall<T>(
    method: string,
    signal: AbortSignal | undefined,
    ...args: unknown[]
  ): Promise<T> {
    if (this.released) return (await this.callMethod(method, args)) as T;
    if (signal?.aborted) {
      throw syncError(
        SyncErrorCode.Aborted,
        `${this.token.typeid}.${method}() was aborted before it was sent`,
      );
    }
    const context = callContext();
    const pending = this.callMethod(method, [context, ...args], { timeout: 0 }) as Promise<T>;
    if (signal === undefined) return pending;
    const onAbort = () => void this.callMethod('cancel', [context.wait]).catch(() => undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      return await pending;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }
}

/** A held lock for `await using`: releases it at the end of the block. */
export interface Held extends AsyncDisposable {
  /** Releases now (idempotent). */
  release(): Promise<void>;
}

/** Makes the `hold()` result of an acquire/release pair. */
export async function holdWith(
  acquire: () => Promise<boolean>,
  release: () => Promise<void>,
  what: string,
  timeout: number | null | undefined,
): Promise<Held> {
  if (!(await acquire())) {
    throw syncError(SyncErrorCode.Timeout, `${what}: not acquired within ${String(timeout)} ms`);
  }
  let released = false;
  const releaseOnce = async () => {
    if (released) return;
    released = true;
    await release();
  };
  return { release: releaseOnce, [Symbol.asyncDispose]: releaseOnce };
}
