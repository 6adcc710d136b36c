/**
 * A process of the demo's section 5: imports the Map and the Lock the main process exported,
 * connecting to its manager over the Unix socket with the authkey from its environment.
 */
import { importProxy, release } from '@managers/core';
// Loads the proxy classes of the SyncManager types (LockProxy, MapProxy) into this process.
import type { LockProxy, MapProxy } from '@managers/sync';
import '@managers/sync';

const name = process.argv[2] ?? 'process';
const authkey = process.env.DEMO_AUTHKEY!;

function next(): Promise<unknown> {
  return new Promise((resolve) => process.once('message', resolve));
}

async function main(): Promise<void> {
  const given = (await next()) as { map: unknown; lock: unknown };
  // The first import connects (this process has no connection yet); the second reuses it.
  const map = await importProxy<MapProxy<string, string>>(given.map, { authkey });
  const lock = await importProxy<LockProxy>(given.lock, { authkey });
  process.send!(`connected (pid ${process.pid}); the map has ${await map.size()} entry`);
  await next(); // 'take the lock'
  const waiting = lock.acquire();
  process.send!(`asked for the lock`);
  await waiting;
  await map.set(name, `held the lock (pid ${process.pid})`);
  process.send!(`holds the lock; wrote map['${name}']`);
  await next(); // 'done' (process A never gets it: it is killed while holding the lock)
  await lock.release();
  release(map);
  release(lock);
  process.exit(0);
}

void main();
