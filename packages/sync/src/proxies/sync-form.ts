/**
 * The synchronous form of the @managers/sync proxies (`syncProxy(lock)` from @managers/core):
 * the same methods, blocking the calling thread instead of returning promises. A
 * `syncProxy(lock).acquire({ timeout: 100 })` blocks as Python's `lock.acquire(timeout=0.1)`
 * does: the wait and its timeout run in the server, and the call returns true or false.
 */
import type { CallOptions, SyncCaller } from '@managers/core';
import { SyncErrorCode, syncError } from '../errors';
import { callContext } from '../owner';
import { checkOptions, checkPredicate, type OptionsSpec } from '../options';
import { HOLD, WAIT_FOR } from './option-specs';
import type { AcquireOptions, WaitOptions } from './sync-proxy';

/** A held lock for `using`: releases it at the end of the block (the synchronous `hold()`). */
export interface SyncHeld extends Disposable {
  /** Releases now (idempotent). */
  release(): void;
}

type Synchronous<F> = F extends (...args: infer A) => Promise<infer R> ? (...args: A) => R : F;

/**
 * The type of a @managers/sync proxy's synchronous form: every method returning `Promise<R>`
 * returns `R`; `hold()` returns a {@link SyncHeld} (for `using`) and `waitFor` takes a
 * synchronous predicate.
 */
export type SyncForm<P> = {
  readonly [K in keyof P]: K extends 'hold'
    ? (options?: AcquireOptions) => SyncHeld
    : K extends 'waitFor'
      ? (predicate: () => boolean, options?: WaitOptions) => boolean
      : K extends string
        ? Synchronous<P[K]>
        : P[K];
};

const OWNER_CALL: CallOptions = { timeout: 0 };

/**
 * Builds the synchronous form of `proxy`: a JS Proxy over it whose `call` / `ownerCall` /
 * `waitCall` (the three ways every method of the @managers/sync proxies reaches the server)
 * block through `caller`, so that each method, run unchanged with the form as `this`, returns
 * the result itself. Accessors (`token`, `released`) read the proxy; methods built on
 * promises (`hold`, `waitFor`) have synchronous versions here.
 */
export function makeSyncForm<P extends object>(proxy: P, caller: SyncCaller): SyncForm<P> {
  const token = caller.proxy.token;
  const overrides: Record<string, (...args: never[]) => unknown> = {
    // Refused options throw here (the proxy's own version rejects).
    withOptions: (
      call: string,
      options: unknown,
      spec: OptionsSpec,
      body: (checked: object) => unknown,
    ) => body(checkOptions(`${token.typeid}.${call}`, options, spec)),
    call: (method: string, ...args: unknown[]) => caller.call(method, args),
    callMethod: (method: string, args: readonly unknown[] = [], options?: CallOptions) =>
      caller.call(method, args, options),
    ownerCall: (method: string, ...args: unknown[]) =>
      caller.proxy.released
        ? caller.call(method, args)
        : caller.call(method, [callContext(), ...args], OWNER_CALL),
    waitCall: (method: string, signal: AbortSignal | undefined, ...args: unknown[]) => {
      if (caller.proxy.released) return caller.call(method, args);
      if (signal?.aborted) {
        throw syncError(
          SyncErrorCode.Aborted,
          `${token.typeid}.${method}() was aborted before it was sent`,
        );
      }
      return caller.call(method, [callContext(), ...args], OWNER_CALL);
    },
    hold: (given?: AcquireOptions): SyncHeld => {
      const options = checkOptions<AcquireOptions>(`${token.typeid}.hold(options)`, given, HOLD);
      if (!(form as unknown as { acquire(o: AcquireOptions): boolean }).acquire(options)) {
        throw syncError(
          SyncErrorCode.Timeout,
          `${token.typeid}.hold(): not acquired within ${String(options.timeout)} ms`,
        );
      }
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        (form as unknown as { release(): void }).release();
      };
      return { release, [Symbol.dispose]: release };
    },
    waitFor: (predicate: () => boolean, given?: WaitOptions): boolean => {
      const what = `${token.typeid}.waitFor(predicate, options)`;
      const options = checkOptions<WaitOptions>(what, given, WAIT_FOR);
      checkPredicate(predicate, what);
      const wait = (form as unknown as { wait(o: WaitOptions): boolean }).wait;
      const deadline = options.timeout == null ? undefined : Date.now() + options.timeout;
      let result = predicate();
      while (!result) {
        const left = deadline === undefined ? null : deadline - Date.now();
        if (left !== null && left <= 0) break;
        wait({ timeout: left, signal: options.signal });
        result = predicate();
      }
      return result;
    },
  };
  const bound = new Map<PropertyKey, unknown>();
  const form: P = new Proxy(proxy, {
    get(target, property) {
      const cached = bound.get(property);
      if (cached !== undefined) return cached;
      const override = typeof property === 'string' ? overrides[property] : undefined;
      if (override !== undefined && property in target) {
        bound.set(property, override);
        return override;
      }
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      // Methods of the class run with the form as `this`, so that their calls block; the
      // proxy's own members (private fields) need the proxy itself.
      const method = (value as (...args: unknown[]) => unknown).bind(
        isBaseMember(target, property) ? target : form,
      );
      bound.set(property, method);
      return method;
    },
    set() {
      return false;
    },
  });
  return form as unknown as SyncForm<P>;
}

/** True for members of `BaseProxy` itself (they read its private fields: `this` must be the proxy). */
function isBaseMember(target: object, property: PropertyKey): boolean {
  let prototype: object | null = Object.getPrototypeOf(target);
  let last: object | null = null;
  while (prototype !== null && prototype !== Object.prototype) {
    last = prototype;
    prototype = Object.getPrototypeOf(prototype);
  }
  return last !== null && Object.prototype.hasOwnProperty.call(last, property);
}
