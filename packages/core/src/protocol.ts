import { isSharedArrayBuffer } from 'node:util/types';
import { MessagePort } from 'node:worker_threads';
import type { z } from 'zod';
import type * as Schemas from './protocol-schemas';
import type { NetworkAddress, TlsSettings } from './transport/address';

/** The version of the wire protocol; a worker and a caller must agree on it. */
export const PROTOCOL_VERSION = 2;

/** The zod schemas, loaded on first use (see protocol-schemas.ts). */
let schemas: typeof Schemas | undefined;
function loadSchemas(): typeof Schemas {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (schemas ??= require('./protocol-schemas') as typeof Schemas);
}

/** A zod-like `safeParse` result. */
export type ParseResult<T> = { success: true; data: T } | { success: false; error: z.ZodError };

/**
 * One request from a client connection to the server. Well-formed requests pass hand-written
 * checks ({@link isWellFormedRequest}); only the others load zod, which then says what is wrong.
 */
export const requestSchema = {
  safeParse(message: unknown): ParseResult<Request> {
    if (isWellFormedRequest(message)) return { success: true, data: message };
    return loadSchemas().requestSchema.safeParse(message);
  },
};

/** zod's `.int()` accepts safe integers only (not 2^53). */
const isIndex = (value: unknown): boolean => Number.isSafeInteger(value) && (value as number) >= 0;
const isPositive = (value: unknown): boolean =>
  Number.isSafeInteger(value) && (value as number) > 0;
const isName = (value: unknown): boolean => typeof value === 'string' && value.length > 0;
/** A connection key: a secret of 132 random bits (base64url), never shown by the server. */
const KEY = /^[A-Za-z0-9_-]{22,64}$/;
const isKey = (value: unknown): boolean => typeof value === 'string' && KEY.test(value);

/** True when `message` is a request that the zod `requestSchema` accepts (checked by hand). */
export function isWellFormedRequest(message: unknown): message is Request {
  if (typeof message !== 'object' || message === null) return false;
  const request = message as Record<string, unknown>;
  switch (request.t) {
    case 'call':
      return isWellFormedCall(message);
    case 'create':
      return isIndex(request.rid) && isName(request.typeid) && Array.isArray(request.args);
    case 'release':
      return Array.isArray(request.ids) && request.ids.every(isIndex);
    case 'spare':
      return isKey(request.key) && request.port instanceof MessagePort;
    case 'handoff':
      return (
        isKey(request.key) &&
        Array.isArray(request.ids) &&
        request.ids.every(isIndex) &&
        (request.tag === undefined || isPositive(request.tag))
      );
    case 'direct':
      return (
        isKey(request.key) &&
        Array.isArray(request.ids) &&
        request.ids.every(isIndex) &&
        isPositive(request.to) &&
        isPositive(request.tag)
      );
    case 'export':
    case 'lend':
      return isKey(request.key) && Array.isArray(request.ids) && request.ids.every(isIndex);
    case 'unlend':
      return isKey(request.key) && (request.returned === undefined || request.returned === true);
    case 'claim':
      return (
        isKey(request.key) &&
        (request.ids === undefined || (Array.isArray(request.ids) && request.ids.every(isIndex)))
      );
    case 'recall':
    case 'borrow':
    case 'unborrow':
      return isKey(request.key);
    case 'keep':
      return isKey(request.key) && isIndex(request.id);
    case 'ack':
      return (
        Array.isArray(request.ok) &&
        request.ok.every(isIndex) &&
        Array.isArray(request.lost) &&
        request.lost.every(isIndex)
      );
    case 'hello':
      return typeof request.label === 'string';
    case 'sync':
      return request.port instanceof MessagePort && isSharedArrayBuffer(request.buffer);
    case 'lendlog':
      return isSharedArrayBuffer(request.buffer);
    case 'reclaim':
      return true;
    default:
      return false;
  }
}
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
    Number.isSafeInteger(call.rid) &&
    (call.rid as number) >= 0 &&
    Number.isSafeInteger(call.id) &&
    (call.id as number) >= 0 &&
    typeof call.method === 'string' &&
    call.method.length > 0 &&
    Array.isArray(call.args) &&
    (call.s === undefined || call.s === 1)
  );
}

/** Several requests posted as one message (calls queued in the same tick). */
export const batchSchema = {
  safeParse(message: unknown): ParseResult<{ t: 'batch'; m: unknown[] }> {
    return loadSchemas().batchSchema.safeParse(message);
  },
};

export type Request = z.infer<typeof Schemas.requestSchema>;
export type CreateRequest = z.infer<typeof Schemas.createRequest>;
export type CallRequest = z.infer<typeof Schemas.callRequest>;

/** A serialisable description of an error (see error-envelope.ts). */
export interface ErrorEnvelope {
  name: string;
  message: string;
  code?: string;
  stack?: string;
  details?: Record<string, unknown>;
  cause?: ErrorEnvelope | { value: string };
  /** The error's other own enumerable properties that structured clone copies (errno, path…). */
  props?: Record<string, unknown>;
  /** An AggregateError's errors. */
  errors?: ErrorEnvelope[];
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
  | { t: 'ready'; version: number; typeids: string[]; name: string; address?: NetworkAddress }
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
  /** Where to listen for other processes (`start({ address, authkey })`). */
  listen?: {
    address: NetworkAddress;
    authkey: string | Uint8Array;
    tls?: TlsSettings;
    heartbeatTimeout: number;
    handshakeTimeout: number;
  };
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
