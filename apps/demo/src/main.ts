/**
 * `pnpm demo`: a walk through @managers for someone who knows Python's multiprocessing
 * managers. Each step prints debugInfo() in Python's `_debug_info()` shape and the refcount
 * trace.
 */
import { extname, join } from 'node:path';
import { MessageChannel, type Worker } from 'node:worker_threads';
import { createWorker, formatTrace, release, tokenOf, type TraceEvent } from '@managers/core';
import { ObjectTable } from '@managers/refcount';
import { DemoManager } from './managers';
import { poolsWalkthrough } from './pools';
import { inspectDemo } from './inspect';
import { processesWalkthrough } from './processes';

const heading = (text: string) => console.log(`\n${'='.repeat(78)}\n${text}\n${'='.repeat(78)}`);
type Manager = Awaited<ReturnType<typeof DemoManager.start>>;

let traceMark = 0;
/** Prints the trace events since the last call. */
async function printTrace(manager: Manager): Promise<void> {
  const events = (await manager.trace()).filter((event: TraceEvent) => event.seq > traceMark);
  if (events.length) traceMark = events[events.length - 1]!.seq;
  console.log('  trace:');
  console.log(indent(formatTrace(events), 4));
}

async function dump(manager: Manager, label: string): Promise<void> {
  console.log(`--- ${label}: number_objects=${await manager.numberOfObjects()}`);
  const info = await manager.debugInfo({ holders: true });
  if (info) console.log(info);
  await printTrace(manager);
}

function indent(text: string, by: number): string {
  return text
    .split('\n')
    .map((line) => ' '.repeat(by) + line)
    .join('\n');
}

function kernelWalkthrough(): void {
  heading('1. The refcount kernel (@managers/refcount), no threads');
  const table = new ObjectTable({ name: 'kernel-demo', traceBufferSize: 100 });
  const list: unknown[] = [1, 2];
  const id = table.register(
    list,
    { typeid: 'list', exposed: ['push'], methodToTypeid: {} },
    'main',
  );
  table.incref(id, 'worker-1', 'proxy sent to worker-1', 1, 'handoff');
  console.log(table.debugInfo({ holders: true }));
  table.releaseHolder('worker-1', 'worker-1 exited');
  table.decref(id, 'main', 'proxy released');
  console.log(`number_of_objects after release: ${table.numberOfObjects()}`);
  console.log(formatTrace(table.trace()));
}

async function magWalkthrough(manager: Manager): Promise<void> {
  heading(
    "2. mag.py: a registered function returning a cached object (Python's refcount 1, then 2)",
  );
  const mag2 = await manager.Mag(2);
  console.log(`mag2.scale(3) = ${await mag2.scale(3)}`);
  await dump(manager, 'mag2 = manager.Mag(2)');
  const mag2Another = await manager.Mag(2);
  console.log(`mag2_another.scale(10) = ${await mag2Another.scale(10)}`);
  await dump(manager, 'mag2_another = manager.Mag(2)');
  console.log(`same token id: ${tokenOf(mag2).id === tokenOf(mag2Another).id}`);
  await mag2Another[Symbol.asyncDispose]();
  await dump(manager, 'after releasing one proxy');
  const firstId = tokenOf(mag2).id;
  await mag2[Symbol.asyncDispose]();
  await dump(manager, 'after releasing both');
  // The factory's cache still holds the object: it comes back under the same id, counted from 1.
  const again = await manager.Mag(2);
  console.log(
    `Mag(2) again -> same id: ${tokenOf(again).id === firstId}, scale(5) = ${await again.scale(5)}`,
  );
  await again[Symbol.asyncDispose]();
  await dump(manager, 'Mag(2) again, then released');
}

async function cloneWalkthrough(manager: Manager): Promise<void> {
  heading('3. clone.py: methodToTypeid to a callable=null typeid and to a typeid with a callable');
  const mag = await manager.Magnifier(2);
  console.log(`mag: ${String(mag)} | exposed = ${tokenOf(mag).exposed.join(', ')}`);
  await dump(manager, 'mag = manager.Magnifier(2)');
  const clone = await mag.clone();
  console.log(`clone: ${String(clone)} | scale(3) = ${await clone.scale(3)}`);
  await dump(manager, 'clone = mag.clone()');
  const spawn = await mag.spawn(3);
  console.log(`spawn: ${String(spawn)} | scale(3) = ${await spawn.scale(3)}`);
  await dump(manager, 'spawn = mag.spawn(3)');
  const cloneSpawn = await clone.spawn(10);
  console.log(`clone_spawn: ${String(cloneSpawn)} | scale(3) = ${await cloneSpawn.scale(3)}`);
  const spawnClone = await spawn.clone();
  console.log(`spawn_clone: ${String(spawnClone)} | scale(3) = ${await spawnClone.scale(3)}`);
  await dump(manager, 'clone_spawn = clone.spawn(10); spawn_clone = spawn.clone()');
  console.log(`"ClonedMagnifier" in manager: ${'ClonedMagnifier' in manager}`);
  for (const proxy of [mag, clone, spawn, cloneSpawn, spawnClone]) release(proxy);
  await new Promise((resolve) => setImmediate(resolve));
  await dump(manager, 'after releasing all five proxies');
}

function startWorker(workerData: unknown): Worker {
  // A .ts worker (when the demo runs from source) loads through tsx by itself.
  return createWorker(join(__dirname, `worker${extname(__filename)}`), { workerData });
}

function messages(worker: Worker, until: number): Promise<void> {
  let done = 0;
  return new Promise((resolve) => {
    worker.on('message', (message: string) => {
      if (message === 'done') {
        if (++done === until) resolve();
      } else {
        console.log(`  [${message}]`);
      }
    });
  });
}

async function threadsWalkthrough(manager: Manager): Promise<void> {
  heading('4. Across threads: a Counter used and passed on by two workers, one terminated');
  const counter = await manager.Counter();
  await counter.increment();
  await dump(manager, 'counter = manager.Counter(); counter.increment()');
  const { port1, port2 } = new MessageChannel();
  const first = startWorker({ name: 'worker A', counter, sibling: port1 });
  const second = startWorker({ name: 'worker B', counter });
  const threadA = `thread-${first.threadId}`;
  console.log(
    `worker A runs in ${threadA}, worker B in thread-${second.threadId}: the server ` +
      'counts references per "holder", and names the holder of each connection after its thread.',
  );
  second.postMessage({ port: port2 }, [port2]);
  await Promise.all([messages(first, 1), messages(second, 2)]);
  console.log(
    'In the trace below, a holder "handoff:main>2" is a reference in flight: the main thread took\n' +
      'it for the copy of the proxy it sent, before the message left ("main>2" names the spare\n' +
      'connection the main thread had ready and sent along). The receiving thread then "adopts"\n' +
      'it into its own connection. The large gaps in the times are the workers starting up.',
  );
  await dump(manager, 'both workers hold the counter (A passed its copy on to B as well)');
  await first.terminate();
  await new Promise((resolve) => setTimeout(resolve, 20));
  await dump(
    manager,
    `worker A terminated: the server dropped every reference of ${threadA} ` +
      '(a closed connection releases all it held: rule R4 of docs/design.md)',
  );
  await second.terminate();
  await new Promise((resolve) => setTimeout(resolve, 20));
  console.log(`counter.value() = ${await counter.value()}`);
  release(counter);
  await new Promise((resolve) => setImmediate(resolve));
  await dump(manager, 'worker B terminated and the main thread released its proxy');
}

async function main(): Promise<void> {
  kernelWalkthrough();
  await using manager = await DemoManager.start({ module: require.resolve('./managers') });
  await magWalkthrough(manager);
  await cloneWalkthrough(manager);
  await threadsWalkthrough(manager);
  await poolsWalkthrough(heading);
  await processesWalkthrough(heading);
  heading('Done: the table is empty');
  console.log(`number_objects = ${await manager.numberOfObjects()}`);
}

(process.argv.includes('--inspect') ? inspectDemo(process.argv) : main()).catch(
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
