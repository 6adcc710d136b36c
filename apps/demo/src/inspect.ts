/**
 * `pnpm demo --inspect`: starts the demo manager with the live inspector, sets up a small
 * scene (objects held by the main thread and by a worker, a shelf of server-side proxies with
 * a cycle), keeps a little activity going so the trace moves, and runs until Ctrl-C.
 */
import { once } from 'node:events';
import { extname, join } from 'node:path';
import { createWorker, release } from '@managers/core';
import { startInspector } from '@managers/inspector';
import { DemoManager } from './managers';

/** Options of `pnpm demo --inspect` (`--port=N`, `--host=H`). */
function readArguments(argv: readonly string[]): { port: number; host?: string } {
  const value = (name: string) =>
    argv.find((argument) => argument.startsWith(`--${name}=`))?.slice(name.length + 3);
  const port = Number(value('port') ?? 0);
  return { port, host: value('host') };
}

export async function inspectDemo(argv: readonly string[]): Promise<void> {
  const { port, host } = readArguments(argv);
  const manager = await DemoManager.start({ module: require.resolve('./managers') });
  const inspector = await startInspector(manager, { port, host });

  const counter = await manager.Counter();
  const mag = await manager.Mag(2);
  const shelf = await manager.Shelf('tools');
  const archive = await manager.Shelf('archive');
  await shelf.put('magnifier', mag);
  await shelf.put('counter', counter);
  await shelf.put('archive', archive);
  // The archive points back at the shelf: a cycle of server-side proxies.
  await archive.put('shelf', shelf);
  release(archive);
  const fromSource = extname(__filename) === '.ts';
  const worker = createWorker(join(__dirname, `worker${extname(__filename)}`), {
    workerData: { name: 'worker A', counter },
    execArgv: fromSource
      ? ['--conditions=@managers/source', '--require', require.resolve('tsx/cjs')]
      : undefined,
  });
  worker.on('message', () => undefined);
  await once(worker, 'message');

  console.log(`\nThe inspector is live at ${inspector.url}`);
  console.log('Open it in a browser (or curl it). Press Ctrl-C to stop.\n');

  // A little life for the trace: a Magnifier made, used and released a second later, every 2 s.
  let coef = 10;
  const pending = new Set<Promise<void>>();
  const activity = setInterval(() => {
    const step = (async () => {
      const made = await manager.Magnifier(coef++);
      await made.scale(3);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      release(made);
    })()
      .catch((error: unknown) => console.error(error))
      .finally(() => pending.delete(step));
    pending.add(step);
  }, 2000);

  await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
  console.log('\nStopping…');
  clearInterval(activity);
  await Promise.all(pending);
  await worker.terminate();
  await shelf.remove('archive');
  for (const proxy of [shelf, mag, counter]) release(proxy);
  console.log(`number_objects = ${await manager.numberOfObjects()}`);
  await inspector.close();
  await manager.shutdown();
}
