import { extname, join } from 'node:path';

/** The file `ManagedPool` gives Piscina: task-loader.ts, in this file's form (source or build). */
export const TASK_LOADER_FILE = join(__dirname, `task-loader${extname(__filename)}`);

/** The Piscina handler name under which `ManagedPool` asks the loader for export `name` of `file`. */
export function taskKey(file: string, name: string): string {
  return JSON.stringify([file, name]);
}
