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
import { borrow, decode, isTypeScriptFile, toErrorEnvelope } from '@managers/core';
import { createManagerError, ErrorCode } from '@managers/refcount';
import { isManagedTask } from './task';
import { POOL_INIT_KEY, proxiesIn, TASK_ERROR_KEY } from './values';

// This module's only export is the object Piscina reads handlers from (see the end).

type Handler = (task: unknown) => Promise<unknown>;

const handlers = new Map<string, Promise<Handler>>();

function importFile(file: string): Promise<Record<string, unknown>> | Record<string, unknown> {
  return isTypeScriptFile(file)
    ? // eslint-disable-next-line @typescript-eslint/no-require-imports
      (require(file) as Record<string, unknown>)
    : (import(pathToFileURL(file).href) as Promise<Record<string, unknown>>);
}

/** This thread's pool initializers, by file and export: done, or running (concurrent tasks wait). */
const initializers = new Map<string, Promise<void>>();

/**
 * A task a hosted pool wrapped with its initializer (`POOL_INIT_KEY`): the first task of this
 * thread runs `initializer(...args)` (Python's `Pool(initializer, initargs)`); later tasks
 * release the copies of the arguments they carried. A failed initializer fails the task and
 * is tried again by the next one.
 */
async function initialize(file: string, raw: unknown): Promise<unknown> {
  const { name, args } = (raw as Record<string, { name: string; args: unknown }>)[POOL_INIT_KEY]!;
  const task = (raw as { task: unknown }).task;
  const key = JSON.stringify([file, name]);
  const decoded = decode<unknown[]>(args);
  const running = initializers.get(key);
  if (running !== undefined) {
    await Promise.all(proxiesIn(decoded).map((proxy) => proxy[Symbol.asyncDispose]()));
    await running;
    return task;
  }
  const done = (async () => {
    const module = await importFile(file);
    const initializer = module[name];
    if (typeof initializer !== 'function') {
      throw createManagerError(
        ErrorCode.InvalidOption,
        `options.initializer: '${name}' is not a function exported by the pool's task file ${file}`,
        { details: { option: 'initializer', filename: file } },
      );
    }
    await (initializer as (...args: unknown[]) => unknown)(...decoded);
  })();
  initializers.set(key, done);
  try {
    await done;
  } catch (error) {
    initializers.delete(key);
    await Promise.all(proxiesIn(decoded).map((proxy) => proxy[Symbol.asyncDispose]()));
    throw error;
  }
  return task;
}

function withInitializer(file: string, handler: Handler): Handler {
  const initialized = async (raw: object): Promise<unknown> => {
    let task: unknown;
    try {
      task = await initialize(file, raw);
    } catch (error) {
      // The task itself never ran: its own proxies go back as a failing task's do.
      return failing(error as Error)((raw as unknown as { task: unknown }).task);
    }
    return handler(task);
  };
  // Not an async function itself: a task with no initializer costs no promise of its own.
  return (raw) =>
    typeof raw !== 'object' || raw === null || !(POOL_INIT_KEY in raw)
      ? handler(raw)
      : initialized(raw);
}

async function loadHandler(key: string): Promise<Handler> {
  const { file } = parseTaskKey(key);
  return withInitializer(file, await loadTaskHandler(key));
}

async function loadTaskHandler(key: string): Promise<Handler> {
  const { file, name } = parseTaskKey(key);
  let exported: unknown;
  try {
    const module = await importFile(file);
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
