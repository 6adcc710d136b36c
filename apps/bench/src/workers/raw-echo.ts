/** The raw baseline: echoes every message on its port; ArrayBuffers go back transferred. */
import { types } from 'node:util';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';

const port = (workerData as { port: MessagePort }).port;
port.on('message', (message: unknown) => {
  if (types.isArrayBuffer(message)) port.postMessage(message, [message]);
  else port.postMessage(message);
});
parentPort!.postMessage('ready');
parentPort!.on('message', (message: unknown) => {
  if (message === 'close') {
    port.close();
    parentPort!.close();
  }
});
