/**
 * A demo worker: it receives a Counter proxy (and maybe a port to a sibling), uses it, passes
 * it on, and keeps it until it is told to stop or is terminated.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { decode, postMessage, type Remote } from '@managers/core';
import type { Counter } from './managers';

const { name, counter, sibling } = decode<{
  name: string;
  counter: Remote<Counter>;
  sibling?: MessagePort;
}>(workerData);

async function main(): Promise<void> {
  const value = await counter.increment(10);
  parentPort!.postMessage(`${name}: counter.increment(10) -> ${value}`);
  if (sibling !== undefined) {
    // Pass the proxy on to the sibling worker: a handoff, not a relay through this thread.
    postMessage(sibling, { counter });
    sibling.close();
    parentPort!.postMessage(`${name}: passed the counter on to its sibling`);
  }
  parentPort!.postMessage('done');
}

parentPort!.on('message', (message: { port?: MessagePort }) => {
  if (message.port === undefined) return;
  message.port.once('message', async (received: unknown) => {
    message.port!.close();
    const { counter: passed } = decode<{ counter: Remote<Counter> }>(received);
    const value = await passed.increment(100);
    parentPort!.postMessage(
      `${name}: got the counter from its sibling, increment(100) -> ${value}`,
    );
    parentPort!.postMessage('done');
  });
});

void main();
