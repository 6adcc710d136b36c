/** A client process of the network soak (network-soak.ts): does the work it is told. */
import assert from 'node:assert/strict';
import {
  exportProxy,
  importProxy,
  release,
  type NetworkAddress,
  type Remote,
} from '@managers/core';
import type { Toolbox } from '../test/fixtures/kitchen';
import { SoakManager } from '../test/fixtures/soak';

type Remote_ = Awaited<ReturnType<typeof SoakManager.connect>>;
let manager: Remote_ | undefined;

async function work(address: NetworkAddress, authkey: string, calls: number): Promise<void> {
  manager = await SoakManager.connect({ address, authkey });
  const box = await manager.Toolbox();
  // One outstanding, then 256 in flight.
  for (let i = 1; i <= calls / 2; i++) assert.equal(await box.inc(), i);
  for (let sent = 0; sent < calls / 2; sent += 256) {
    const batch = await Promise.all(
      Array.from({ length: 256 }, (_, k) => box.echo({ k, s: 'x'.repeat(k) })),
    );
    batch.forEach((value, k) => assert.equal((value as { k: number }).k, k));
  }
  for (let i = 0; i < calls / 10; i++) {
    using made = await manager.Toolbox();
    await made.inc();
  }
  release(box);
  // Disconnect and connect again: each a new socket, handshake and welcome.
  for (let i = 0; i < 50; i++) {
    await manager.disconnect();
    manager = await SoakManager.connect({ address, authkey });
    using counted = await manager.Toolbox();
    await counted.inc();
  }
}

process.on('message', async (message: Record<string, any>) => {
  try {
    if (message.exit) {
      await manager?.disconnect();
      process.exit(0);
    }
    if (message.export) {
      const box = await manager!.Toolbox();
      await box.inc();
      await box.inc();
      const exported = await exportProxy(box);
      release(box);
      return process.send!({ exported });
    }
    if (message.import) {
      const box = await importProxy<Remote<Toolbox>>(message.import, { authkey: message.authkey });
      const count = await box.inc();
      release(box);
      await manager!.numberOfObjects();
      return process.send!({ count });
    }
    await work(message.address, message.authkey, message.calls);
    process.send!({ done: true });
  } catch (error) {
    process.send!({ error: String((error as Error)?.stack ?? error) });
  }
});
process.send!('ready');
