import type { BaseProxy, CallOptions, Remote } from '@managers/proxy';
import type { Callable, ProxyType } from './registration';

/** What the type system records of one registered typeid. */
export interface TypeSpec {
  /** The hosted object's type. */
  readonly object: unknown;
  /** The creation arguments. */
  readonly args: readonly unknown[];
  /** methodToTypeid. */
  readonly methods: Readonly<Record<string, string>>;
  /** True for `callable: null`: the creation argument itself is hosted. */
  readonly hostsArgument: boolean;
  /** Whether the manager has a `manager.<typeid>()` create method. */
  readonly create: boolean;
  /** The `exposed` method names, when given (the proxy type then shows only those). */
  readonly exposed: readonly string[] | undefined;
}

/** A registry type: typeid → spec. */
export type RegistrySpec = Record<string, TypeSpec>;

type ObjectOf<C> = C extends abstract new (...args: never[]) => infer T
  ? T
  : C extends (...args: never[]) => infer T
    ? Awaited<T>
    : unknown;
type ArgsOf<C> = C extends abstract new (...args: infer A) => unknown
  ? A
  : C extends (...args: infer A) => unknown
    ? A
    : [object: unknown];

/**
 * The spec `register()` records for a callable `C`, methodToTypeid `M`, createMethod `CM` and
 * exposed `E`.
 */
export interface SpecOf<
  C,
  M extends Readonly<Record<string, string>>,
  CM extends boolean,
  E extends readonly string[] | undefined = undefined,
> extends TypeSpec {
  readonly object: ObjectOf<C>;
  readonly args: ArgsOf<C>;
  readonly methods: M;
  readonly hostsArgument: C extends Callable ? false : true;
  readonly create: CM;
  readonly exposed: E;
}

type MethodOf<T, K> = K extends keyof T ? T[K] : never;
type ParametersOf<F> = F extends (...args: infer A) => unknown ? A : never[];
type ReturnOf<F> = F extends (...args: never[]) => infer R ? Awaited<R> : unknown;

/** The proxy type a `methodToTypeid` method resolves to. */
type ResultProxy<R extends RegistrySpec, Target, Returned> = Target extends keyof R
  ? R[Target]['hostsArgument'] extends true
    ? Remote<Returned, MethodOverrides<R, Returned, R[Target]['methods']>>
    : ProxyOf<R, Target>
  : BaseProxy;

/** The `methodToTypeid` methods of an object `T` as methods resolving to proxies. */
export type MethodOverrides<R extends RegistrySpec, T, M> = {
  readonly [K in keyof M]: (
    ...args: ParametersOf<MethodOf<T, K>>
  ) => Promise<ResultProxy<R, M[K], ReturnOf<MethodOf<T, K>>>>;
};

/** `T` narrowed to the methods named in `E` (all of `T` when `E` is not a list of literal names). */
export type ExposedPart<T, E> = E extends readonly (infer N)[]
  ? string extends N
    ? T
    : Pick<T, Extract<N, keyof T>>
  : T;

/**
 * The proxy type of typeid `K` of registry `R`: `Remote<object>` with its methodToTypeid
 * methods returning proxies, and only the `exposed` methods when `exposed` was given.
 */
export type ProxyOf<R extends RegistrySpec, K extends keyof R> = Remote<
  ExposedPart<R[K]['object'], R[K]['exposed']>,
  MethodOverrides<R, R[K]['object'], R[K]['methods']>
>;

/** The create function of typeid `K`. */
export type CreateFunction<
  R extends RegistrySpec,
  K extends keyof R,
> = R[K]['hostsArgument'] extends true
  ? <T extends object>(object: T) => Promise<Remote<T, MethodOverrides<R, T, R[K]['methods']>>>
  : (...args: R[K]['args']) => Promise<ProxyOf<R, K>>;

/** The `manager.<typeid>(...)` create methods of registry `R`. */
export type CreateMethods<R extends RegistrySpec> = {
  readonly [K in keyof R as R[K]['create'] extends false ? never : K]: CreateFunction<R, K>;
};

/** Options of `register()`, typed. */
export interface TypedRegisterOptions<
  C,
  M,
  CM extends boolean,
  E extends readonly string[] | undefined = undefined,
> {
  /** Makes the hosted object: a function is called, a class constructed; `null`: the creation argument is hosted. */
  readonly callable?: C;
  /** A custom proxy class (subclass of BaseProxy). */
  readonly proxytype?: ProxyType;
  /**
   * Method names a proxy may call (default: the object's public methods). Given as a literal
   * list, the proxy's type shows only these methods.
   */
  readonly exposed?: E;
  /** Methods whose result is hosted under another typeid and returned as a proxy. */
  readonly methodToTypeid?: M;
  /** Whether to add a `manager.<typeid>()` create method (default true). */
  readonly createMethod?: CM;
  /** Methods whose results are transferred (moved), not copied. */
  readonly transferResults?: readonly string[];
}

/** The per-call options accepted by `create` and proxies. */
export type { CallOptions };
