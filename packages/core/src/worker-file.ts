import { extname, join } from 'node:path';
import { createManagerError, ErrorCode } from '@managers/refcount';

/** The file and execArgv that start one of this package's worker entries (`name` without extension). */
export function workerEntry(
  name: string,
  userModule?: string,
): { filename: string; execArgv: string[] | undefined } {
  const extension = extname(__filename);
  const filename = join(__dirname, `${name}${extension}`);
  const fromSource = extension === '.ts';
  const userIsTypeScript = userModule !== undefined && /\.[cm]?tsx?$/.test(userModule);
  // For profiling the server: MANAGERS_SERVER_EXEC_ARGV='--cpu-prof --cpu-prof-dir=/tmp/prof'.
  const extra = process.env.MANAGERS_SERVER_EXEC_ARGV?.split(' ').filter(Boolean) ?? [];
  if (!fromSource && !userIsTypeScript)
    return { filename, execArgv: extra.length ? extra : undefined };
  let tsx: string;
  try {
    tsx = require.resolve('tsx/cjs');
  } catch (error) {
    throw createManagerError(
      ErrorCode.StartFailed,
      `loading TypeScript (${fromSource ? filename : userModule}) in a worker needs the 'tsx' package installed`,
      { cause: error },
    );
  }
  return {
    filename,
    execArgv: [...(fromSource ? ['--conditions=source'] : []), '--require', tsx, ...extra],
  };
}
