import { MessagePort } from 'node:worker_threads';
import { z } from 'zod';

/** The version of the wire protocol; a worker and a caller must agree on it. */
export const PROTOCOL_VERSION = 2;

const rid = z.number().int().nonnegative();
const objectId = z.number().int().nonnegative();
const args = z.array(z.unknown());
/** A connection key: a secret of 128 random bits (base64url), never shown by the server. */
const connectionKey = z
  .string()
  .regex(/^[A-Za-z0-9_-]{22,64}$/, 'a connection key is 22 to 64 base64url characters');

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
/** Registers a spare connection ahead of time (its server end), for a later handoff. */
const spareRequest = z.object({
  t: z.literal('spare'),
  key: connectionKey,
  port: z.instanceof(MessagePort),
});
/** Funds a spare this connection registered: one in-flight reference per id (R3). */
const handoffRequest = z.object({
  t: z.literal('handoff'),
  key: connectionKey,
  ids: z.array(objectId),
});
/** Moves the references of a funded handoff connection to this connection, then closes it. */
const claimRequest = z.object({ t: z.literal('claim'), key: connectionKey });
/** Confirms (ok) or refuses (lost) the replies whose delivery the server asked to know about. */
const ackRequest = z.object({ t: z.literal('ack'), ok: z.array(rid), lost: z.array(rid) });
const helloRequest = z.object({ t: z.literal('hello'), label: z.string() });
/** Lends this connection's objects for a task: one reference per id, owned by the lease. */
const lendRequest = z.object({ t: z.literal('lend'), key: connectionKey, ids: z.array(objectId) });
/** The task settled without borrowing: the lease ends (ignored once borrowed). */
const unlendRequest = z.object({ t: z.literal('unlend'), key: connectionKey });
/** Uses a lease: this connection may call its ids until it gives the lease back. */
const borrowRequest = z.object({ t: z.literal('borrow'), key: connectionKey });
/** Gives a borrowed lease back: it ends. */
const unborrowRequest = z.object({ t: z.literal('unborrow'), key: connectionKey });
/** Takes a reference of this connection's own to a borrowed id (a proxy the task keeps). */
const keepRequest = z.object({ t: z.literal('keep'), key: connectionKey, id: objectId });
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
  spareRequest,
  handoffRequest,
  claimRequest,
  ackRequest,
  helloRequest,
  lendRequest,
  unlendRequest,
  borrowRequest,
  unborrowRequest,
  keepRequest,
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
  /** Set when the server wants to know the value reached the caller (an `ack` follows). */
  a?: 1;
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
  /** The largest reply value the server sends, in bytes (estimated); larger ones become errors. */
  maxMessageSize: number;
  port: MessagePort;
  key: string;
  /** The manager's liveness word (sync-channel.ts), set when the server worker is gone. */
  liveness: SharedArrayBuffer;
}

/** Fallback methods answered for every object, whatever it exposes (Python's fallbacks). */
export const FALLBACK_METHODS = new Set([
  '#getvalue',
  '#repr',
  '#inspect',
  '#count',
  '#debug',
  '#refs',
]);

/** Turns zod issues into one readable line. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? issue.path.join('.') : 'message'}: ${issue.message}`)
    .join('; ');
}
