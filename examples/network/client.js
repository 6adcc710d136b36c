// client.js: another process. It connects with the authkey (from its environment), uses the
// counter the main process exported to it, and makes one of its own.
import { importProxy, release } from '@managers/core';
import { AppManager } from './managers.js';

const authkey = process.env.APP_AUTHKEY;
const { address, exported, hold } = await new Promise((resolve) =>
  process.once('message', resolve),
);

const remote = await AppManager.connect({ address, authkey });
const shared = await importProxy(exported, { authkey }); // reuses the connection just made
const value = await shared.increment(10);
const mine = await remote.Counter();
await mine.increment();
process.send({ value, isOwner: remote.isOwner });
if (hold) {
  // Keep both proxies (reachable: an unreachable proxy is released by the garbage collector)
  // and wait: the main process kills this one.
  globalThis.kept = [shared, mine];
  setInterval(() => {}, 1000);
  await new Promise(() => {});
}
release(shared);
release(mine);
process.exit(0);
