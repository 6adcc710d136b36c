/** The Comlink peer: `ping()`, and `make()` returning a sub-object proxy. */
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/umd/node-adapter';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';

class Counter {
  n = 0;
  ping(): void {}
  increment(): number {
    return ++this.n;
  }
}

const api = {
  ping(value?: unknown): unknown {
    return value;
  },
  make() {
    return Comlink.proxy(new Counter());
  },
};
export type ComlinkApi = typeof api;

const port = (workerData as { port: MessagePort }).port;
Comlink.expose(api, nodeEndpoint(port));
parentPort!.postMessage('ready');
parentPort!.on('message', (message: unknown) => {
  if (message === 'close') {
    port.close();
    parentPort!.close();
  }
});
