/**
 * The network soak: client processes hammer a manager listening on a Unix socket
 * (calls, pipelined calls, create + release, exports imported by the other process, connects
 * and disconnects, a client SIGKILLed mid-run), then the server's heap after a forced garbage
 * collection is compared with its heap at the start, and the table must be empty.
 *
 *   pnpm soak:network [--calls=50000] [--max-growth-mb=4]
 *
 * Exits non-zero if a client saw a wrong result, the table is not empty at the end, or the
 * heap grew by more than --max-growth-mb.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import type { Remote } from '@managers/core';
import { SoakManager, type Heap } from '../test/fixtures/soak';

const SOAK_MODULE = require.resolve('../test/fixtures/soak');
const CLIENT = join(__dirname, 'network-soak-client.ts');
const AUTHKEY = 'network-soak';

function option(name: string, fallback: number): number {
  const found = process.argv.find((arg) => arg.startsWith(`--${name}=`));
  return found === undefined ? fallback : Number(found.slice(name.length + 3));
}

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(2)} MB`;

function startClient(): ChildProcess {
  return fork(CLIENT, [], {
    execArgv: ['--conditions=@managers/source', '--require', require.resolve('tsx/cjs')],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

function ask(child: ChildProcess, message: Record<string, unknown>): Promise<any> {
  return new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`a client exited (${code})`)));
    child.send(message);
  });
}

async function main(): Promise<void> {
  const calls = option('calls', 50_000);
  const maxGrowthMb = option('max-growth-mb', 4);
  const directory = mkdtempSync(join(tmpdir(), 'managers-soak-'));
  const unix = await SoakManager.start({
    module: SOAK_MODULE,
    initializer: 'exposeHeap',
    address: { path: join(directory, 'soak.sock') },
    authkey: AUTHKEY,
    traceBufferSize: 0,
  });
  try {
    const heap = (await unix.Heap()) as unknown as Remote<Heap>;
    const atStart = await heap.collect();
    console.log(`server heap at start (after gc): ${mb(atStart)}`);
    const started = Date.now();
    for (const round of [1, 2]) {
      const [first, second, victim] = [startClient(), startClient(), startClient()];
      await Promise.all(
        [first, second, victim].map((child) => new Promise((r) => child.once('message', r))),
      );
      const work = { address: unix.address, authkey: AUTHKEY, calls };
      // The victim holds objects and is killed in the middle of its calls.
      const victimRun = ask(victim, { ...work, calls: calls * 10 }).catch(() => 'killed');
      const [a, b] = await Promise.all([ask(first, work), ask(second, work)]);
      victim.kill('SIGKILL');
      assert.equal(await victimRun, 'killed');
      for (const result of [a, b]) assert.equal(result.error, undefined, result.error);
      // Each exports a proxy the other imports.
      const exported = await Promise.all([
        ask(first, { export: true }),
        ask(second, { export: true }),
      ]);
      const imported = await Promise.all([
        ask(first, { import: exported[1].exported, authkey: AUTHKEY }),
        ask(second, { import: exported[0].exported, authkey: AUTHKEY }),
      ]);
      for (const result of imported) assert.equal(result.count, 3);
      for (const child of [first, second]) {
        child.send({ exit: true });
        await new Promise((resolve) => child.once('exit', resolve));
      }
      const left = await unix.numberOfObjects();
      console.log(
        `round ${round}: 2 clients × ${calls} calls, ${calls / 10} creates, 50 reconnects, exports; a killed client; objects left besides the heap probe: ${left - 1}`,
      );
      assert.equal(left, 1, 'only the Heap probe is left');
    }
    const atEnd = await heap.collect();
    const growth = atEnd - atStart;
    console.log(
      `server heap at end (after gc):   ${mb(atEnd)} (${growth >= 0 ? '+' : ''}${mb(growth)}) after ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    assert.ok(growth < maxGrowthMb * 2 ** 20, `the server heap grew by ${mb(growth)}`);
    heap[Symbol.dispose]();
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(await unix.numberOfObjects(), 0);
    console.log('network soak: ok');
  } finally {
    await unix.shutdown();
    rmSync(directory, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
