/**
 * The registry module a server worker loaded (its `options.module`), for hosted code that names
 * a function instead of holding one: functions cannot cross threads, so a hosted object given
 * a function's name resolves it here, as `options.initializer` is resolved.
 */
import { createManagerError, ErrorCode } from '@managers/refcount';

let loaded: { readonly path: string; readonly exports: Record<string, unknown> } | undefined;

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
