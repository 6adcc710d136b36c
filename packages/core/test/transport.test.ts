/**
 * The transport layer's pieces without a manager: the frame codec (JSON when exact, else v8),
 * the frame reader over arbitrary chunking, and the authkey handshake both ways.
 */
import { deserialize, serialize } from 'node:v8';
import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { authenticateClient, authenticateServer, HandshakeError } from '../src/transport/auth';
import { decodePayload, encodeFrame } from '../src/transport/codec';
import { FRAME_HEADER_BYTES, FrameError, FrameReader } from '../src/transport/frames';

/** What structured clone (the format ports use) makes of `value`. */
const cloned = (value: unknown) => deserialize(serialize(value));
const decoded = (value: unknown) => decodePayload(encodeFrame(value).subarray(FRAME_HEADER_BYTES));

function hasInvalidDate(value: unknown, seen = new Set<unknown>()): boolean {
  if (value instanceof Date) return Number.isNaN(value.getTime());
  if (typeof value !== 'object' || value === null || seen.has(value)) return false;
  seen.add(value);
  if (value instanceof Map)
    return [...value].some(([k, v]) => hasInvalidDate(k, seen) || hasInvalidDate(v, seen));
  if (value instanceof Set) return [...value].some((item) => hasInvalidDate(item, seen));
  return Object.values(value).some((item) => hasInvalidDate(item, seen));
}

/** True when `value` (or an item of it, if it is an array) has an own `v` that is `undefined`. */
function hasEnvelopeUndefined(value: unknown): boolean {
  const items = Array.isArray(value) ? value : [value];
  return items.some(
    (item) =>
      typeof item === 'object' &&
      item !== null &&
      !Array.isArray(item) &&
      Object.prototype.hasOwnProperty.call(item, 'v') &&
      (item as { v?: unknown }).v === undefined,
  );
}

describe('frame codec', () => {
  test('every value decodes as structured clone would make it (JSON only where it is exact)', () => {
    fc.assert(
      fc.property(
        fc.anything({
          withBigInt: true,
          withDate: true,
          withMap: true,
          withSet: true,
          withTypedArray: true,
          withNullPrototype: true,
          withSparseArray: true,
        }),
        (value) => {
          let expected: unknown;
          try {
            expected = cloned(value);
          } catch {
            return; // not cloneable at all (a symbol): the codec throws as postMessage does
          }
          // (An invalid Date never equals another in jest: such values are left out.)
          if (hasInvalidDate(value)) return;
          // The codec's one exception (a reply's `v: undefined` may be dropped) has its own test.
          if (hasEnvelopeUndefined(value)) return;
          expect(decoded(value)).toStrictEqual(expected);
        },
      ),
      { numRuns: 3000 },
    );
  });

  test('the cases JSON would change take the v8 path', () => {
    for (const value of [
      undefined,
      [undefined],
      { a: undefined },
      NaN,
      -0,
      Infinity,
      [1, , 3],
      2n,
      new Map([[1, 2]]),
      new Date(5),
      new Uint8Array([1]),
      new Error('x'),
    ]) {
      expect(encodeFrame(value)[FRAME_HEADER_BYTES]).toBe(0x56);
      expect(decoded(value)).toStrictEqual(cloned(value));
    }
    expect(
      encodeFrame({ t: 'call', rid: 1, id: 2, method: 'm', args: ['x', 1.5, null, true] })[
        FRAME_HEADER_BYTES
      ],
    ).toBe(0x4a);
    // A reply's `v: undefined` (a method returning nothing) stays on the JSON path.
    const reply = encodeFrame({ rid: 3, v: undefined });
    expect(reply[FRAME_HEADER_BYTES]).toBe(0x4a);
    expect(
      (decodePayload(reply.subarray(FRAME_HEADER_BYTES)) as { v?: unknown }).v,
    ).toBeUndefined();
    // …but not a user value's undefined member.
    expect(encodeFrame({ rid: 3, v: { a: undefined } })[FRAME_HEADER_BYTES]).toBe(0x56);
  });

  test('an unknown kind byte or a broken payload throws', () => {
    expect(() => decodePayload(Buffer.from([0x41, 1, 2]))).toThrow(/unknown payload kind/);
    expect(() => decodePayload(Buffer.from([0x4a, 0x7b]))).toThrow();
    expect(() => decodePayload(Buffer.from([0x56, 0xff]))).toThrow();
  });
});

describe('FrameReader', () => {
  test('frames come out whole and in order however the stream is cut', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 20 }),
        fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 10 }),
        (payloads, cuts) => {
          const stream = Buffer.concat(
            payloads.flatMap((payload) => {
              const header = Buffer.alloc(4);
              header.writeUInt32BE(payload.length);
              return [header, Buffer.from(payload)];
            }),
          );
          const out: Buffer[] = [];
          const reader = new FrameReader(1000, (payload) => out.push(Buffer.from(payload)));
          let offset = 0;
          for (let i = 0; offset < stream.length; i++) {
            const size = cuts[i % cuts.length]!;
            reader.push(stream.subarray(offset, offset + size));
            offset += size;
          }
          expect(out.map((b) => [...b])).toEqual(payloads.map((p) => [...p]));
        },
      ),
    );
  });

  test('a frame announcing more than the limit is refused before it is read', () => {
    const reader = new FrameReader(10, () => undefined);
    expect(() => reader.push(Buffer.from([0, 0, 0, 11]))).toThrow(FrameError);
  });
});

describe('authkey handshake', () => {
  /** Two connected in-memory duplex ends. */
  function pair() {
    const toServer = new PassThrough();
    const toClient = new PassThrough();
    const writeToServer = toServer.write.bind(toServer);
    const writeToClient = toClient.write.bind(toClient);
    const endToServer = toServer.end.bind(toServer);
    const endToClient = toClient.end.bind(toClient);
    const duplex = (readable: PassThrough, write: (chunk: Buffer) => boolean, end: () => void) =>
      Object.assign(readable, {
        write,
        end: (chunk?: Buffer) => {
          if (chunk) write(chunk);
          end();
          return readable;
        },
      });
    return {
      server: duplex(toServer, writeToClient, () => endToClient()),
      client: duplex(toClient, writeToServer, () => endToServer()),
    };
  }

  test('the same key passes both ways; different keys are refused on both sides', async () => {
    const good = pair();
    await expect(
      Promise.all([
        authenticateClient(good.server as never, Buffer.from('k'), 1000),
        authenticateServer(good.client as never, Buffer.from('k'), 1000),
      ]),
    ).resolves.toBeDefined();

    const bad = pair();
    const [server, client] = await Promise.allSettled([
      authenticateClient(bad.server as never, Buffer.from('server key'), 1000),
      authenticateServer(bad.client as never, Buffer.from('client key'), 1000),
    ]);
    expect(server).toMatchObject({ status: 'rejected', reason: expect.any(HandshakeError) });
    expect((server as PromiseRejectedResult).reason.kind).toBe('refused');
    expect(client).toMatchObject({ status: 'rejected' });
    expect((client as PromiseRejectedResult).reason.message).toMatch(/refused the authkey/);
  });

  test('a peer that says nothing times out; one that is not our protocol is refused', async () => {
    const silent = pair();
    await expect(authenticateClient(silent.server as never, Buffer.from('k'), 50)).rejects.toThrow(
      /within 50 ms/,
    );
    const stranger = pair();
    const answer = authenticateServer(stranger.client as never, Buffer.from('k'), 1000);
    stranger.server.write(Buffer.alloc(40, 0x20));
    await expect(answer).rejects.toThrow(/not a @managers server/);
  });
});
