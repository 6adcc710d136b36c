import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { clearTimer, setTimer } from '../timer';

/**
 * Mutual authentication of a socket with a shared authkey, before any protocol byte is read
 * (Python's `deliver_challenge` / `answer_challenge`, both ways, with HMAC-SHA256):
 *
 *     server → client   GREETING (8 bytes) + server nonce (32)
 *     client → server   client nonce (32) + HMAC(authkey, "client" ‖ server nonce ‖ client nonce)
 *     server → client   0x01 + HMAC(authkey, "server" ‖ client nonce ‖ server nonce)   (or 0x00, close)
 *
 * Each side proves it knows the key over the other side's fresh nonce, so neither a replayed
 * answer nor a fake server passes. Digests are compared in constant time. Nothing about the key
 * is ever sent or logged.
 */

/** The first bytes a server sends: the protocol's name and its handshake version. */
const GREETING = Buffer.from('MGRAUTH1', 'latin1');
const NONCE_BYTES = 32;
const DIGEST_BYTES = 32;
const CLIENT_ANSWER_BYTES = NONCE_BYTES + DIGEST_BYTES;

/** Why a handshake failed: `refused` (the key is wrong on one side) or `broken` (not our protocol, closed, timeout). */
export class HandshakeError extends Error {
  override readonly name = 'HandshakeError';
  constructor(
    message: string,
    readonly kind: 'refused' | 'broken',
  ) {
    super(message);
  }
}

/** The authkey as bytes: a string is taken as UTF-8. */
export function authkeyBytes(authkey: string | Uint8Array): Buffer {
  return typeof authkey === 'string' ? Buffer.from(authkey, 'utf8') : Buffer.from(authkey);
}

/** True when two authkeys are the same bytes (compared in constant time, over their digests). */
export function sameAuthkey(given: string | Uint8Array, known: string | Uint8Array): boolean {
  const hash = (key: string | Uint8Array) =>
    createHash('sha256').update(authkeyBytes(key)).digest();
  return timingSafeEqual(hash(given), hash(known));
}

function digest(authkey: Buffer, role: string, first: Buffer, second: Buffer): Buffer {
  return createHmac('sha256', authkey).update(role).update(first).update(second).digest();
}

/**
 * Reads exactly `length` bytes from `socket` (and whatever arrived with them after). Rejects on
 * close, error or timeout. Stops listening when done: later bytes stay for the next reader.
 */
function readBytes(
  socket: Duplex,
  length: number,
  timeoutMs: number,
  what: string,
  allowExtra: boolean,
): Promise<{ bytes: Buffer; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const finish = (error?: HandshakeError) => {
      clearTimer(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('error', onError);
      socket.pause();
      if (error) return reject(error);
      const all = Buffer.concat(chunks);
      resolve({ bytes: all.subarray(0, length), rest: all.subarray(length) });
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      if (received < length) return;
      if (received > length && !allowExtra)
        return finish(new HandshakeError(`unexpected bytes after ${what}`, 'broken'));
      finish();
    };
    const onClose = () => finish(new HandshakeError(`the socket closed before ${what}`, 'broken'));
    const onError = (error: Error) =>
      finish(new HandshakeError(`the socket failed before ${what}: ${error.message}`, 'broken'));
    const timer = setTimer(
      () => finish(new HandshakeError(`${what} did not come within ${timeoutMs} ms`, 'broken')),
      timeoutMs,
    );
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.once('error', onError);
    socket.resume();
  });
}

/**
 * The server's side: challenges the client, checks its answer, proves itself. Resolves when the
 * client is authenticated; rejects (after answering 0x00) when it is not. The caller destroys
 * the socket on rejection.
 */
export async function authenticateClient(
  socket: Duplex,
  authkey: Buffer,
  timeoutMs: number,
): Promise<void> {
  const serverNonce = randomBytes(NONCE_BYTES);
  socket.write(Buffer.concat([GREETING, serverNonce]));
  const { bytes } = await readBytes(
    socket,
    CLIENT_ANSWER_BYTES,
    timeoutMs,
    "the client's answer",
    false,
  );
  const clientNonce = bytes.subarray(0, NONCE_BYTES);
  const answer = bytes.subarray(NONCE_BYTES);
  const expected = digest(authkey, 'client', serverNonce, clientNonce);
  if (!timingSafeEqual(answer, expected)) {
    socket.end(Buffer.from([0]));
    throw new HandshakeError('the client does not know the authkey', 'refused');
  }
  socket.write(
    Buffer.concat([Buffer.from([1]), digest(authkey, 'server', clientNonce, serverNonce)]),
  );
}

/**
 * The client's side: answers the server's challenge and checks the server's proof. Resolves
 * with the bytes that arrived after the proof (the start of the first frame).
 */
export async function authenticateServer(
  socket: Duplex,
  authkey: Buffer,
  timeoutMs: number,
): Promise<Buffer> {
  const greeting = await readBytes(
    socket,
    GREETING.length + NONCE_BYTES,
    timeoutMs,
    "the server's greeting",
    false,
  );
  if (!greeting.bytes.subarray(0, GREETING.length).equals(GREETING)) {
    throw new HandshakeError('the peer is not a @managers server (unknown greeting)', 'broken');
  }
  const serverNonce = greeting.bytes.subarray(GREETING.length);
  const clientNonce = randomBytes(NONCE_BYTES);
  socket.write(Buffer.concat([clientNonce, digest(authkey, 'client', serverNonce, clientNonce)]));
  // A server that refuses sends 0x00 and closes: read the status byte alone first.
  const status = await readBytes(socket, 1, timeoutMs, "the server's proof", true);
  if (status.bytes[0] !== 1) {
    throw new HandshakeError('the server refused the authkey', 'refused');
  }
  let proof = status.rest;
  if (proof.length < DIGEST_BYTES) {
    const more = await readBytes(
      socket,
      DIGEST_BYTES - proof.length,
      timeoutMs,
      "the server's proof",
      true,
    );
    proof = Buffer.concat([proof, more.bytes, more.rest]);
  }
  const expected = digest(authkey, 'server', clientNonce, serverNonce);
  if (!timingSafeEqual(proof.subarray(0, DIGEST_BYTES), expected)) {
    throw new HandshakeError('the server did not prove it knows the authkey', 'refused');
  }
  return proof.subarray(DIGEST_BYTES);
}
