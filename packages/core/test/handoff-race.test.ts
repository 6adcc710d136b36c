/**
 * A spare handoff connection is registered ahead of time; the handoff that gives it its
 * references travels on the sender's connection, and the receiver's first messages on the
 * spare port may reach the server before it. The server must hold them until the references
 * are there (a CI run once saw the receiver's hello win the race and the reference vanish).
 */
import { randomBytes } from 'node:crypto';
import { MessageChannel } from 'node:worker_threads';
import { registrySymbol } from '../src/manager';
import { Server } from '../src/server/index';
import { KitchenManager } from './fixtures/kitchen';

const tick = () => new Promise((resolve) => setImmediate(resolve));
const newKey = () => randomBytes(16).toString('base64url');

test('messages on a spare sent before its handoff is read wait for it', async () => {
  const server = new Server({
    managerId: 'race-manager',
    name: 'race',
    registry: (KitchenManager as unknown as Record<symbol, never>)[registrySymbol],
    traceBufferSize: 100,
  });
  const sender = new MessageChannel();
  const spare = new MessageChannel();
  const replies: { rid: number; v?: unknown; p?: { id: number } }[] = [];
  const onReply = (message: unknown) =>
    replies.push(...(Array.isArray(message) ? message : [message]));
  sender.port1.on('message', onReply);
  spare.port1.on('message', onReply);
  try {
    const spareKey = newKey();
    server.accept(sender.port2, newKey());
    sender.port1.postMessage({ t: 'hello', label: 'main' });
    sender.port1.postMessage({ t: 'create', rid: 1, typeid: 'Toolbox', args: [] });
    // The spare is registered (no references yet)…
    sender.port1.postMessage({ t: 'spare', key: spareKey, port: spare.port2 }, [spare.port2]);
    for (let i = 0; i < 20 && replies.length === 0; i++) await tick();
    const id = replies.find((reply) => reply.rid === 1)!.p!.id;
    await tick();
    // …its other end speaks first: hello and a call…
    spare.port1.postMessage({ t: 'hello', label: 'thread-9' });
    spare.port1.postMessage({ t: 'call', rid: 2, id, method: 'echo', args: ['early'] });
    for (let i = 0; i < 5; i++) await tick();
    expect(replies.some((reply) => reply.rid === 2)).toBe(false);
    expect(server.table.holders(id)).toEqual({ main: 1 });
    // …then the handoff arrives, and everything happens in order.
    sender.port1.postMessage({ t: 'handoff', key: spareKey, ids: [id] });
    for (let i = 0; i < 20 && !replies.some((reply) => reply.rid === 2); i++) await tick();
    expect(replies.find((reply) => reply.rid === 2)?.v).toBe('early');
    expect(server.table.holders(id)).toEqual({ main: 1, 'thread-9': 1 });
    expect(server.table.trace().filter((event) => event.op === 'reject')).toEqual([]);
    sender.port1.postMessage({ t: 'release', ids: [id] });
    spare.port1.postMessage({ t: 'release', ids: [id] });
    for (let i = 0; i < 20 && server.table.numberOfObjects() > 0; i++) await tick();
    expect(server.table.numberOfObjects()).toBe(0);
  } finally {
    sender.port1.close();
    spare.port1.close();
    await tick();
    await server.shutdown();
  }
});
