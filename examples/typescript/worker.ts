// worker.ts: a plain worker thread started with createWorker(); its workerData holds proxies.
import { parentPort, workerData } from 'node:worker_threads';
import { decode } from '@managers/core';
import { asSyncProxy } from '@managers/sync';
import type { TallyProxy } from './managers.js';

const received = decode<{ tally: TallyProxy; lengths: object }>(workerData);
using tally = received.tally;
using lengths = asSyncProxy<string, number>(received.lengths, 'Map');
for (const word of await tally.known()) {
  await tally.add(word);
  await lengths.set(word, word.length);
}
parentPort!.postMessage('done');
