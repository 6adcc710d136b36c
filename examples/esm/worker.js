// worker.js: a plain worker thread started with createWorker(); its workerData holds proxies.
import { parentPort, workerData } from 'node:worker_threads';
import { decode } from '@managers/core';

const { tally, lengths } = decode(workerData);
for (const word of await tally.known()) {
  await tally.add(word);
  await lengths.set(word, word.length);
}
tally[Symbol.dispose]();
lengths[Symbol.dispose]();
parentPort.postMessage('done');
