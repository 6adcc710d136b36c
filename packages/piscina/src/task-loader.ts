/**
 * The file every `ManagedPool` gives Piscina as its `filename`: it loads the user's task file
 * and checks that the export asked for is a `defineTask()` task, so that a task file without
 * `defineTask` gives a clear error (and leaks no reference) instead of calling a plain
 * function with encoded proxies.
 *
 * Piscina looks a handler up as `exports[name]`; `ManagedPool` passes as `name` the user's file
 * and export name (`taskKey()` in task-key.ts), and this module's exports answer any such key with the
 * checked handler.
 */
import { pathToFileURL } from 'node:url';
import { borrow, isTypeScriptFile, toErrorEnvelope } from '@managers/core';
import { createManagerError, ErrorCode } from '@managers/refcount';
import { isManagedTask } from './task';
import { proxiesIn, TASK_ERROR_KEY } from './values';

// This module's only export is the object Piscina reads handlers from (see the end).

type Handler = (task: unknown) => Promise<unknown>;

const handlers = new Map<string, Promise<Handler>>();

async function loadHandler(key: string): Promise<Handler> {
  const { file, name } = parseTaskKey(key);
  let exported: unknown;
  try {
    const module = isTypeScriptFile(file)
      ? // eslint-disable-next-line @typescript-eslint/no-require-imports
        (require(file) as Record<string, unknown>)
      : ((await import(pathToFileURL(file).href)) as Record<string, unknown>);
    exported = name === 'default' && isManagedTask(module) ? module : module[name];
    // A CommonJS file's `module.exports = defineTask(…)` arrives as `default`.
    if (exported === undefined && name === 'default') exported = module;
  } catch (error) {
    return failing(
      createManagerError(
        ErrorCode.InvalidOption,
        `the pool's task file ${file} could not be loaded: ${(error as Error)?.message ?? String(error)}`,
        { cause: error, details: { option: 'filename', filename: file } },
      ),
    );
  }
  if (isManagedTask(exported)) return exported as Handler;
  return failing(
    createManagerError(
      ErrorCode.InvalidOption,
      `the pool's task file ${file} exports ${describe(exported)} as '${name}', not a task: ` +
        `wrap the function with defineTask() from @managers/piscina (export default defineTask(fn))`,
      { details: { option: 'filename', filename: file, name } },
    ),
  );
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'function') return `a plain function (${value.name || 'anonymous'})`;
  return `a ${value === null ? 'null' : typeof value}`;
}

/** A handler that gives the references of each task back, then fails with `error`. */
function failing(error: Error): Handler {
  return async (raw) => {
    try {
      // Lent proxies: nothing is borrowed, so the caller ends the leases. Handed-off ones
      // (a task with handles) are given back.
      const received = borrow(raw);
      await Promise.all(proxiesIn(received.value).map((proxy) => proxy[Symbol.asyncDispose]()));
      received.finish();
    } catch {
      // No connection to the manager: nothing was taken here.
    }
    throw { [TASK_ERROR_KEY]: toErrorEnvelope(error) };
  };
}

function parseTaskKey(key: string): { file: string; name: string } {
  const [file, name] = JSON.parse(key) as [string, string];
  return { file, name };
}

module.exports = new Proxy(
  {},
  {
    get(_target, property) {
      // Piscina reads the module through TypeScript's __importStar: say it is an ES module so
      // that it reads our properties as they are.
      if (property === '__esModule') return true;
      if (typeof property !== 'string' || !property.startsWith('[')) return undefined;
      let handler = handlers.get(property);
      if (handler === undefined) {
        handler = loadHandler(property);
        handlers.set(property, handler);
      }
      return handler;
    },
  },
);
