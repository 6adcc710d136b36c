import { extname, join } from 'node:path';
import { Worker, type TransferListItem } from 'node:worker_threads';

/**
 * Starts `src/workers/<name>` as a worker thread: the `.ts` file through tsx when this module
 * runs from source, the compiled `.js` otherwise (see TOOLCHAIN.md).
 */
export function startWorker(
  name: string,
  workerData: unknown,
  transferList: TransferListItem[] = [],
): Worker {
  const extension = extname(__filename);
  const filename = join(__dirname, `${name}${extension}`);
  const execArgv =
    extension === '.ts'
      ? ['--conditions=@managers/source', '--require', require.resolve('tsx/cjs')]
      : undefined;
  return new Worker(filename, { workerData, transferList, execArgv, name: `bench ${name}` });
}

/** Resolves with the first message of `worker` (its "ready"), rejects if it errors or exits first. */
export function ready(worker: Worker): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    const onMessage = (message: unknown) => (cleanup(), resolve(message));
    const onError = (error: unknown) => (cleanup(), reject(error));
    const onExit = (code: number) => (
      cleanup(),
      reject(new Error(`worker exited with code ${code} before it was ready`))
    );
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}
