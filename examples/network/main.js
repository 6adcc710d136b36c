// main.js: a manager other processes use over a Unix socket, guarded by an authkey.
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportProxy, isManagerError } from '@managers/core';
import { AppManager } from './managers.js';

const directory = mkdtempSync(join(tmpdir(), 'managers-network-'));
const authkey = randomBytes(32).toString('base64url');
const manager = await AppManager.start({
  module: new URL('./managers.js', import.meta.url),
  address: { path: join(directory, 'app.sock') },
  authkey,
});
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
// A client's releases and its socket's close reach the server's thread on their own schedule:
// the child's 'exit' event here can come first. Wait (at most 2 s) for the count to settle.
const objectsSettledAt = async (expected) => {
  let objects = await manager.numberOfObjects();
  for (let i = 0; i < 200 && objects !== expected; i++) {
    await sleep(10);
    objects = await manager.numberOfObjects();
  }
  return objects;
};
try {
  const counter = await manager.Counter();

  const runClient = async (hold) => {
    const child = fork(new URL('./client.js', import.meta.url), {
      env: { ...process.env, APP_AUTHKEY: authkey },
    });
    // The reference for the exported copy is taken before the data leaves this process.
    child.send({ address: manager.address, exported: await exportProxy(counter), hold });
    const [answer] = await once(child, 'message');
    return { child, answer };
  };

  const first = await runClient(false);
  console.log('client 1 saw', first.answer.value, '| owner:', first.answer.isOwner);
  await once(first.child, 'exit');
  console.log('after client 1 exited, objects:', await objectsSettledAt(1));

  const second = await runClient(true);
  console.log(
    'client 2 saw',
    second.answer.value,
    '| objects while it runs:',
    await manager.numberOfObjects(),
  );
  second.child.kill('SIGKILL');
  await once(second.child, 'exit');
  console.log('after client 2 was killed, objects:', await objectsSettledAt(1));

  try {
    await AppManager.connect({ address: manager.address, authkey: 'wrong' });
  } catch (error) {
    console.log(
      'a wrong authkey:',
      isManagerError(error, 'ERR_AUTHENTICATION') ? error.code : error,
    );
  }
  console.log('counter value:', await counter.value());
  counter[Symbol.dispose]();
  console.log('objects left:', await objectsSettledAt(0));
} finally {
  await manager.shutdown();
  rmSync(directory, { recursive: true, force: true });
}
