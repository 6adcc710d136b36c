import { inspect } from 'node:util';
import { createManagerError, ErrorCode, type TypeInfo } from '@managers/refcount';
import { BaseProxy, type Token, type ProxyConnection } from '@managers/proxy';
import { check, validateOptions, type OptionCheck } from './options';

/** A custom proxy type: a subclass of BaseProxy constructed with (token, connection). */
export type ProxyType = new (token: Token, connection: ProxyConnection) => BaseProxy;

/** Anything that makes the hosted object: a function (called) or a class (constructed). */
export type Callable =
  ((...args: never[]) => unknown) | (abstract new (...args: never[]) => unknown);

/** Options of `BaseManager.register`, with Python's meanings. */
export interface RegisterOptions {
  /**
   * Makes the object hosted for `create(typeid, ...args)`: a function is called, a class is
   * constructed. `null` (the default): the single creation argument is itself hosted.
   */
  readonly callable?: Callable | null;
  /** A custom proxy class (a BaseProxy subclass); default: an AutoProxy. */
  readonly proxytype?: ProxyType;
  /** Method names a proxy may call; default: the object's public methods. */
  readonly exposed?: readonly string[];
  /** Methods whose result is hosted under another typeid and returned as a proxy. */
  readonly methodToTypeid?: Readonly<Record<string, string>>;
  /** Whether the manager gets a `manager.<typeid>(...)` create method (default true). */
  readonly createMethod?: boolean;
  /**
   * Methods whose results are moved, not copied: every ArrayBuffer and typed array in the
   * result is transferred (the hosted object's buffer is then detached in the server).
   */
  readonly transferResults?: readonly string[];
}

/** A validated registration. */
export interface Registration {
  readonly typeid: string;
  readonly callable: Callable | null;
  readonly proxytype: ProxyType | undefined;
  readonly exposed: readonly string[] | undefined;
  readonly methodToTypeid: Readonly<Record<string, string>>;
  readonly createMethod: boolean;
  readonly transferResults: ReadonlySet<string>;
}

const registerOptionChecks: Readonly<Record<string, OptionCheck>> = {
  callable: (value) =>
    value === null || typeof value === 'function'
      ? undefined
      : 'must be a function, a class or null',
  proxytype: (value) =>
    typeof value === 'function' &&
    (value === BaseProxy || (value as { prototype?: unknown }).prototype instanceof BaseProxy)
      ? undefined
      : 'must be a subclass of BaseProxy',
  exposed: check.stringArray,
  methodToTypeid: check.stringRecord,
  createMethod: check.boolean,
  transferResults: check.stringArray,
};

/** Names a typeid cannot take: they would shadow the manager's own members. */
const RESERVED_TYPEIDS = new Set([
  '__proto__',
  'create',
  'start',
  'shutdown',
  'connect',
  'debugInfo',
  'numberOfObjects',
  'trace',
  'handle',
  'register',
  'constructor',
  'options',
  'managerId',
  'closed',
  'whenClosed',
  'then',
]);

/** Validates `register()` arguments; throws an `ERR_INVALID_OPTION` error naming the option. */
export function validateRegistration(typeid: unknown, options: unknown): Registration {
  if (typeof typeid !== 'string' || typeid.length === 0) {
    throw createManagerError(
      ErrorCode.InvalidOption,
      `typeid must be a non-empty string, got ${inspect(typeid)}`,
      {
        details: { option: 'typeid' },
      },
    );
  }
  if (RESERVED_TYPEIDS.has(typeid) || typeid.startsWith('#')) {
    throw createManagerError(
      ErrorCode.InvalidOption,
      `typeid '${typeid}' is reserved: it would shadow the manager's own '${typeid}'`,
      { details: { option: 'typeid', typeid } },
    );
  }
  validateOptions(options ?? {}, registerOptionChecks, `register('${typeid}'): `, { typeid });
  const value = (options ?? {}) as RegisterOptions;
  return {
    typeid,
    callable: value.callable ?? null,
    proxytype: value.proxytype,
    exposed: value.exposed === undefined ? undefined : Object.freeze([...value.exposed]),
    methodToTypeid: Object.freeze({ ...value.methodToTypeid }),
    createMethod: value.createMethod ?? true,
    transferResults: new Set(value.transferResults ?? []),
  };
}

/** Checks that every `methodToTypeid` target is registered. */
export function checkTargets(registry: ReadonlyMap<string, Registration>): void {
  for (const registration of registry.values()) {
    for (const [method, target] of Object.entries(registration.methodToTypeid)) {
      if (!registry.has(target)) {
        throw createManagerError(
          ErrorCode.UnknownTypeid,
          `register('${registration.typeid}'): methodToTypeid.${method} names typeid '${target}', which is not registered`,
          { details: { option: 'methodToTypeid', typeid: target, method } },
        );
      }
    }
  }
}

/** Names never exposed by default: `then` would make a proxy look like a promise. */
const HIDDEN = new Set(['constructor', 'then', 'toString', 'valueOf', 'toJSON', 'toLocaleString']);
const methodsByPrototype = new WeakMap<object, readonly string[]>();

/** The object's public methods: functions reachable on it, not `_`-prefixed, not `constructor`. */
export function publicMethods(object: object): string[] {
  const names = new Set<string>();
  const addFrom = (holder: object) => {
    for (const name of Object.getOwnPropertyNames(holder)) {
      if (name.startsWith('_') || HIDDEN.has(name)) continue;
      const descriptor = Object.getOwnPropertyDescriptor(holder, name);
      if (descriptor !== undefined && typeof descriptor.value === 'function') names.add(name);
    }
  };
  addFrom(object);
  let prototype = Object.getPrototypeOf(object) as object | null;
  while (prototype !== null && prototype !== Object.prototype && prototype !== Function.prototype) {
    let cached = methodsByPrototype.get(prototype);
    if (cached === undefined) {
      const before = new Set(names);
      addFrom(prototype);
      cached = [...names].filter((name) => !before.has(name));
      methodsByPrototype.set(prototype, cached);
    } else {
      for (const name of cached) names.add(name);
    }
    prototype = Object.getPrototypeOf(prototype) as object | null;
  }
  return [...names].sort();
}

/** Builds (and caches per exposed list) the TypeInfo of objects of a registration. */
export class TypeInfoCache {
  readonly #cache = new Map<string, TypeInfo>();

  constructor(readonly registration: Registration) {}

  /** The TypeInfo for `object`: the registration's `exposed`, or the object's public methods, plus methodToTypeid keys. */
  for(object: object): TypeInfo {
    const base = this.registration.exposed ?? publicMethods(object);
    const extra = Object.keys(this.registration.methodToTypeid).filter(
      (name) => !base.includes(name),
    );
    const exposed = extra.length ? [...base, ...extra] : base;
    const key = exposed.join('\0');
    let info = this.#cache.get(key);
    if (info === undefined) {
      info = Object.freeze({
        typeid: this.registration.typeid,
        exposed: Object.freeze([...exposed]),
        methodToTypeid: this.registration.methodToTypeid,
      });
      this.#cache.set(key, info);
    }
    return info;
  }
}

/** True when `callable` is a class (must be called with `new`). */
export function isClass(callable: Callable): boolean {
  return /^class[\s{]/.test(Function.prototype.toString.call(callable));
}

/** Makes the hosted object for a registration from creation arguments. */
export function invokeCallable(registration: Registration, args: readonly unknown[]): unknown {
  const { callable, typeid } = registration;
  if (callable === null) {
    if (args.length !== 1) {
      throw createManagerError(
        ErrorCode.InvalidOption,
        `typeid '${typeid}' has no callable: create it with exactly one argument, the object to host (got ${args.length})`,
        { details: { typeid } },
      );
    }
    return args[0];
  }
  if (isClass(callable))
    return Reflect.construct(callable as new (...a: unknown[]) => unknown, args);
  return (callable as (...a: unknown[]) => unknown)(...args);
}

/**
 * Custom proxy classes known in this thread, by typeid and class name: every `register()`
 * with a `proxytype` records it, so a proxy that reaches this thread through a handoff (whose
 * token names its proxy class) is rebuilt with its class when the module that registered it
 * is loaded here. Kept on globalThis so copies of this module share it.
 */
const knownProxyTypes = ((globalThis as Record<symbol, unknown>)[
  Symbol.for('@managers/core/proxy-types')
] ??= new Map<string, ProxyType>()) as Map<string, ProxyType>;

/** Records a registration's custom proxy class for this thread. */
export function recordProxyType(typeid: string, proxytype: ProxyType): void {
  knownProxyTypes.set(`${typeid}\0${proxytype.name}`, proxytype);
}

/** The custom proxy class named `name` for `typeid`, if a registration in this thread has it. */
export function knownProxyType(typeid: string, name: string): ProxyType | undefined {
  return knownProxyTypes.get(`${typeid}\0${name}`);
}
