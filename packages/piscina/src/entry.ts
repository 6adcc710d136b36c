import { dirname, extname, join } from 'node:path';
import { createManagerError, ErrorCode } from '@managers/refcount';

/** True for a file that Node 20 cannot load by itself in a worker (TypeScript). */
export function isTypeScriptFile(filename: string): boolean {
  return /\.[cm]?tsx?$/.test(filename);
}

/**
 * The `execArgv` that lets a worker thread load TypeScript: tsx's CommonJS hook, and the
 * `source` export condition so that the worker's own imports of workspace packages load
 * their sources too (without it they resolve to `dist/`).
 */
export function typeScriptExecArgv(): string[] {
  let tsx: string;
  try {
    tsx = require.resolve('tsx/cjs');
  } catch (error) {
    throw createManagerError(
      ErrorCode.InvalidOption,
      "a pool whose task file is TypeScript needs the 'tsx' package installed",
      { cause: error },
    );
  }
  return ['--conditions=source', '--require', tsx];
}

/**
 * The task file `name` next to `callerFilename`, with the caller's own extension: from
 * sources (`.ts`, run by jest or tsx) the `.ts` file, from `dist/` the `.js` file.
 *
 * ```ts
 * const pool = new ManagedPool({ filename: taskFile(__filename, 'tasks') });
 * ```
 */
export function taskFile(callerFilename: string, name: string): string {
  return join(dirname(callerFilename), `${name}${extname(callerFilename)}`);
}
