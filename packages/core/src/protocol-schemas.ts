/**
 * The zod schemas of the wire's requests: the authority on what a well-formed message is, and
 * the writer of the error message for one that is not. Loaded only when a message fails the
 * hand-written checks of protocol.ts: zod adds about 75 ms to the start-up of every thread
 * that loads it.
 */
import { MessagePort } from 'node:worker_threads';
import { z } from 'zod';

const rid = z.number().int().nonnegative();
const objectId = z.number().int().nonnegative();
const args = z.array(z.unknown());

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
});
const releaseRequest = z.object({ t: z.literal('release'), ids: z.array(objectId) });
const handoffRequest = z.object({
  t: z.literal('handoff'),
  key: z.string().min(1),
  ids: z.array(objectId),
  /** The server end of the new connection; absent when `key` names a spare one this connection made earlier. */
  port: z.instanceof(MessagePort).optional(),
});
const adoptRequest = z.object({ t: z.literal('adopt'), into: z.string().min(1) });
const helloRequest = z.object({ t: z.literal('hello'), label: z.string().min(1) });

/** One request from a client connection to the server. */
export const requestSchema = z.discriminatedUnion('t', [
  createRequest,
  callRequest,
  releaseRequest,
  handoffRequest,
  adoptRequest,
  helloRequest,
]);
/** Several requests posted as one message (calls queued in the same tick). */
export const batchSchema = z.object({ t: z.literal('batch'), m: z.array(z.unknown()) });
