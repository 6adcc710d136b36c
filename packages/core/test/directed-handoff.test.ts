import { MessageChannel } from 'node:worker_threads';
import { installRefcountMatchers } from '@managers/refcount/jest';
import { discard, encode, postMessage, release } from '@managers/core';
import { Agent } from './fixtures/agent';
import { MagManager } from './fixtures/magnifier';
import { newKey, RawClient, RawServer, registerLendLog, settle } from './fixtures/raw-server';
import { MAGNIFIER_MODULE, pollUntil } from './helpers';

installRefcountMatchers();

/**
 * `sender` hands `ids` to `receiver` the ordinary way (a spare port), tagged `tag`, and the
 * receiver claims them: returns the serial the server names the receiver by.
 */
async function learnSerial(
  sender: RawClient,
  receiver: RawClient,
  tag: number,
  ids: number[] = [],
): Promise<number> {
  const channel = new MessageChannel();
  const key = newKey();
  sender.send({ t: 'spare', key, port: channel.port2 }, [channel.port2]);
  sender.send({ t: 'handoff', key, ids, tag });
  receiver.send({ t: 'claim', key });
  await settle();
  channel.port1.close();
  const notice = sender.notices.pop() as { t: string; tag: number; serial: number };
  expect(notice).toEqual({ t: 'receiver', tag, serial: expect.any(Number) });
  return notice.serial;
}

/** A Toolbox held by the owner, and a `receiver` connection whose serial the owner learned (tag 1). */
async function ownerAndReceiver(raw: RawServer) {
  const id = await raw.owner.create('Toolbox');
  const receiver = await raw.connect(raw.owner, 'receiver');
  const to = await learnSerial(raw.owner, receiver, 1);
  return { id, receiver, to };
}

describe('directed handoffs on the server (raw messages)', () => {
  test('a tagged handoff tells its sender who took it up, by a claim or by a hello; an untagged one tells nothing', async () => {
    await using raw = new RawServer();
    const id = await raw.owner.create('Toolbox');
    const receiver = await raw.connect(raw.owner, 'receiver');
    const serial = await learnSerial(raw.owner, receiver, 7, [id]);
    expect(raw.table.holders(id)).toEqual({ main: 1, receiver: 1 });

    // A spare whose receiver makes it its connection (`hello`) names that new connection.
    const channel = new MessageChannel();
    const key = newKey();
    raw.owner.send({ t: 'spare', key, port: channel.port2 }, [channel.port2]);
    raw.owner.send({ t: 'handoff', key, ids: [id], tag: 8 });
    channel.port1.postMessage({ t: 'hello', label: 'newcomer' });
    await settle();
    const notice = raw.owner.notices.pop() as { tag: number; serial: number };
    expect(notice).toMatchObject({ t: 'receiver', tag: 8 });
    expect(notice.serial).not.toBe(serial);
    expect(raw.table.holders(id)).toEqual({ main: 1, receiver: 1, newcomer: 1 });

    // Untagged: no notice.
    const other = await raw.connect(raw.owner, 'other', [id]);
    expect(raw.owner.notices).toEqual([]);
    channel.port1.close();
    other.close();
    receiver.send({ t: 'release', ids: [id] });
    raw.owner.send({ t: 'release', ids: [id] });
    await settle();
    expect(raw.table.numberOfObjects()).toBe(0);
  });

  test('a directed handoff waits under a handoff holder for its receiver’s claim, which may come first', async () => {
    await using raw = new RawServer();
    const { id, receiver, to } = await ownerAndReceiver(raw);

    const key = newKey();
    raw.owner.send({ t: 'direct', key, ids: [id], to, tag: 1 });
    await settle();
    expect(Object.keys(raw.table.holders(id)).sort()).toEqual([
      expect.stringMatching(/^handoff:main>/),
      'main',
    ]);
    receiver.send({ t: 'claim', key });
    expect((await receiver.call(id, 'echo', [1])).v).toBe(1);
    expect(raw.table.holders(id)).toEqual({ main: 1, receiver: 1 });
    // Its expected receiver took it: nothing to tell the sender.
    expect(raw.owner.notices).toEqual([]);

    // The claim first (the two travel on different ports): the receiver waits for the handoff.
    const early = newKey();
    receiver.send({ t: 'claim', key: early });
    const call = receiver.call(id, 'echo', [2]);
    await settle();
    expect(raw.table.holders(id)).toEqual({ main: 1, receiver: 1 });
    raw.owner.send({ t: 'direct', key: early, ids: [id], to, tag: 1 });
    expect((await call).v).toBe(2);
    expect(raw.table.holders(id)).toEqual({ main: 1, receiver: 2 });
    expect(receiver.refusals).toEqual([]);
    receiver.send({ t: 'release', ids: [id, id] });
    raw.owner.send({ t: 'release', ids: [id] });
    await settle();
    expect(raw.table.numberOfObjects()).toBe(0);
  });

  test('the receiver closing before it claims drops the references in flight (R3), even after the sender released its own', async () => {
    await using raw = new RawServer();
    const { id, receiver, to } = await ownerAndReceiver(raw);
    raw.owner.send({ t: 'direct', key: newKey(), ids: [id], to, tag: 1 });
    raw.owner.send({ t: 'release', ids: [id] });
    await settle();
    // The handoff keeps the object alive for the receiver.
    expect(raw.table.numberOfObjects()).toBe(1);
    receiver.close();
    await settle();
    expect(raw.table.numberOfObjects()).toBe(0);
  });

  test('another connection may claim it with the key: the references go there, and the sender hears who has it', async () => {
    await using raw = new RawServer();
    const id = await raw.owner.create('Toolbox');
    const receiver = await raw.connect(raw.owner, 'receiver');
    const elsewhere = await raw.connect(raw.owner, 'elsewhere');
    const to = await learnSerial(raw.owner, receiver, 3);
    const elsewhereSerial = await learnSerial(raw.owner, elsewhere, 4);
    const key = newKey();
    raw.owner.send({ t: 'direct', key, ids: [id], to, tag: 3 });
    elsewhere.send({ t: 'claim', key });
    await settle();
    expect(raw.table.holders(id)).toEqual({ main: 1, elsewhere: 1 });
    expect(raw.owner.notices).toEqual([{ t: 'receiver', tag: 3, serial: elsewhereSerial }]);
    // The first receiver closing now takes nothing with it.
    receiver.close();
    await settle();
    expect(raw.table.holders(id)).toEqual({ main: 1, elsewhere: 1 });
    elsewhere.send({ t: 'release', ids: [id] });
    raw.owner.send({ t: 'release', ids: [id] });
    await settle();
    expect(raw.table.numberOfObjects()).toBe(0);
  });

  test('to a connection that is not open: kept for a new connection to claim, and the sender forgets that receiver', async () => {
    await using raw = new RawServer();
    const id = await raw.owner.create('Toolbox');
    const gone = await raw.connect(raw.owner, 'gone');
    const to = await learnSerial(raw.owner, gone, 5);
    gone.close();
    await settle();
    const key = newKey();
    raw.owner.send({ t: 'direct', key, ids: [id], to, tag: 5 });
    raw.owner.send({ t: 'release', ids: [id] });
    await settle();
    expect(raw.owner.notices).toEqual([{ t: 'receiver', tag: 5, serial: 0 }]);
    expect(raw.table.numberOfObjects()).toBe(1);
    const again = await raw.connect(raw.owner, 'again');
    again.send({ t: 'claim', key });
    expect((await again.call(id, 'echo', [3])).v).toBe(3);
    again.send({ t: 'release', ids: [id] });
    await settle();
    expect(raw.table.numberOfObjects()).toBe(0);
  });

  test('recall: the sender takes back a directed handoff nobody claimed; a late one, or another connection’s, does nothing', async () => {
    await using raw = new RawServer();
    const { id, receiver, to } = await ownerAndReceiver(raw);
    const key = newKey();
    raw.owner.send({ t: 'direct', key, ids: [id], to, tag: 1 });
    receiver.send({ t: 'recall', key }); // not its handoff
    await settle();
    expect(Object.keys(raw.table.holders(id))).toHaveLength(2);
    raw.owner.send({ t: 'recall', key });
    await settle();
    expect(raw.table.holders(id)).toEqual({ main: 1 });

    const claimed = newKey();
    raw.owner.send({ t: 'direct', key: claimed, ids: [id], to, tag: 1 });
    receiver.send({ t: 'claim', key: claimed });
    await settle();
    raw.owner.send({ t: 'recall', key: claimed });
    await settle();
    expect(raw.table.holders(id)).toEqual({ main: 1, receiver: 1 });
    expect(raw.owner.refusals).toEqual([]);
    receiver.send({ t: 'release', ids: [id] });
    raw.owner.send({ t: 'release', ids: [id] });
    await settle();
    expect(raw.table.numberOfObjects()).toBe(0);
  });

  test('bounded per receiver: a slow one makes its senders forget it at 4,096 unclaimed, and past 16,384 they wait on the export lease; other receivers are not affected', async () => {
    await using raw = new RawServer();
    const id = await raw.owner.create('Toolbox');
    const slow = await raw.connect(raw.owner, 'slow');
    const other = await raw.connect(raw.owner, 'other');
    const to = await learnSerial(raw.owner, slow, 1);
    const otherSerial = await learnSerial(raw.owner, other, 2);
    const keys: string[] = [];
    for (let index = 0; index <= 16_384; index++) {
      const key = newKey();
      keys.push(key);
      raw.owner.send({ t: 'direct', key, ids: [id], to, tag: 1 });
    }
    await settle(20);
    expect(raw.owner.refusals).toEqual([]);
    // From the 4,096th on, each one tells the sender to forget that receiver (ports again).
    expect(raw.owner.notices).toHaveLength(16_384 - 4_096 + 2);
    expect(new Set(raw.owner.notices.map((notice) => JSON.stringify(notice)))).toEqual(
      new Set([JSON.stringify({ t: 'receiver', tag: 1, serial: 0 })]),
    );
    raw.owner.notices.length = 0;
    // Another receiver of the same sender is not affected.
    const key = newKey();
    raw.owner.send({ t: 'direct', key, ids: [id], to: otherSerial, tag: 2 });
    other.send({ t: 'claim', key });
    expect((await other.call(id, 'echo', [1])).v).toBe(1);
    expect(raw.owner.notices).toEqual([]);
    // Every one of them can be claimed, the one past the bound too (it waits on the lease).
    slow.send({ t: 'claim', key: keys[16_384] });
    slow.send({ t: 'claim', key: keys[0] });
    expect((await slow.call(id, 'echo', [3])).v).toBe(3);
    expect(slow.refusals).toEqual([]);
    raw.owner.send({ t: 'release', ids: [id] });
    other.send({ t: 'release', ids: [id] });
    slow.send({ t: 'release', ids: [id, id] });
    // The slow receiver goes: everything directed to it is dropped, and a late claim elsewhere
    // is refused at once.
    slow.close();
    await settle(20);
    expect(raw.table.numberOfObjects()).toBe(0);
    other.send({ t: 'claim', key: keys[1] });
    await settle();
    expect(other.refusals).toEqual([expect.stringMatching(/taken up already, dropped/)]);
  });

  test('a sender cannot make another connection owe releases: only the claimer’s own list of proxies counts', async () => {
    await using raw = new RawServer();
    const id = await raw.owner.create('Toolbox');
    const other = await raw.owner.create('Toolbox');
    const attacker = await raw.connect(raw.owner, 'attacker', [other]);
    const victim = await raw.connect(raw.owner, 'victim', [id]);
    const to = await learnSerial(attacker, victim, 1);
    const key = newKey();
    // Five times an id the attacker does not hold; the victim made one proxy from the message.
    attacker.send({ t: 'direct', key, ids: [id, id, id, id, id], to, tag: 1 });
    victim.send({ t: 'claim', key, ids: [id] });
    await settle();
    expect(raw.table.holders(id)).toEqual({ main: 1, victim: 1 });
    // The victim releases its own proxy and the one from the message: one of the two is
    // ignored (that proxy owned nothing), no more.
    victim.send({ t: 'release', ids: [id, id] });
    raw.owner.send({ t: 'release', ids: [id, other] });
    attacker.send({ t: 'release', ids: [other] });
    await settle();
    expect(raw.table.numberOfObjects()).toBe(0);
  });

  test('ids a sender could not fund are owed by whoever takes the handoff up: their releases are ignored', async () => {
    await using raw = new RawServer();
    const id = await raw.owner.create('Toolbox');
    const held = await raw.owner.create('Toolbox');
    // `forwarder` holds only `held`; it hands off `id` too (a proxy it has no reference for).
    const forwarder = await raw.connect(raw.owner, 'forwarder', [held]);
    const receiver = await raw.connect(raw.owner, 'receiver', [id]);
    const to = await learnSerial(forwarder, receiver, 1);
    const key = newKey();
    forwarder.send({ t: 'direct', key, ids: [id, held], to, tag: 1 });
    receiver.send({ t: 'claim', key, ids: [id, held] });
    await settle();
    expect(forwarder.refusals).toEqual([expect.stringMatching(/holds no reference to: 1/)]);
    expect(raw.table.holders(id)).toEqual({ main: 1, receiver: 1 });
    expect(raw.table.holders(held)).toEqual({ main: 1, forwarder: 1, receiver: 1 });
    // The receiver's proxy for `id` from that handoff owns nothing: its release is ignored,
    // and the reference the receiver held before stays.
    receiver.send({ t: 'release', ids: [id] });
    await settle();
    expect(raw.table.holders(id)).toEqual({ main: 1, receiver: 1 });
    // The same through a spare's handoff, claimed.
    const channel = new MessageChannel();
    const spareKey = newKey();
    forwarder.send({ t: 'spare', key: spareKey, port: channel.port2 }, [channel.port2]);
    forwarder.send({ t: 'handoff', key: spareKey, ids: [id] });
    receiver.send({ t: 'claim', key: spareKey, ids: [id] });
    receiver.send({ t: 'release', ids: [id] });
    await settle();
    expect(raw.table.holders(id)).toEqual({ main: 1, receiver: 1 });
    channel.port1.close();

    // A spare adopted by its receiver (`hello`): the adopter owes the ids its sender could not
    // fund. It gets a real reference later; releasing the dud leaves that one.
    const adoption = new MessageChannel();
    const adoptKey = newKey();
    forwarder.send({ t: 'spare', key: adoptKey, port: adoption.port2 }, [adoption.port2]);
    forwarder.send({ t: 'handoff', key: adoptKey, ids: [id] });
    const adopter = new RawClient(adoption.port1, adoptKey);
    adopter.send({ t: 'hello', label: 'adopter' });
    await settle();
    const later = newKey();
    const spareOfOwner = new MessageChannel();
    raw.owner.send({ t: 'spare', key: later, port: spareOfOwner.port2 }, [spareOfOwner.port2]);
    raw.owner.send({ t: 'handoff', key: later, ids: [id] });
    adopter.send({ t: 'claim', key: later, ids: [id] });
    adopter.send({ t: 'release', ids: [id] });
    expect((await adopter.call(id, 'echo', [4])).v).toBe(4);
    expect(raw.table.holders(id)).toEqual({ main: 1, receiver: 1, adopter: 1 });
    adopter.send({ t: 'release', ids: [id] });
    spareOfOwner.port1.close();
    adopter.close();
    receiver.send({ t: 'release', ids: [id, held] });
    forwarder.send({ t: 'release', ids: [held] });
    raw.owner.send({ t: 'release', ids: [id, held] });
    await settle();
    expect(raw.table.numberOfObjects()).toBe(0);
  });

  test('a refused claim with ids: as many releases of them from the claimer are ignored, then releases count again', async () => {
    await using raw = new RawServer();
    const id = await raw.owner.create('Toolbox');
    const receiver = await raw.connect(raw.owner, 'receiver', [id]);
    const to = await learnSerial(raw.owner, receiver, 1);
    const key = newKey();
    raw.owner.send({ t: 'direct', key, ids: [id], to, tag: 1 });
    raw.owner.send({ t: 'recall', key });
    await settle();
    // The receiver made two proxies from it (say), and its claim is refused: they own nothing.
    receiver.send({ t: 'claim', key, ids: [id, id] });
    receiver.send({ t: 'release', ids: [id, id] });
    await settle();
    expect(receiver.refusals).toEqual([expect.stringMatching(/claim refused/)]);
    expect(raw.table.holders(id)).toEqual({ main: 1, receiver: 1 });
    receiver.send({ t: 'release', ids: [id] });
    raw.owner.send({ t: 'release', ids: [id] });
    await settle();
    expect(raw.table.numberOfObjects()).toBe(0);
  });

  test('least authority and bad messages: ids not held, a key in use, a malformed `to` or `tag`', async () => {
    await using raw = new RawServer();
    const id = await raw.owner.create('Toolbox');
    const secret = await raw.owner.create('Toolbox');
    const attacker = await raw.connect(raw.owner, 'attacker', [id]);
    const to = await learnSerial(attacker, raw.owner, 1);
    attacker.send({ t: 'direct', key: newKey(), ids: [secret], to, tag: 1 });
    attacker.send({ t: 'direct', key: raw.owner.key, ids: [id], to, tag: 1 });
    await settle();
    expect(attacker.refusals).toEqual([
      expect.stringMatching(/holds no reference to: 2/),
      expect.stringMatching(/key is already in use/),
    ]);
    expect(raw.table.holders(secret)).toEqual({ main: 1 });
    for (const bad of [
      { to: 0, tag: 1 },
      { to: -1, tag: 1 },
      { to: 1.5, tag: 1 },
      { to, tag: 0 },
      { to, tag: 'x' },
      { to },
    ]) {
      const reply = await attacker.request({ t: 'direct', key: newKey(), ids: [id], ...bad });
      expect(reply.e).toMatchObject({ code: 'ERR_BAD_MESSAGE' });
    }
    const reply = await attacker.request({ t: 'handoff', key: newKey(), ids: [], tag: -3 });
    expect(reply.e).toMatchObject({ code: 'ERR_BAD_MESSAGE' });
    expect(raw.table.holders(id)).toEqual({ main: 1, attacker: 1 });
    attacker.send({ t: 'release', ids: [id] });
    raw.owner.send({ t: 'release', ids: [id, secret] });
    await settle();
    expect(raw.table.numberOfObjects()).toBe(0);
  });
});

describe('directed handoffs written in the sender’s lend log (raw)', () => {
  /** The owner holding a Toolbox, with its lend log registered, and a receiver whose serial it learned. */
  async function loggingOwner(raw: RawServer) {
    const setup = await ownerAndReceiver(raw);
    const writer = registerLendLog(raw.owner);
    await settle();
    return { ...setup, writer };
  }

  test('claimed before the sender posts anything: the claim reads the log and the references go straight to the receiver', async () => {
    await using raw = new RawServer();
    const { id, receiver, to, writer } = await loggingOwner(raw);
    const key = newKey();
    expect(writer.writeDirect(key, raw.owner.posted, [id], { to, tag: 1 })).toBe(true);
    await settle();
    // Nothing woke the server: the handoff is still only in the log.
    expect(raw.table.holders(id)).toEqual({ main: 1 });
    receiver.send({ t: 'claim', key, ids: [id] });
    expect((await receiver.call(id, 'echo', [1])).v).toBe(1);
    expect(raw.table.holders(id)).toEqual({ main: 1, receiver: 1 });
    // Traced as any handoff: taken under a handoff holder, adopted by the claimer. Nothing to
    // tell the sender (its expected receiver took it).
    expect(raw.table).toHaveTraced([
      { op: 'handoff', id, holder: expect.stringMatching(/^handoff:main>/) },
      { op: 'adopt', id, holder: 'receiver' },
    ]);
    expect(raw.owner.notices).toEqual([]);
    receiver.send({ t: 'release', ids: [id] });
    raw.owner.send({ t: 'release', ids: [id] });
    await settle();
    expect(raw.table.numberOfObjects()).toBe(0);
    expect(raw.owner.refusals).toEqual([]);
    expect(receiver.refusals).toEqual([]);
  });

  test('least authority holds: ids the sender does not hold are refused to it and owed by the claimer', async () => {
    await using raw = new RawServer();
    const { id, receiver, to, writer } = await loggingOwner(raw);
    const other = await raw.owner.create('Toolbox');
    // The owner gives `other` up, then logs a handoff of it and of `id`.
    const stranger = await raw.connect(raw.owner, 'stranger', [other]);
    raw.owner.send({ t: 'release', ids: [other] });
    await settle();
    const key = newKey();
    writer.writeDirect(key, raw.owner.posted, [id, other], { to, tag: 1 });
    receiver.send({ t: 'claim', key, ids: [id, other] });
    await settle();
    expect(raw.owner.refusals).toEqual([expect.stringMatching(/holds no reference to: 2/)]);
    expect(raw.table.holders(id)).toEqual({ main: 1, receiver: 1 });
    expect(raw.table.holders(other)).toEqual({ stranger: 1 });
    // The receiver's proxy for `other` owns nothing: its release is ignored.
    receiver.send({ t: 'release', ids: [other, id] });
    raw.owner.send({ t: 'release', ids: [id] });
    await settle();
    expect(raw.table.holders(other)).toEqual({ stranger: 1 });
    stranger.send({ t: 'release', ids: [other] });
    await settle();
    expect(raw.table.numberOfObjects()).toBe(0);
  });

  test("one nobody claims yet is taken at the head by the sender's next call, and the withdrawn lends behind it are freed", async () => {
    await using raw = new RawServer();
    const { id, receiver, to, writer } = await loggingOwner(raw);
    const key = newKey();
    writer.writeDirect(key, raw.owner.posted, [id], { to, tag: 1 });
    const places = [0, 1, 2].map(() => writer.write(newKey(), raw.owner.posted, [id]));
    for (const place of places) expect(writer.cancel(place)).toBe(true);
    // A method call leaves lends unread, but takes the directed handoff placed before it: one
    // nobody claims would otherwise hold the log's head, and no withdrawn lend behind it would
    // ever be freed.
    expect((await raw.owner.call(id, 'echo', [1])).v).toBe(1);
    expect(Object.keys(raw.table.holders(id))).toEqual([
      'main',
      expect.stringMatching(/^handoff:main>/),
    ]);
    const [write, read] = new Int32Array(writer.buffer, 0, 2);
    expect(read).toBe(write);
    receiver.send({ t: 'claim', key, ids: [id] });
    expect((await receiver.call(id, 'echo', [2])).v).toBe(2);
    expect(raw.table.holders(id)).toEqual({ main: 1, receiver: 1 });
    receiver.send({ t: 'release', ids: [id] });
    raw.owner.send({ t: 'release', ids: [id] });
    await settle();
    expect(raw.table.numberOfObjects()).toBe(0);
    expect(raw.owner.refusals).toEqual([]);
  });

  test('a receiver that closes before it claims drops the references, though its sender posted nothing since (R3)', async () => {
    await using raw = new RawServer();
    const { id, receiver, to, writer } = await loggingOwner(raw);
    writer.writeDirect(newKey(), raw.owner.posted, [id], { to, tag: 1 });
    receiver.close();
    await settle();
    raw.owner.send({ t: 'release', ids: [id] });
    await settle();
    expect(raw.table.numberOfObjects()).toBe(0);
    // Dropped with its receiver, not kept on the export lease: the sender is not told to
    // forget that receiver.
    expect(raw.owner.notices).toEqual([]);
  });

  test('the entry keeps its place: a release the sender posts after it cannot overtake it, and a closing sender is read first', async () => {
    await using raw = new RawServer();
    const { id, receiver, to, writer } = await loggingOwner(raw);
    const key = newKey();
    writer.writeDirect(key, raw.owner.posted, [id], { to, tag: 1 });
    raw.owner.send({ t: 'release', ids: [id] });
    await settle();
    // Read before the release: the handoff keeps the object for its receiver.
    expect(raw.table.numberOfObjects()).toBe(1);
    receiver.send({ t: 'claim', key });
    expect((await receiver.call(id, 'echo', [2])).v).toBe(2);
    expect(raw.table.holders(id)).toEqual({ receiver: 1 });

    // A sender that dies right after writing one: its close reads the log, and the handoff
    // waits for the claim.
    const sender = await raw.connect(receiver, 'sender', [id]);
    const senderLog = registerLendLog(sender);
    const serial = await learnSerial(sender, receiver, 4);
    const last = newKey();
    senderLog.writeDirect(last, sender.posted, [id], { to: serial, tag: 4 });
    sender.close();
    await settle();
    receiver.send({ t: 'claim', key: last });
    await settle();
    expect(raw.table.holders(id)).toEqual({ receiver: 2 });
    receiver.send({ t: 'release', ids: [id, id] });
    await settle();
    expect(raw.table.numberOfObjects()).toBe(0);
    expect(receiver.refusals).toEqual([]);
  });
});

describe('directed handoffs through the public API', () => {
  const start = () => MagManager.start({ module: MAGNIFIER_MODULE });

  /** Encodes `value` for `target` and gives it back at once: true when it went without a port. */
  function goesDirected(value: object, target: object): boolean {
    const encoded = encode(value, { target });
    discard(encoded);
    return encoded.transferList.length === 0;
  }

  test('the first proxy posted to a worker carries a port, the next ones none; every reference is exact', async () => {
    await using manager = await start();
    await using agent = new Agent();
    const mag = await manager.Magnifier(3);
    expect(goesDirected({ mag }, agent.worker)).toBe(false);
    expect(await agent.holdDirected(mag)).toBe(1);
    expect(await agent.run({ cmd: 'call', slot: 0, method: 'scale', args: [2] })).toBe(6);
    // The server's notice reaches this thread a moment after the worker took the proxy up.
    await pollUntil(async () => goesDirected({ mag }, agent.worker), true);
    expect(await pollUntil(async () => (await manager.entries())[0]!.refcount, 2)).toBe(2);

    // The same proxy twice in one message is one proxy there, with one reference.
    expect(await agent.holdDirected(mag, mag)).toBe(3);
    expect(await agent.run({ cmd: 'call', slot: 2, method: 'scale', args: [5] })).toBe(15);
    expect((await manager.entries())[0]!.refcount).toBe(3);
    for (const slot of [0, 1, 2]) await agent.run({ cmd: 'release', slot });
    expect(await pollUntil(async () => (await manager.entries())[0]!.refcount, 1)).toBe(1);
    mag[Symbol.dispose]();
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  });

  test('a worker that took proxies from its workerData (createWorker) gets the next ones directed', async () => {
    await using manager = await start();
    const mag = await manager.Magnifier(2);
    await using agent = new Agent({ proxies: [mag] });
    expect(await agent.run({ cmd: 'call', slot: 0, method: 'scale', args: [4] })).toBe(8);
    await pollUntil(async () => goesDirected({ mag }, agent.worker), true);
    expect(await agent.holdDirected(mag)).toBe(2);
    expect(await agent.run({ cmd: 'call', slot: 1, method: 'scale', args: [1] })).toBe(2);
    await agent.worker.terminate();
    expect(await pollUntil(async () => (await manager.entries())[0]!.refcount, 1)).toBe(1);
    release(mag);
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  });

  test('a directed handoff to a worker terminated before it read the message is dropped', async () => {
    await using manager = await start();
    await using agent = new Agent();
    const mag = await manager.Magnifier(3);
    await agent.holdDirected(mag);
    await pollUntil(async () => goesDirected({ mag }, agent.worker), true);
    await agent.run({ cmd: 'release', slot: 0 });
    // The worker is busy: the proxies posted now wait in its queue, and are never read.
    void agent.run({ cmd: 'block', ms: 60_000 }).catch(() => undefined);
    void agent.holdDirected(mag).catch(() => undefined);
    void agent.holdDirected(mag).catch(() => undefined);
    expect(await pollUntil(async () => (await manager.entries())[0]!.refcount, 3)).toBe(3);
    release(mag);
    await agent.worker.terminate();
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  });

  test('postMessage(worker, value) hands off directed after the first; a post that throws gives the references back', async () => {
    await using manager = await start();
    await using agent = new Agent();
    const mag = await manager.Magnifier(3);
    await agent.run({ cmd: 'describe', slot: 0 }).catch(() => undefined); // the worker is up
    // Commands posted as a user would; their replies (unknown ids) are ignored by the agent.
    postMessage(agent.worker, { cmd: 'hold', id: 1000, value: { proxies: [mag] } });
    await pollUntil(async () => goesDirected({ mag }, agent.worker), true);
    postMessage(agent.worker, { cmd: 'hold', id: 1001, value: { proxies: [mag] } });
    expect(await agent.run({ cmd: 'call', slot: 1, method: 'scale', args: [2] })).toBe(6);
    expect((await manager.entries())[0]!.refcount).toBe(3);

    const failing = {
      postMessage: () => {
        throw new Error('post failed');
      },
    };
    expect(() => postMessage(failing, { mag })).toThrow('post failed');
    expect(() => postMessage(agent.worker, { mag, fn: () => 1 })).toThrow();
    expect(await pollUntil(async () => (await manager.entries())[0]!.refcount, 3)).toBe(3);
    for (const slot of [0, 1]) await agent.run({ cmd: 'release', slot });
    release(mag);
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  });

  test('proxies posted on a MessagePort always carry a port: it may be moved to another thread or closed', async () => {
    await using manager = await start();
    await using agent = new Agent();
    const mag = await manager.Magnifier(3);
    for (let round = 0; round < 3; round++) {
      const { port1, port2 } = new MessageChannel();
      const received = agent.run({ cmd: 'receive', port: port2 }, [port2]);
      const encoded = encode({ proxies: [mag] }, { target: port1 });
      expect(encoded.transferList).toHaveLength(1);
      port1.postMessage(encoded.value, encoded.transferList);
      expect(await received).toBe(round + 1);
      port1.close();
    }
    expect(await agent.run({ cmd: 'call', slot: 2, method: 'scale', args: [2] })).toBe(6);
    for (const slot of [0, 1, 2]) await agent.run({ cmd: 'release', slot });
    release(mag);
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  });

  test('a proxy made from a refused claim releases nothing: the thread’s other references stay', async () => {
    await using manager = await start();
    await using agent = new Agent();
    const mag = await manager.Magnifier(3);
    await agent.holdDirected(mag);
    await pollUntil(async () => goesDirected({ mag }, agent.worker), true);
    // Misuse: recalled (discard), then posted anyway. The worker's claim is refused at once.
    const encoded = encode({ proxies: [mag] }, { target: agent.worker });
    discard(encoded);
    expect(await agent.run({ cmd: 'hold', value: encoded.value })).toBe(2);
    await pollUntil(async () => (await manager.entries())[0]!.refcount, 2);
    await agent.run({ cmd: 'release', slot: 1 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    // The worker's reference (slot 0) is still there and works.
    const [entry] = await manager.entries();
    expect(entry!.refcount).toBe(2);
    expect(Object.values(entry!.holders)).toEqual([1, 1]);
    expect(await agent.run({ cmd: 'call', slot: 0, method: 'scale', args: [2] })).toBe(6);
    await agent.run({ cmd: 'release', slot: 0 });
    release(mag);
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  });

  test('encode() checks its options', () => {
    expect(() => encode({}, { target: 3 as unknown as object })).toThrow(
      expect.objectContaining({
        code: 'ERR_INVALID_OPTION',
        message: expect.stringMatching(/options\.target/),
      }),
    );
    expect(() => encode({}, null as unknown as object)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTION' }),
    );
  });
});
