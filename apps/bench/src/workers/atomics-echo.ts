/**
 * The floor of a synchronous call: a bare SharedArrayBuffer ping-pong. Once it receives the
 * buffer, this thread blocks in Atomics.wait for requests and answers each by echoing the
 * request word and notifying (no MessagePort, no serialization, no dispatch).
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { ATOMICS_REQUEST, ATOMICS_REPLY, ATOMICS_VALUE, ATOMICS_STOP } from './atomics-words';

const port = (workerData as { port: MessagePort }).port;
port.once('message', (buffer: SharedArrayBuffer) => {
  const words = new Int32Array(buffer);
  let seen = 0;
  for (;;) {
    Atomics.wait(words, ATOMICS_REQUEST, seen, 100);
    if (Atomics.load(words, ATOMICS_STOP) === 1) break;
    const request = Atomics.load(words, ATOMICS_REQUEST);
    if (request === seen) continue;
    seen = request;
    Atomics.store(words, ATOMICS_VALUE, Atomics.load(words, ATOMICS_VALUE));
    Atomics.store(words, ATOMICS_REPLY, seen);
    Atomics.notify(words, ATOMICS_REPLY);
  }
  port.close();
});
parentPort!.postMessage('ready');
