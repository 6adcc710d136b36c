import { inspect } from 'node:util';
import Piscina from 'piscina';
import {
  decode,
  discard,
  encode,
  fromErrorEnvelope,
  isTypeScriptFile,
  typeScriptExecArgv,
  type FileSpecifier,
} from '@managers/core';
import { createManagerError, ErrorCode } from '@managers/refcount';
import { taskFilePath } from './entry';
import { TASK_LOADER_FILE, taskKey } from './task-key';
import { TASK_ERROR_KEY, uniqueTransferList, unwrapTransferable } from './values';

/** Piscina's constructor options. */
export type PiscinaOptions = NonNullable<ConstructorParameters<typeof Piscina>[0]>;
/** Piscina's `run()` options. */
export type PiscinaRunOptions = NonNullable<Parameters<Piscina['run']>[1]>;

/** Options of a {@link ManagedPool}: Piscina's, with other defaults. */
export interface ManagedPoolOptions extends Omit<PiscinaOptions, 'filename'> {
  /**
   * The task file: an absolute path, a `file:` URL string or a `URL` (its default export, or
   * the export named by `name`, is a `defineTask()` task). A TypeScript file loads through
   * tsx (an optional peer dependency).
   */
  filename?: FileSpecifier | null;
  /**
   * How an idle pool thread waits for its next task. Default `'disabled'`; `'async'` also
   * works; `'sync'` is refused: an idle thread would block in `Atomics.wait` and its event
   * loop would not run between tasks, so the connection it keeps to each manager would get
   * no replies, adoption confirmations or close events while it is idle.
   */
  atomics?: 'async' | 'disabled' | 'sync';
}

/**
 * The Piscina options a pool whose tasks carry proxies needs: `atomics` not `'sync'`
 * (default `'disabled'`), and for a TypeScript task file, the execArgv that loads it (tsx
 * and the `source` condition) unless `execArgv` is given.
 */
export function managedPoolOptions(options: ManagedPoolOptions = {}): PiscinaOptions {
  const atomics = options.atomics ?? 'disabled';
  if (atomics === 'sync') {
    throw createManagerError(
      ErrorCode.InvalidOption,
      "options.atomics 'sync' is not supported: an idle pool thread would block in Atomics.wait, " +
        "and the manager connections it keeps would get no replies or close events between tasks (use 'disabled' or 'async')",
      { details: { option: 'atomics' } },
    );
  }
  if (atomics !== 'async' && atomics !== 'disabled') {
    throw createManagerError(
      ErrorCode.InvalidOption,
      `options.atomics must be 'disabled' or 'async', got ${inspect(atomics)}`,
      { details: { option: 'atomics' } },
    );
  }
  const filename =
    options.filename === undefined || options.filename === null
      ? options.filename
      : taskFilePath(options.filename as FileSpecifier);
  const execArgv =
    options.execArgv ??
    (typeof filename === 'string' && isTypeScriptFile(filename)
      ? typeScriptExecArgv(filename)
      : undefined);
  return { ...options, filename, atomics, ...(execArgv === undefined ? {} : { execArgv }) };
}

/**
 * Runs one task on `pool` with its proxies, manager handles and marked buffers handed off:
 * `encode()` takes the references of the proxies in `task` before it leaves (R3), the ports
 * and buffers go into Piscina's `transferList`, and the result is decoded into working
 * proxies. The task file must wrap its function with `defineTask()`. If the task is never
 * posted (aborted while queued, pool destroyed, clone error) the handoff ports are closed,
 * and the server drops the references taken for it.
 *
 * `task` may also be a `Piscina.move(value)`: the value is walked and its transferables kept.
 */
export async function runTask<R = unknown>(
  pool: Piscina,
  task: unknown,
  options: PiscinaRunOptions = {},
): Promise<R> {
  return runWith((value, runOptions) => pool.run(value, runOptions), task, options);
}

async function runWith<R>(
  run: (task: unknown, options: PiscinaRunOptions) => Promise<unknown>,
  task: unknown,
  options: PiscinaRunOptions,
): Promise<R> {
  const unwrapped = unwrapTransferable(task);
  const encoded = encode(unwrapped.value);
  const transferList = uniqueTransferList([
    ...((options.transferList as readonly never[] | undefined) ?? []),
    ...unwrapped.transferList,
    ...encoded.transferList,
  ]);
  let result: unknown;
  try {
    result = await run(encoded.value, {
      ...options,
      transferList: transferList as PiscinaRunOptions['transferList'],
    });
  } catch (error) {
    // A task that never left gives its references back (ports that did leave are detached).
    discard(encoded);
    const envelope =
      typeof error === 'object' && error !== null
        ? (error as Record<string, unknown>)[TASK_ERROR_KEY]
        : undefined;
    throw envelope === undefined
      ? error
      : fromErrorEnvelope(envelope as Parameters<typeof fromErrorEnvelope>[0]);
  }
  return decode<R>(result);
}

/**
 * A Piscina pool whose tasks and results may contain @managers proxies, manager handles and
 * buffers marked with `transfer()`, with no transfer list written by hand. It *is* a Piscina
 * (events, `threads`, `close()`, `destroy()`, `await using`); only `run()` differs: it
 * encodes the task and decodes the result (see {@link runTask}). Its task file wraps its
 * function with `defineTask()`.
 *
 * Defaults differ from Piscina's in one place: `atomics: 'disabled'` (see
 * {@link ManagedPoolOptions.atomics}). A TypeScript `filename` gets the execArgv that loads it.
 */
export class ManagedPool<T = any, R = any> extends Piscina<T, R> {
  /** The task file given to the constructor (Piscina's own `filename` is the loader). */
  readonly #taskFile: string | null | undefined;
  readonly #defaultName: string;

  constructor(options: ManagedPoolOptions = {}) {
    const settings = managedPoolOptions(options);
    const taskFile = settings.filename;
    const defaultName = options.name ?? 'default';
    super(
      typeof taskFile === 'string'
        ? {
            ...settings,
            filename: TASK_LOADER_FILE,
            name: taskKey(taskFile, defaultName),
            execArgv:
              settings.execArgv ??
              (isTypeScriptFile(TASK_LOADER_FILE) ? typeScriptExecArgv(taskFile) : undefined),
          }
        : settings,
    );
    this.#taskFile = taskFile;
    this.#defaultName = defaultName;
  }

  /**
   * Runs one task (see {@link runTask}). `options.name` picks another export of the task file,
   * `options.filename` another task file; either must be a `defineTask()` task, or the call
   * rejects with `ERR_INVALID_OPTION` (and the task's proxies are released).
   */
  override run(task: T, options: PiscinaRunOptions = {}): Promise<R> {
    const file =
      options.filename === undefined || options.filename === null
        ? this.#taskFile
        : taskFilePath(options.filename);
    const routed =
      typeof file === 'string'
        ? {
            ...options,
            filename: TASK_LOADER_FILE,
            name: taskKey(file, options.name ?? this.#defaultName),
          }
        : options;
    return runWith<R>((value, runOptions) => super.run(value as T, runOptions), task, routed);
  }
}
