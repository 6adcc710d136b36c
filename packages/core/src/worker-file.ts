import { extname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, URL } from 'node:url';
import { inspect } from 'node:util';
import { createManagerError, ErrorCode } from '@managers/refcount';

/**
 * A file given to `start({ module })`, `createWorker()` or `ManagedPool`: an absolute path, a
 * path relative to the current directory, a `file:` URL string or a `URL` object.
 */
export type FileSpecifier = string | URL;

/** The export condition that makes this monorepo's packages load their TypeScript sources. */
export const SOURCE_CONDITION = '@managers/source';

/** True when this package runs from its TypeScript sources (in the monorepo, under jest or tsx). */
const runningFromSource = extname(__filename) === '.ts';

/**
 * The path of `file` (see {@link FileSpecifier}; a relative path stays relative); throws an `ERR_INVALID_OPTION`
 * error naming `option` when it is neither.
 */
export function toFilePath(file: unknown, option: string): string {
  if (file instanceof URL || (typeof file === 'object' && file !== null && 'href' in file)) {
    const url = file as URL;
    if (url.protocol !== 'file:') {
      throw createManagerError(
        ErrorCode.InvalidOption,
        `${option} must be a file path or a file: URL, got ${url.href}`,
        { details: { option } },
      );
    }
    return fileURLToPath(url.href);
  }
  if (typeof file !== 'string' || file.length === 0) {
    throw createManagerError(
      ErrorCode.InvalidOption,
      `${option} must be a file path or a file: URL, got ${inspect(file)}`,
      { details: { option } },
    );
  }
  return file.startsWith('file:') ? fileURLToPath(file) : file;
}

/** True for a file that Node cannot load by itself (TypeScript: `.ts`, `.mts`, `.cts`, `.tsx`). */
export function isTypeScriptFile(file: FileSpecifier): boolean {
  const path = typeof file === 'string' ? file : file.pathname;
  return /\.[cm]?tsx?$/.test(path);
}

/**
 * The `execArgv` that lets a worker thread load TypeScript files with `require()`: tsx's
 * CommonJS hook (tsx is an optional peer dependency: install it to run `.ts` workers), plus,
 * inside this monorepo only, the `@managers/source` condition so that the worker's imports of
 * `@managers/*` load their sources like the thread that started it. A user's own `.ts` file
 * never gets that condition: their threads load the published `dist/`.
 *
 * `what` names the file for the error thrown when tsx is missing.
 */
export function typeScriptExecArgv(what = 'a TypeScript file'): string[] {
  let tsx: string;
  try {
    tsx = require.resolve('tsx/cjs');
  } catch (error) {
    throw createManagerError(
      ErrorCode.InvalidOption,
      `loading ${what} in a worker thread needs the 'tsx' package: npm install --save-dev tsx`,
      { cause: error, details: { option: 'filename' } },
    );
  }
  return [...(runningFromSource ? [`--conditions=${SOURCE_CONDITION}`] : []), '--require', tsx];
}

/**
 * The code of an `eval` worker that loads the TypeScript file `path` with tsx's CommonJS hook.
 * Node cannot start a `.ts` file of an ESM package (`"type": "module"`) as a worker even with
 * the hook (its ESM loader refuses the extension, and on Node 20 loader hooks do not reach
 * worker threads), but `require()` through the hook loads both kinds.
 */
export function typeScriptBootstrap(path: string): string {
  return `require(${JSON.stringify(path)});`;
}

/** The file and execArgv that start one of this package's worker entries (`name` without extension). */
export function workerEntry(
  name: string,
  userModule?: string,
): { filename: string; execArgv: string[] | undefined } {
  const filename = join(__dirname, `${name}${extname(__filename)}`);
  // For profiling the server: MANAGERS_SERVER_EXEC_ARGV='--cpu-prof --cpu-prof-dir=/tmp/prof'.
  const extra = process.env.MANAGERS_SERVER_EXEC_ARGV?.split(' ').filter(Boolean) ?? [];
  const userIsTypeScript = userModule !== undefined && isTypeScriptFile(userModule);
  if (!runningFromSource && !userIsTypeScript)
    return { filename, execArgv: extra.length ? extra : undefined };
  return {
    filename,
    execArgv: [...typeScriptExecArgv(runningFromSource ? filename : userModule), ...extra],
  };
}

/**
 * How to start a user's worker `file` (see {@link FileSpecifier}; a relative path is relative
 * to the current directory, as for `new Worker`): a JavaScript file as it is; a TypeScript file
 * through an `eval` bootstrap that `require()`s it with tsx's hook (unless the caller gave its
 * own `execArgv`, or `eval: true` with code).
 */
export function userWorkerStart(
  file: FileSpecifier,
  options: { readonly eval?: boolean; readonly execArgv?: readonly string[] },
): { filename: string | URL; eval?: boolean; execArgv?: string[] } {
  if (options.eval === true) return { filename: file };
  const path = toFilePath(file, 'filename');
  const absolute = isAbsolute(path) ? path : resolve(path);
  if (!isTypeScriptFile(absolute) || options.execArgv !== undefined) return { filename: absolute };
  return {
    filename: typeScriptBootstrap(absolute),
    eval: true,
    execArgv: typeScriptExecArgv(absolute),
  };
}
