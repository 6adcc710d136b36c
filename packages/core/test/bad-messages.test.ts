/** The server validates every inbound message (zod): bad ones get an ERR_BAD_MESSAGE reply or a 'reject' trace event. */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { registrySymbol } from '../src/manager';
import { Server } from '../src/server';
import { KitchenManager } from './fixtures/kitchen';

interface WireReply {
  rid: number;
  v?: unknown;
  p?: { id: number; typeid: string };
  e?: { name: string; code?: string; message: string };
}

/** A Server served over a MessageChannel in this thread, and a client end that collects replies. */
function serve() {
  const server = new Server({
    managerId: 'test-manager',
    name: 'bad-messages',
    registry: (KitchenManager as unknown as Record<symbol, never>)[registrySymbol],
    traceBufferSize: 1000,
  });
  const { port1: client, port2 } = new MessageChannel();
  server.accept(port2, 'test>1');
  const replies = new Map<number, WireReply>();
  const waiters = new Map<number, (reply: WireReply) => void>();
  client.on('message', (message: WireReply | WireReply[]) => {
    for (const reply of Array.isArray(message) ? message : [message]) {
      replies.set(reply.rid, reply);
      waiters.get(reply.rid)?.(reply);
    }
  });
  const reply = (rid: number) =>
    new Promise<WireReply>((resolve) => {
      const got = replies.get(rid);
      if (got) resolve(got);
      else waiters.set(rid, resolve);
    });
  return { server, client, reply };
}

async function closeAll(server: Server, client: MessagePort): Promise<void> {
  client.close();
  await new Promise((resolve) => setImmediate(resolve));
  await server.shutdown();
}

test('malformed messages get an ERR_BAD_MESSAGE reply (with a rid) or a reject event; valid calls keep working', async () => {
  const { server, client, reply } = serve();
  try {
    client.postMessage({ t: 'hello', label: 'tester' });
    client.postMessage({ t: 'create', rid: 1, typeid: 'Toolbox', args: [] });
    const created = await reply(1);
    expect(created.p).toMatchObject({ typeid: 'Toolbox' });
    const id = created.p!.id;

    const bad: [number, unknown, RegExp][] = [
      [2, { t: 'call', rid: 2, id: 'one', method: 'echo', args: [] }, /id/],
      [3, { t: 'call', rid: 3, id, method: 'echo', args: 'not an array' }, /args/],
      [4, { t: 'call', rid: 4, id, method: '', args: [] }, /method/],
      [5, { t: 'teleport', rid: 5 }, /t/],
      [6, { t: 'create', rid: 6, typeid: 7, args: [] }, /typeid/],
      [7, { t: 'batch', rid: 7, m: 'not an array' }, /m/],
    ];
    for (const [, message] of bad) client.postMessage(message);
    for (const [rid, , field] of bad) {
      const answer = await reply(rid);
      expect(answer.e).toMatchObject({ name: 'ManagerError', code: 'ERR_BAD_MESSAGE' });
      expect(answer.e!.message).toContain('bad message from tester');
      expect(answer.e!.message).toMatch(field);
    }

    const rejectsBefore = server.table.trace().filter((event) => event.op === 'reject').length;
    // No usable rid: nothing to reply to, a trace event instead.
    for (const message of [
      { t: 'call', id, method: 'echo', args: [] },
      { t: 'call', rid: -1, id, method: 'echo', args: [] },
      { t: 'call', rid: 1.5, id, method: 'echo', args: [] },
      null,
      42,
      'call',
      [{ t: 'call', rid: 99, id, method: 'echo', args: [1] }],
    ]) {
      client.postMessage(message);
    }
    client.postMessage({ t: 'call', rid: 8, id, method: 'echo', args: ['after'] });
    expect((await reply(8)).v).toBe('after');
    const rejects = server.table.trace().filter((event) => event.op === 'reject');
    expect(rejects.length - rejectsBefore).toBe(7);
    expect(rejects.at(-1)!.cause).toContain('bad message from tester');
    expect(rejects.at(-1)!.holder).toBe('tester');

    // A batch with one bad item: the others are served, the bad one gets its error.
    client.postMessage({
      t: 'batch',
      m: [
        { t: 'call', rid: 10, id, method: 'inc', args: [] },
        { t: 'call', rid: 11, id, method: 42, args: [] },
        { t: 'call', rid: 12, id, method: 'inc', args: [] },
      ],
    });
    expect((await reply(10)).v).toBe(1);
    expect((await reply(11)).e).toMatchObject({ code: 'ERR_BAD_MESSAGE' });
    expect((await reply(12)).v).toBe(2);

    // Releases of unknown ids are refused without touching the table.
    client.postMessage({ t: 'release', ids: [12345] });
    client.postMessage({ t: 'release', ids: ['x'] });
    client.postMessage({ t: 'call', rid: 13, id, method: 'count', args: [] });
    expect((await reply(13)).v).toBe(2);
    expect(server.table.numberOfObjects()).toBe(1);

    client.postMessage({ t: 'release', ids: [id] });
    client.postMessage({ t: 'call', rid: 14, id: 0, method: '#count', args: [] });
    expect((await reply(14)).v).toBe(0);
    expect(server.table.numberOfObjects()).toBe(0);
  } finally {
    await closeAll(server, client);
  }
});

test('a closed client port releases everything its connection held (R4)', async () => {
  const { server, client, reply } = serve();
  try {
    client.postMessage({ t: 'hello', label: 'leaver' });
    client.postMessage({ t: 'create', rid: 1, typeid: 'Toolbox', args: [] });
    client.postMessage({ t: 'create', rid: 2, typeid: 'Box', args: [{ a: 1 }] });
    await reply(1);
    await reply(2);
    expect(server.table.numberOfObjects()).toBe(2);
    client.close();
    for (let i = 0; i < 50 && server.table.numberOfObjects() !== 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(server.table.numberOfObjects()).toBe(0);
    expect(server.table.trace().some((event) => event.op === 'release-holder')).toBe(true);
  } finally {
    await closeAll(server, client);
  }
});
