/**
 * Section 5 of the demo: managers across processes. The main process starts a SyncManager that
 * also listens on a Unix domain socket; two forked processes connect with the authkey, share a
 * Map and a Lock (handed to them as exported proxies over `process.send`), and one of them is
 * SIGKILLed while it holds the lock: the server releases everything it held, the lock goes to
 * the other process, and the trace shows it.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { exportProxy, formatTrace, release, typeScriptExecArgv } from '@managers/core';
import { SyncManager, SYNC_MODULE } from '@managers/sync';

type Say = (text: string) => void;

function startProcess(name: string, authkey: string): ChildProcess {
  const file = join(__dirname, `process-child${extname(__filename)}`);
  return fork(file, [name], {
    // From source (`pnpm demo`), the child loads TypeScript through tsx as the workers do.
    execArgv: extname(__filename) === '.ts' ? typeScriptExecArgv() : [],
    env: { ...process.env, DEMO_AUTHKEY: authkey },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

function nextMessage(child: ChildProcess, name: string, say: Say): Promise<string> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: string) => {
      say(`  [${name}] ${message}`);
      child.off('exit', onExit);
      resolve(message);
    };
    const onExit = (code: number | null) => {
      child.off('message', onMessage);
      reject(new Error(`${name} exited (${code}) before answering`));
    };
    child.once('message', onMessage);
    child.once('exit', onExit);
  });
}

export async function processesWalkthrough(heading: Say, say: Say = console.log): Promise<void> {
  heading('5. Across processes: a Unix socket, an authkey, two processes, one SIGKILLed');
  const directory = mkdtempSync(join(tmpdir(), 'managers-demo-'));
  // The authkey reaches the children through their environment, never on the command line.
  const authkey = randomBytes(24).toString('base64url');
  try {
    await using manager = await SyncManager.start({
      module: SYNC_MODULE,
      name: 'shared',
      address: { path: join(directory, 'shared.sock') },
      authkey,
    });
    say(`the manager listens on ${JSON.stringify(manager.address)} (authkey required)`);
    const map = await manager.Map();
    const lock = await manager.Lock();
    await map.set('started-by', `main (pid ${process.pid})`);
    const a = startProcess('process A', authkey);
    const b = startProcess('process B', authkey);
    for (const [child, name] of [
      [a, 'process A'],
      [b, 'process B'],
    ] as const) {
      // Each export takes a reference for the copy in flight before it leaves (R3).
      child.send({
        address: manager.address,
        map: await exportProxy(map),
        lock: await exportProxy(lock),
      });
      await nextMessage(child, name, say);
    }
    const aExited = new Promise((resolve) => a.once('exit', (_code, signal) => resolve(signal)));
    a.send('take the lock');
    await nextMessage(a, 'process A', say);
    await nextMessage(a, 'process A', say);
    b.send('take the lock');
    await nextMessage(b, 'process B', say);
    say(`\nthe Map and the Lock are held by main and by both processes:`);
    say(await manager.debugInfo({ holders: true }));
    const mark = (await manager.trace()).at(-1)?.seq ?? 0;
    say(`\nSIGKILL to process A (pid ${a.pid}) while it holds the lock…`);
    const killedAt = Date.now();
    a.kill('SIGKILL');
    say(`process A ended by ${String(await aExited)}`);
    await nextMessage(b, 'process B', say);
    say(`process B got the lock ${Date.now() - killedAt} ms after the kill.`);
    say('\nthe trace since the kill: the server released every reference of A’s connection (its');
    say('socket closed: rule R4). The lock A held was released with its connection and went to B.');
    say(formatTrace((await manager.trace()).filter((event) => event.seq > mark)));
    b.send('done');
    await new Promise((resolve) => b.once('exit', resolve));
    say(
      `\nthe map, as the processes left it: ${JSON.stringify(Object.fromEntries(await map.copy()))}`,
    );
    release(map);
    release(lock);
    await new Promise((resolve) => setTimeout(resolve, 20));
    say(`number_objects after main released its proxies: ${await manager.numberOfObjects()}`);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}
