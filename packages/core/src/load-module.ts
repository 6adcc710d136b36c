import { pathToFileURL } from 'node:url';
import { isTypeScriptFile } from './worker-file';

/**
 * Loads the module at the absolute `path` the way Node's own entry points do: `import()`, so
 * that ESM modules (with top-level `await`) and CommonJS ones both work on every supported
 * Node version. A TypeScript file is `require()`d instead, through tsx's CommonJS hook, the
 * only TypeScript loader that reaches worker threads on Node 20.
 */
export async function loadModule(path: string): Promise<Record<string, unknown>> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  if (isTypeScriptFile(path)) return require(path) as Record<string, unknown>;
  return (await import(pathToFileURL(path).href)) as Record<string, unknown>;
}
