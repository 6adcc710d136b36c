/**
 * What a thread holding a raw port can do to other holders, and what it cannot (issue:
 * hardened protocol). Each test sends raw protocol messages to a real server.
 */
import { MessageChannel } from 'node:worker_threads';
import { SERVER_HOLDER } from '@managers/refcount';
import { newKey, RawServer, settle } from './fixtures/raw-server';

describe('identities are the server’s', () => {
  test('a client cannot take the name of the server, a handoff or another thread', async () => {
    await using raw = new RawServer();
    const box = await raw.owner.create('Holder');
    const inner = await raw.owner.create('Toolbox');
    // The box holds a proxy to `inner`: the server holder owns that reference.
    expect(
      (
        await raw.owner.call(box, 'set', [
          ['k', { '@managers/proxy': 1, token: { manager: 'raw-manager', id: inner } }],
        ])
      ).e,
    ).toBeUndefined();
    const impostors = [
      await raw.connect(raw.owner, SERVER_HOLDER),
      await raw.connect(raw.owner, 'main'),
      await raw.connect(raw.owner, `handoff:main>2`),
      await raw.connect(raw.owner, 'main#2'),
    ];
    const names = raw.table.holderNames();
    expect(names).toContain('main');
    for (const impostor of impostors) {
      // Releasing as "them" touches nothing (they hold nothing).
      impostor.send({ t: 'release', ids: [box, inner] });
    }
    await settle();
    expect(raw.table.holders(inner)).toEqual({ main: 1, [SERVER_HOLDER]: 1 });
    for (const impostor of impostors) impostor.close();
    await settle();
    expect(raw.table.holders(inner)).toEqual({ main: 1, [SERVER_HOLDER]: 1 });
    expect(raw.table.holders(box)).toEqual({ main: 1 });
    raw.owner.send({ t: 'release', ids: [box, inner] });
    await settle();
    expect(raw.table.numberOfObjects()).toBe(0);
  });

  test('one hello per connection: a second one is refused and renames nothing', async () => {
    await using raw = new RawServer();
    const client = await raw.connect(raw.owner, 'worker');
    const id = await client.create('Toolbox');
    client.send({ t: 'hello', label: 'someone-else' });
    await settle();
    expect(raw.table.holders(id)).toEqual({ worker: 1 });
    expect(raw.table.trace().some((event) => /second hello/.test(event.cause))).toBe(true);
    client.close();
    await settle();
    expect(raw.table.numberOfObjects()).toBe(0);
  });

  test('connection keys are not shown in holders, debug views or the trace', async () => {
    await using raw = new RawServer();
    const id = await raw.owner.create('Toolbox');
    const channel = new MessageChannel();
    const key = newKey();
    raw.owner.send({ t: 'spare', key, port: channel.port2 }, [channel.port2]);
    raw.owner.send({ t: 'handoff', key, ids: [id] });
    await settle();
    const debug = (await raw.owner.call(0, '#inspect')).v;
    expect(JSON.stringify(debug)).not.toContain(key);
    expect(JSON.stringify(debug)).not.toContain(raw.owner.key);
    channel.port1.close();
    raw.owner.send({ t: 'release', ids: [id] });
    await settle();
    expect(raw.table.numberOfObjects()).toBe(0);
  });
});

describe('handoff keys cannot be squatted or stolen', () => {
  test('registering a spare under a key in use is refused', async () => {
    await using raw = new RawServer();
    const attacker = await raw.connect(raw.owner, 'attacker');
    const channel = new MessageChannel();
    attacker.send({ t: 'spare', key: raw.owner.key, port: channel.port2 }, [channel.port2]);
    await settle();
    expect(attacker.refusals).toEqual([expect.stringMatching(/already in use/)]);
    channel.port1.close();
  });

  test('funding another connection’s spare is refused', async () => {
    await using raw = new RawServer();
    const id = await raw.owner.create('Toolbox');
    const attacker = await raw.connect(raw.owner, 'attacker');
    const channel = new MessageChannel();
    const key = newKey();
    raw.owner.send({ t: 'spare', key, port: channel.port2 }, [channel.port2]);
    await settle();
    attacker.send({ t: 'handoff', key, ids: [] });
    await settle();
    expect(attacker.refusals).toEqual([expect.stringMatching(/no unused spare/)]);
    // The owner's own handoff on that spare still works.
    raw.owner.send({ t: 'handoff', key, ids: [id] });
    await settle();
    expect(raw.owner.refusals).toEqual([]);
    expect(Object.keys(raw.table.holders(id))).toHaveLength(2);
    channel.port1.close();
    raw.owner.send({ t: 'release', ids: [id] });
    await settle();
    expect(raw.table.numberOfObjects()).toBe(0);
  });

  test('a claim names a handoff only by its secret key, and only once', async () => {
    await using raw = new RawServer();
    const id = await raw.owner.create('Toolbox');
    const receiver = await raw.connect(raw.owner, 'receiver');
    const thief = await raw.connect(raw.owner, 'thief');
    const channel = new MessageChannel();
    const key = newKey();
    raw.owner.send({ t: 'spare', key, port: channel.port2 }, [channel.port2]);
    raw.owner.send({ t: 'handoff', key, ids: [id] });
    receiver.send({ t: 'claim', key });
    await settle();
    expect(raw.table.holders(id)).toEqual({ main: 1, receiver: 1 });
    // The owner's key names a live connection, not a handoff: refused at once. A key already
    // claimed is unknown now: the thief's own connection waits for it, then is refused.
    thief.send({ t: 'claim', key: raw.owner.key });
    thief.send({ t: 'claim', key });
    await settle();
    expect(thief.refusals).toEqual([expect.stringMatching(/no unclaimed handoff/)]);
    expect(raw.table.holders(id)).toEqual({ main: 1, receiver: 1 });
    receiver.send({ t: 'release', ids: [id] });
    raw.owner.send({ t: 'release', ids: [id] });
    await settle();
    expect(raw.table.numberOfObjects()).toBe(0);
  });
});

describe('least authority: only what a connection holds', () => {
  test('calls, fallbacks and releases of ids the caller does not hold are refused', async () => {
    await using raw = new RawServer();
    const secret = await raw.owner.create('Toolbox');
    const attacker = await raw.connect(raw.owner, 'attacker');
    for (const method of ['echo', '#getvalue', '#repr']) {
      const reply = await attacker.call(secret, method, ['x']);
      expect(reply.e?.code).toBe('ERR_UNKNOWN_ID');
      expect(reply.e?.message).toMatch(/holds no reference/);
    }
    attacker.send({ t: 'release', ids: [secret, secret] });
    await settle();
    expect(raw.table.holders(secret)).toEqual({ main: 1 });
    raw.owner.send({ t: 'release', ids: [secret] });
    await settle();
    expect(raw.table.numberOfObjects()).toBe(0);
  });

  test('a forged proxy argument naming an id the caller does not hold is refused', async () => {
    await using raw = new RawServer();
    const secret = await raw.owner.create('Toolbox');
    const attacker = await raw.connect(raw.owner, 'attacker');
    const box = await attacker.create('Holder');
    const forged = { '@managers/proxy': 1, token: { manager: 'raw-manager', id: secret } };
    const reply = await attacker.call(box, 'set', ['stolen', forged]);
    expect(reply.e?.code).toBe('ERR_UNKNOWN_ID');
    expect(raw.table.holders(secret)).toEqual({ main: 1 });
    attacker.close();
    raw.owner.send({ t: 'release', ids: [secret] });
    await settle();
    expect(raw.table.numberOfObjects()).toBe(0);
  });

  test('handing off ids the sender does not hold is refused', async () => {
    await using raw = new RawServer();
    const secret = await raw.owner.create('Toolbox');
    const attacker = await raw.connect(raw.owner, 'attacker');
    const channel = new MessageChannel();
    const key = newKey();
    attacker.send({ t: 'spare', key, port: channel.port2 }, [channel.port2]);
    attacker.send({ t: 'handoff', key, ids: [secret] });
    await settle();
    expect(attacker.refusals).toEqual([expect.stringMatching(/holds no reference/)]);
    expect(raw.table.holders(secret)).toEqual({ main: 1 });
    channel.port1.close();
    raw.owner.send({ t: 'release', ids: [secret] });
    await settle();
    expect(raw.table.numberOfObjects()).toBe(0);
  });

  test('debug views of other connections show only what they hold; the owner sees all', async () => {
    await using raw = new RawServer();
    const secret = await raw.owner.create('Toolbox');
    const other = await raw.connect(raw.owner, 'other');
    const mine = await other.create('Toolbox');
    const seen = (await other.call(0, '#debug')).v as { id: number; holders: object }[];
    expect(seen.map((entry) => entry.id)).toEqual([mine]);
    expect(seen[0]!.holders).toEqual({ other: 1 });
    const inspected = (await other.call(0, '#inspect')).v as { trace: unknown[] };
    expect(inspected.trace).toEqual([]);
    const all = (await raw.owner.call(0, '#debug')).v as { id: number }[];
    expect(all.map((entry) => entry.id).sort()).toEqual([secret, mine].sort());
    other.close();
    raw.owner.send({ t: 'release', ids: [secret] });
    await settle();
    expect(raw.table.numberOfObjects()).toBe(0);
  });
});

describe('bounded memory', () => {
  test('a spare flooded before its handoff is closed with a refusal, not buffered forever', async () => {
    await using raw = new RawServer();
    const channel = new MessageChannel();
    const key = newKey();
    raw.owner.send({ t: 'spare', key, port: channel.port2 }, [channel.port2]);
    await settle();
    let closed = false;
    channel.port1.on('close', () => (closed = true));
    const refusals: unknown[] = [];
    channel.port1.on('message', (message) => refusals.push(message));
    for (let i = 0; i < 5000; i++)
      channel.port1.postMessage({ t: 'call', rid: i, id: 1, method: 'x', args: [] });
    for (let i = 0; i < 50 && !closed; i++) await settle(1);
    expect(closed).toBe(true);
    expect(refusals).toEqual([expect.objectContaining({ t: 'refused' })]);
  });

  test('a server-side proxy is built from the server’s token, not the client’s', async () => {
    await using raw = new RawServer();
    const box = await raw.owner.create('Holder');
    const inner = await raw.owner.create('Toolbox');
    const forged = {
      '@managers/proxy': 1,
      token: { manager: 'raw-manager', id: inner, typeid: 'Forged', exposed: ['anything', 'else'] },
    };
    const reply = await raw.owner.call(box, 'exposedOf', [forged]);
    expect(reply.v).not.toContain('anything');
    expect(reply.v).toContain('echo');
    raw.owner.send({ t: 'release', ids: [box, inner] });
    await settle();
    expect(raw.table.numberOfObjects()).toBe(0);
  });

  test('a connection that closes frees its spares', async () => {
    await using raw = new RawServer();
    const client = await raw.connect(raw.owner, 'client');
    const channels = Array.from({ length: 10 }, () => new MessageChannel());
    for (const channel of channels)
      client.send({ t: 'spare', key: newKey(), port: channel.port2 }, [channel.port2]);
    await settle();
    const closed = channels.map(
      (channel) => new Promise<void>((resolve) => channel.port1.once('close', () => resolve())),
    );
    client.close();
    await Promise.all(closed);
    expect(raw.table.numberOfObjects()).toBe(0);
  });
});

describe('smaller items', () => {
  test('exposed methods named like Object.prototype’s work (toString, valueOf, isPrototypeOf)', async () => {
    await using raw = new RawServer();
    const id = await raw.owner.create('ObjectNames');
    expect((await raw.owner.call(id, 'toString')).v).toBe('own toString');
    expect((await raw.owner.call(id, 'valueOf')).v).toBe(41);
    expect((await raw.owner.call(id, 'isPrototypeOf')).v).toBe(true);
    raw.owner.send({ t: 'release', ids: [id] });
    await settle();
    expect(raw.table.numberOfObjects()).toBe(0);
  });

  test('an own "__proto__" key beside a proxy stays a key, not the prototype', async () => {
    await using raw = new RawServer();
    const box = await raw.owner.create('Holder');
    const inner = await raw.owner.create('Toolbox');
    const argument = JSON.parse(`{"__proto__": {"polluted": true}, "p": null}`) as Record<
      string,
      unknown
    >;
    argument.p = { '@managers/proxy': 1, token: { manager: 'raw-manager', id: inner } };
    const reply = await raw.owner.call(box, 'shapeOf', [argument]);
    expect(reply.v).toEqual({ keys: ['__proto__', 'p'], plainPrototype: true });
    raw.owner.send({ t: 'release', ids: [box, inner] });
    await settle();
    expect(raw.table.numberOfObjects()).toBe(0);
  });

  test('a forged proxy envelope without a token is ERR_BAD_MESSAGE', async () => {
    await using raw = new RawServer();
    const box = await raw.owner.create('Holder');
    const reply = await raw.owner.call(box, 'set', ['k', { '@managers/proxy': 1 }]);
    expect(reply.e?.code).toBe('ERR_BAD_MESSAGE');
    expect(reply.e?.message).toMatch(/no valid token/);
    raw.owner.send({ t: 'release', ids: [box] });
    await settle();
    expect(raw.table.numberOfObjects()).toBe(0);
  });
});

describe('nothing lost: values a call consumes count as delivered only when the caller has them', () => {
  test('the caller’s connection closes before reading the reply: the item comes back', async () => {
    await using raw = new RawServer();
    const stack = await raw.owner.create('Stack');
    const consumer = await raw.connect(raw.owner, 'consumer', [stack]);
    await raw.owner.call(stack, 'push', ['a', 'b', 'c']);
    consumer.send({ t: 'call', rid: 1, id: stack, method: 'pop', args: [] });
    consumer.close(); // dies with the reply in flight
    await settle();
    expect((await raw.owner.call(stack, 'contents')).v).toEqual(['a', 'b', 'c']);
    raw.owner.send({ t: 'release', ids: [stack] });
    await settle();
    expect(raw.table.numberOfObjects()).toBe(0);
  });

  test('a confirmed reply stays delivered; a refused one (the call was abandoned) comes back', async () => {
    await using raw = new RawServer();
    const stack = await raw.owner.create('Stack');
    const consumer = await raw.connect(raw.owner, 'consumer', [stack]);
    await raw.owner.call(stack, 'push', ['a', 'b', 'c']);
    const first = await consumer.call(stack, 'pop');
    expect(first).toMatchObject({ v: 'c', a: 1 });
    const second = await consumer.call(stack, 'pop');
    expect(second).toMatchObject({ v: 'b', a: 1 });
    consumer.send({ t: 'ack', ok: [first.rid], lost: [second.rid] });
    await settle();
    expect((await raw.owner.call(stack, 'contents')).v).toEqual(['a', 'b']);
    consumer.close();
    await settle();
    expect((await raw.owner.call(stack, 'contents')).v).toEqual(['a', 'b']);
    raw.owner.send({ t: 'release', ids: [stack] });
    await settle();
    expect(raw.table.numberOfObjects()).toBe(0);
  });

  test('several unconfirmed items return in their order; a failing method gives its item back', async () => {
    await using raw = new RawServer();
    const stack = await raw.owner.create('Stack');
    const consumer = await raw.connect(raw.owner, 'consumer', [stack]);
    await raw.owner.call(stack, 'push', ['a', 'b', 'c', 'd']);
    const failed = await consumer.call(stack, 'popAndFail');
    expect(failed.e?.message).toBe('failed after taking an item');
    await consumer.call(stack, 'pop');
    await consumer.call(stack, 'pop');
    expect((await raw.owner.call(stack, 'contents')).v).toEqual(['a', 'b']);
    consumer.close();
    await settle();
    expect((await raw.owner.call(stack, 'contents')).v).toEqual(['a', 'b', 'c', 'd']);
    raw.owner.send({ t: 'release', ids: [stack] });
    await settle();
    expect(raw.table.numberOfObjects()).toBe(0);
  });

  test('an async method whose caller died while it ran gives its item back', async () => {
    await using raw = new RawServer();
    const stack = await raw.owner.create('Stack');
    const consumer = await raw.connect(raw.owner, 'consumer', [stack]);
    await raw.owner.call(stack, 'push', ['a']);
    consumer.send({ t: 'call', rid: 1, id: stack, method: 'popLater', args: [30] });
    await settle();
    consumer.close();
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect((await raw.owner.call(stack, 'contents')).v).toEqual(['a']);
    raw.owner.send({ t: 'release', ids: [stack] });
    await settle();
    expect(raw.table.numberOfObjects()).toBe(0);
  });

  test('currentCall().caller is the connection, whatever label it chose', async () => {
    await using raw = new RawServer();
    const stack = await raw.owner.create('Stack');
    const twin = await raw.connect(raw.owner, 'main', [stack]);
    const mine = (await raw.owner.call(stack, 'whoAmI')).v as { id: string; label: string };
    const theirs = (await twin.call(stack, 'whoAmI')).v as { id: string; label: string };
    expect(mine.label).toBe('main');
    expect(theirs.label).toBe('main');
    expect(theirs.id).not.toBe(mine.id);
    twin.close();
    raw.owner.send({ t: 'release', ids: [stack] });
    await settle();
    expect(raw.table.numberOfObjects()).toBe(0);
  });
});

test('a spare its receiver closed before the handoff arrived: the sender is not told off', async () => {
  await using raw = new RawServer();
  const id = await raw.owner.create('Toolbox');
  const channel = new MessageChannel();
  const key = newKey();
  raw.owner.send({ t: 'spare', key, port: channel.port2 }, [channel.port2]);
  await settle();
  channel.port1.close(); // the receiver died before the sender's handoff was read
  await settle();
  raw.owner.send({ t: 'handoff', key, ids: [id] });
  await settle();
  expect(raw.owner.refusals).toEqual([]);
  expect(raw.table.holders(id)).toEqual({ main: 1 });
  raw.owner.send({ t: 'release', ids: [id] });
  await settle();
  expect(raw.table.numberOfObjects()).toBe(0);
});
