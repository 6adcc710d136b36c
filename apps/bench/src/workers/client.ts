/**
 * A client thread for the handoff and multi-thread Map workloads. It needs
 * `encode`/`decode` from @managers/core (the handoff API); main only starts it when they exist.
 *
 * Messages on its port, or posted to the Worker itself after its "ready" (each gets one reply,
 * on the channel it came on):
 * - `{t: 'echo'}`: replied as is (the raw round trip to this thread);
 * - `{t: 'handoff', value}`: decodes the proxy, awaits its `ping()`, releases it;
 * - `{t: 'map-attach', value}` / `{t: 'map-detach'}`: keeps / releases a Map proxy;
 * - `{t: 'map-run', ops, lanes, tag}`: `ops` set/get calls on the Map, `lanes` outstanding.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import * as core from '@managers/core';

type Decode = (value: unknown) => unknown;
interface Pingable {
  ping(): Promise<unknown>;
  [Symbol.dispose](): void;
}
interface MapProxy {
  set(key: string, value: unknown): Promise<void>;
  get(key: string): Promise<unknown>;
  [Symbol.dispose](): void;
}
type Message =
  | { t: 'echo' }
  | { t: 'handoff'; value: unknown }
  | { t: 'map-attach'; value: unknown }
  | { t: 'map-detach' }
  | { t: 'map-run'; ops: number; lanes: number; tag: string };

const decode = (core as unknown as { decode?: Decode }).decode;
const port = (workerData as { port: MessagePort }).port;
let map: MapProxy | undefined;

async function mapRun(ops: number, lanes: number, tag: string): Promise<void> {
  const target = map!;
  let next = 0;
  const lane = async () => {
    while (next < ops) {
      const i = next++;
      const key = `${tag}${i & 1023}`;
      if (i & 1) await target.get(key);
      else await target.set(key, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(lanes, ops)) }, lane));
}

async function handle(message: Message): Promise<unknown> {
  switch (message.t) {
    case 'echo':
      return message;
    case 'handoff': {
      const proxy = decode!(message.value) as Pingable;
      await proxy.ping();
      proxy[Symbol.dispose]();
      return { t: 'handoff' };
    }
    case 'map-attach':
      map = decode!(message.value) as MapProxy;
      return { t: 'map-attach' };
    case 'map-detach':
      map?.[Symbol.dispose]();
      map = undefined;
      return { t: 'map-detach' };
    case 'map-run':
      await mapRun(message.ops, message.lanes, message.tag);
      return { t: 'map-run' };
  }
}

/** Answers each message on the channel it came on: its port, or the worker's own `parentPort`. */
function serve(channel: Pick<MessagePort, 'on' | 'postMessage'>): void {
  channel.on('message', (message: Message) => {
    handle(message).then(
      (reply) => channel.postMessage(reply),
      (error: unknown) =>
        channel.postMessage({ t: 'error', message: String((error as Error)?.stack ?? error) }),
    );
  });
}
serve(port);
parentPort!.postMessage('ready');
serve(parentPort!);
