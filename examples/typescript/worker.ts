// worker.ts: a plain worker thread started with createWorker(); its workerData holds proxies.
// (A .ts worker is loaded through tsx's CommonJS hook, the only one that reaches worker threads
// on Node 20: no top-level await in it.)
import { parentPort, workerData } from 'node:worker_threads';
import { decode } from '@managers/core';
import { asSyncProxy } from '@managers/sync';
import type { TallyProxy } from './managers.js';

async function main(): Promise<void> {
  const received = decode<{ tally: TallyProxy; lengths: object }>(workerData);
  using tally = received.tally;
  using lengths = asSyncProxy<string, number>(received.lengths, 'Map');
  for (const word of await tally.known()) {
    await tally.add(word);
    await lengths.set(word, word.length);
  }
  parentPort!.postMessage('done');
}

void main();
