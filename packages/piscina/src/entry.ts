import { dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FileSpecifier } from '@managers/core';

export { isTypeScriptFile, typeScriptExecArgv } from '@managers/core';

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

/** The absolute path of a pool's task file given as a path, a `file:` URL string or a `URL`. */
export function taskFilePath(file: FileSpecifier): string {
  const path =
    typeof file === 'string'
      ? file.startsWith('file:')
        ? fileURLToPath(file)
        : file
      : fileURLToPath(file.href);
  return isAbsolute(path) ? path : resolve(path);
}
