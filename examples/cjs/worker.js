// worker.js: a plain worker thread started with createWorker(); its workerData holds proxies.
const { parentPort, workerData } = require('node:worker_threads');
const { decode } = require('@managers/core');

async function main() {
  const { tally, lengths } = decode(workerData);
  for (const word of await tally.known()) {
    await tally.add(word);
    await lengths.set(word, word.length);
  }
  tally[Symbol.dispose]();
  lengths[Symbol.dispose]();
  parentPort.postMessage('done');
}

main();
