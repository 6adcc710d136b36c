import type { BaseProxy } from './base-proxy';

/** Method names a proxy never exposes, whatever the object has. */
type HiddenName = 'constructor' | 'then' | 'toString' | 'valueOf' | 'toJSON' | 'toLocaleString';

/** The public method names of `T`: functions whose name does not start with `_`. */
export type PublicMethodNames<T> = {
  [K in keyof T]-?: K extends string
    ? K extends `_${string}` | HiddenName
      ? never
      : T[K] extends (...args: never[]) => unknown
        ? K
        : never
    : never;
}[keyof T];

/** `T`'s method `M` as a remote call: the same parameters, a Promise of the awaited result. */
export type RemoteMethod<M> = M extends (...args: infer A) => infer R
  ? (...args: A) => Promise<Awaited<R>>
  : never;

/**
 * The type of a proxy for a hosted `T` (like Comlink's `Remote<T>`): each public method of `T`
 * becomes async; `Overrides` replaces some methods' types (the runtime uses it for methods
 * listed in `methodToTypeid`, which resolve to proxies). The proxy's own members
 * ({@link BaseProxy}: `token`, `released`, `callMethod`, `Symbol.dispose`) come along.
 */
export type Remote<T, Overrides extends object = {}> = {
  readonly [K in PublicMethodNames<T>]: K extends keyof Overrides
    ? Overrides[K]
    : RemoteMethod<T[K]>;
} & BaseProxy;
