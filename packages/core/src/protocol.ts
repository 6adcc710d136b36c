import { MessagePort } from 'node:worker_threads';
import { z } from 'zod';

/** The version of the wire protocol; a worker and a caller must agree on it. */
export const PROTOCOL_VERSION = 1;

const rid = z.number().int().nonnegative();
const objectId = z.number().int().nonnegative();
const args = z.array(z.unknown());

const createRequest = z.object({ t: z.literal('create'), rid, typeid: z.string().min(1), args });
const callRequest = z.object({
  t: z.literal('call'),
  rid,
  id: objectId,
  method: z.string().min(1),
  args,
  /** 1: a synchronous call, answered through the connection's sync channel. */
  s: z.literal(1).optional(),
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
/** Registers the connection's sync channel (sync-server.ts): replies to `s: 1` calls go there. */
const syncRequest = z.object({
  t: z.literal('sync'),
  port: z.instanceof(MessagePort),
  buffer: z.instanceof(SharedArrayBuffer),
});

/** One request from a client connection to the server. */
export const requestSchema = z.discriminatedUnion('t', [
  createRequest,
  callRequest,
  releaseRequest,
  handoffRequest,
  adoptRequest,
  helloRequest,
  syncRequest,
]);
/**
 * The hot path's check: true when `message` is a well-formed call request, exactly as
 * `requestSchema` would accept it. Anything else goes through zod, which is the authority
 * (and writes the error message).
 */
export function isWellFormedCall(message: unknown): message is CallRequest {
  if (typeof message !== 'object' || message === null) return false;
  const call = message as Record<string, unknown>;
  return (
    call.t === 'call' &&
    Number.isInteger(call.rid) &&
    (call.rid as number) >= 0 &&
    Number.isInteger(call.id) &&
    (call.id as number) >= 0 &&
    typeof call.method === 'string' &&
    call.method.length > 0 &&
    Array.isArray(call.args)
  );
}

/** Several requests posted as one message (calls queued in the same tick). */
export const batchSchema = z.object({ t: z.literal('batch'), m: z.array(z.unknown()) });

export type Request = z.infer<typeof requestSchema>;
export type CreateRequest = z.infer<typeof createRequest>;
export type CallRequest = z.infer<typeof callRequest>;

/** A serialisable description of an error (see error-envelope.ts). */
export interface ErrorEnvelope {
  name: string;
  message: string;
  code?: string;
  stack?: string;
  details?: Record<string, unknown>;
  cause?: ErrorEnvelope | { value: string };
}

/** The token of a new proxy, as the server sends it. */
export interface WireToken {
  id: number;
  typeid: string;
  exposed: readonly string[];
  methodToTypeid: Readonly<Record<string, string>>;
  /** The name of the registration's custom proxy class, if any. */
  proxytype?: string;
}

/**
 * A reply: `v` a value, `p` a proxy token (the server already holds the reference for the
 * caller's connection, R2), or `e` an error. Replies to a batch are posted as an array.
 */
export interface Reply {
  rid: number;
  v?: unknown;
  p?: WireToken;
  e?: ErrorEnvelope;
}

/** Control messages between the owning thread and the server worker (over the Worker port). */
export type ControlToServer = { t: 'shutdown' } | { t: 'trace'; enabled: boolean };
export type ControlFromServer =
  | { t: 'ready'; version: number; typeids: string[]; name: string }
  | { t: 'failed'; error: ErrorEnvelope }
  | { t: 'closed' }
  | { t: 'trace'; events: unknown[] };

/** What the server worker receives as `workerData`. */
export interface ServerWorkerData {
  version: number;
  managerId: string;
  /** The manager's name; '' to use the export name of its class. */
  name: string;
  module: string;
  exportName?: string;
  initializer?: string;
  initializerArgs: unknown[];
  traceBufferSize: number;
  forwardTrace: boolean;
  port: MessagePort;
  key: string;
  /** The manager's liveness word (sync-channel.ts), set when the server worker is gone. */
  liveness: SharedArrayBuffer;
}

/** Fallback methods answered for every object, whatever it exposes (Python's fallbacks). */
export const FALLBACK_METHODS = new Set(['#getvalue', '#repr', '#inspect', '#count', '#debug']);

/** Turns zod issues into one readable line. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? issue.path.join('.') : 'message'}: ${issue.message}`)
    .join('; ');
}
