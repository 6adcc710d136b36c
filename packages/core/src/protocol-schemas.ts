/**
 * The zod schemas of the wire's requests: the authority on what a well-formed message is, and
 * the writer of the error message for one that is not. Loaded only when a message fails the
 * hand-written checks of protocol.ts: zod adds about 75 ms to the start-up of every thread
 * that loads it.
 */
import { isSharedArrayBuffer } from 'node:util/types';
import { MessagePort } from 'node:worker_threads';
import { z } from 'zod';

const rid = z.number().int().nonnegative();
const objectId = z.number().int().nonnegative();
const args = z.array(z.unknown());
/** A connection key: a secret of 132 random bits (base64url), never shown by the server. */
const connectionKey = z
  .string()
  .regex(/^[A-Za-z0-9_-]{22,64}$/, 'a connection key is 22 to 64 base64url characters');

export const createRequest = z.object({
  t: z.literal('create'),
  rid,
  typeid: z.string().min(1),
  args,
});
export const callRequest = z.object({
  t: z.literal('call'),
  rid,
  id: objectId,
  method: z.string().min(1),
  args,
  /** 1: a synchronous call, answered through the connection's sync channel. */
  s: z.literal(1).optional(),
});
const releaseRequest = z.object({ t: z.literal('release'), ids: z.array(objectId) });
/** Registers a spare connection ahead of time (its server end), for a later handoff. */
const spareRequest = z.object({
  t: z.literal('spare'),
  key: connectionKey,
  port: z.instanceof(MessagePort),
});
/** The sender's own number for a place it posts to (a Worker, a MessagePort): directed.ts. */
const targetTag = z.number().int().positive();
/**
 * Funds a spare this connection registered: one in-flight reference per id (R3). With a
 * `tag`, the server tells the sender which connection takes it up (`receiver {tag, serial}`).
 */
const handoffRequest = z.object({
  t: z.literal('handoff'),
  key: connectionKey,
  ids: z.array(objectId),
  tag: targetTag.optional(),
});
/**
 * A handoff with no port to the connection numbered `to` (learned from a `receiver` notice):
 * one reference per id under `key`, claimed by the receiver, dropped if that connection closes.
 */
const directRequest = z.object({
  t: z.literal('direct'),
  key: connectionKey,
  ids: z.array(objectId),
  to: z.number().int().positive(),
  tag: targetTag,
});
/** Takes back a directed handoff of this connection's that nobody claimed: its references go. */
const recallRequest = z.object({ t: z.literal('recall'), key: connectionKey });
/** Moves the references of a funded handoff connection to this connection, then closes it. */
const claimRequest = z.object({
  t: z.literal('claim'),
  key: connectionKey,
  /** The ids of the proxies the claimer made from it: if it is refused, as many of their releases are ignored. */
  ids: z.array(objectId).optional(),
});
/** Confirms (ok) or refuses (lost) the replies whose delivery the server asked to know about. */
const ackRequest = z.object({ t: z.literal('ack'), ok: z.array(rid), lost: z.array(rid) });
const helloRequest = z.object({ t: z.literal('hello'), label: z.string() });
/** Lends this connection's objects for a task: one reference per id, owned by the lease. */
/**
 * A handoff with no port, for a thread that will connect over a socket (a remote manager's
 * proxy sent on to a thread): one reference per id under `key`, claimed later, or released
 * when its lease ends.
 */
const exportRequest = z.object({
  t: z.literal('export'),
  key: connectionKey,
  ids: z.array(objectId),
});
const lendRequest = z.object({ t: z.literal('lend'), key: connectionKey, ids: z.array(objectId) });
/**
 * The task settled: the lease ends if nobody borrowed it, or if `returned` (its borrower
 * reported every call it made under it answered); otherwise the borrower ends it.
 */
const unlendRequest = z.object({
  t: z.literal('unlend'),
  key: connectionKey,
  returned: z.literal(true).optional(),
});
/** Uses a lease: this connection may call its ids until it gives the lease back. */
const borrowRequest = z.object({ t: z.literal('borrow'), key: connectionKey });
/** Gives a borrowed lease back: it ends. */
const unborrowRequest = z.object({ t: z.literal('unborrow'), key: connectionKey });
/** Takes a reference of this connection's own to a borrowed id (a proxy the task keeps). */
const keepRequest = z.object({ t: z.literal('keep'), key: connectionKey, id: objectId });
/** A SharedArrayBuffer of any realm (one that arrived on a port may not be `instanceof` here). */
const sharedBuffer = z.custom<SharedArrayBuffer>(
  isSharedArrayBuffer,
  'expected a SharedArrayBuffer',
);
/** Registers the connection's sync channel (sync-server.ts): replies to `s: 1` calls go there. */
const syncRequest = z.object({
  t: z.literal('sync'),
  port: z.instanceof(MessagePort),
  buffer: sharedBuffer,
});

/** Registers the connection's lend log (lend-log.ts): lends written there count as `lend`s. */
const lendLogRequest = z.object({ t: z.literal('lendlog'), buffer: sharedBuffer });

/**
 * Asks the server to free the withdrawn lends at the head of the lend log (it does so before
 * any call, create, lend, unlend or reclaim): sent when the log is half full.
 */
const reclaimRequest = z.object({ t: z.literal('reclaim') });

/** One request from a client connection to the server. */
export const requestSchema = z.discriminatedUnion('t', [
  createRequest,
  callRequest,
  releaseRequest,
  spareRequest,
  handoffRequest,
  directRequest,
  recallRequest,
  exportRequest,
  claimRequest,
  ackRequest,
  helloRequest,
  lendRequest,
  unlendRequest,
  borrowRequest,
  unborrowRequest,
  keepRequest,
  syncRequest,
  lendLogRequest,
  reclaimRequest,
]);
/** Several requests posted as one message (calls queued in the same tick). */
export const batchSchema = z.object({ t: z.literal('batch'), m: z.array(z.unknown()) });
