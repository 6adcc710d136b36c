/**
 * The registry module a server worker loaded (its `options.module`), for hosted code that names
 * a function instead of holding one: functions cannot cross threads, so a hosted object given
 * a function's name resolves it here, as `options.initializer` is resolved.
 */
import { createManagerError, ErrorCode } from '@managers/refcount';

let loaded: { readonly path: string; readonly exports: Record<string, unknown> } | undefined;

/**
 * Set on `globalThis` while a server worker loads its registry module: shared by every copy of
 * this package in the thread (an ES module and a CommonJS copy), so that a `start()` the module
 * makes at its top level is refused by whichever copy it imported.
 */
const loadingSymbol = Symbol.for('@managers/core/loading-registry-module');

/** Runs `load` (the server worker's import of its registry module `path`) marked as loading. */
export async function loadingRegistryModule<T>(path: string, load: () => Promise<T>): Promise<T> {
  const global = globalThis as Record<symbol, unknown>;
  global[loadingSymbol] = path;
  try {
    return await load();
  } finally {
    delete global[loadingSymbol];
  }
}

/**
 * Throws when called while a server worker loads its registry module: a module that starts a
 * manager at its top level (`start({ module: import.meta.url })` in the app's own file) would
 * make each server worker start another, one inside the other, without end. Python refuses
 * the same mistake ("An attempt has been made to start a new process before the current
 * process has finished its bootstrapping phase").
 */
export function refuseStartWhileLoadingRegistry(): void {
  const path = (globalThis as Record<symbol, unknown>)[loadingSymbol];
  if (path === undefined) return;
  throw createManagerError(
    ErrorCode.StartFailed,
    `start() was called while a manager's server worker was loading its registry module ${String(path)}: ` +
      'that module starts a manager when it is imported, so every server would start another. ' +
      "Start the manager from a module the registry does not run (your app's entry), or guard the call " +
      "with `if (isMainThread)` from 'node:worker_threads'",
    { details: { module: String(path) } },
  );
}

/** Records the module the server worker loaded (called once, by the server worker's entry). */
export function setRegistryModule(path: string, exports: Record<string, unknown>): void {
  loaded = { path, exports };
}

/**
 * The function `name` exported by the registry module of the manager whose server runs this
 * code (the module given as `options.module` to `start()`). Throws an `ERR_INVALID_OPTION`
 * `ManagerError` naming `option` when there is no such function, or when called outside a
 * manager's server worker.
 */
export function registryFunction(name: unknown, option: string): (...args: unknown[]) => unknown {
  if (typeof name !== 'string' || name.length === 0) {
    throw createManagerError(
      ErrorCode.InvalidOption,
      `${option} must be the name of a function exported by the registry module, got ${typeof name === 'string' ? "''" : typeof name}`,
      { details: { option } },
    );
  }
  if (loaded === undefined) {
    throw createManagerError(
      ErrorCode.InvalidOption,
      `${option}: '${name}' can only be resolved in a manager's server worker (no registry module loaded here)`,
      { details: { option } },
    );
  }
  const found = Object.prototype.hasOwnProperty.call(loaded.exports, name)
    ? loaded.exports[name]
    : undefined;
  if (typeof found !== 'function') {
    throw createManagerError(
      ErrorCode.InvalidOption,
      `${option}: '${name}' is not a function exported by ${loaded.path}`,
      { details: { option } },
    );
  }
  if (/^class\b/.test(Function.prototype.toString.call(found))) {
    throw createManagerError(
      ErrorCode.InvalidOption,
      `${option}: '${name}' is a class exported by ${loaded.path}, not a function (a class cannot be called without new)`,
      { details: { option } },
    );
  }
  return found as (...args: unknown[]) => unknown;
}
