/** The hand-written request checks accept exactly what the zod schemas accept. */
import { MessageChannel } from 'node:worker_threads';
import fc from 'fast-check';
import { isWellFormedRequest } from '../src/protocol';
import { requestSchema } from '../src/protocol-schemas';

describe('isWellFormedRequest agrees with the zod requestSchema', () => {
  const { port1, port2 } = new MessageChannel();
  afterAll(() => {
    port1.close();
    port2.close();
  });

  const samples: unknown[] = [
    { t: 'call', rid: 1, id: 2, method: 'scale', args: [3] },
    { t: 'call', rid: 1.5, id: 2, method: 'scale', args: [] },
    { t: 'call', rid: 1, id: 2, method: '', args: [] },
    { t: 'create', rid: 0, typeid: 'Counter', args: [] },
    { t: 'create', rid: -1, typeid: 'Counter', args: [] },
    { t: 'create', rid: 0, typeid: '', args: [] },
    { t: 'create', rid: 0, typeid: 'Counter' },
    { t: 'release', ids: [1, 2, 3] },
    { t: 'release', ids: [1, '2'] },
    { t: 'release' },
    { t: 'handoff', key: 'main>2', ids: [1] },
    { t: 'handoff', key: 'main>2', ids: [1], port: port1 },
    { t: 'handoff', key: 'main>2', ids: [1], port: {} },
    { t: 'handoff', key: '', ids: [] },
    { t: 'spare', key: 'AAAAAAAAAAAAAAAAAAAAAA', port: port1 },
    { t: 'spare', key: 'AAAAAAAAAAAAAAAAAAAAAA', port: {} },
    { t: 'handoff', key: 'AAAAAAAAAAAAAAAAAAAAAA', ids: [1] },
    { t: 'export', key: 'AAAAAAAAAAAAAAAAAAAAAA', ids: [] },
    { t: 'export', key: 'AAAAAAAAAAAAAAAAAAAAAA', ids: [1, 2] },
    { t: 'export', key: 'short', ids: [1] },
    { t: 'claim', key: 'AAAAAAAAAAAAAAAAAAAAAA' },
    { t: 'claim', key: 'short' },
    { t: 'ack', ok: [1], lost: [] },
    { t: 'ack', ok: [1] },
    { t: 'lend', key: 'AAAAAAAAAAAAAAAAAAAAAA', ids: [1, 2] },
    { t: 'keep', key: 'AAAAAAAAAAAAAAAAAAAAAA', id: 3 },
    { t: 'keep', key: 'AAAAAAAAAAAAAAAAAAAAAA', id: -3 },
    { t: 'sync', port: port1, buffer: new SharedArrayBuffer(8) },
    { t: 'sync', port: port1, buffer: new ArrayBuffer(8) },
    { t: 'call', rid: 1, id: 2, method: 'm', args: [], s: 1 },
    { t: 'call', rid: 1, id: 2, method: 'm', args: [], s: 2 },
    { t: 'adopt', into: 'main>1' },
    { t: 'hello', label: 'main' },
    { t: 'hello', label: '' },
    { t: 'nope' },
    null,
    'call',
    [],
  ];

  test.each(samples.map((sample) => [sample]))('%o', (sample) => {
    expect(isWellFormedRequest(sample)).toBe(requestSchema.safeParse(sample).success);
  });

  test('random requests', () => {
    const anyValue = fc.oneof(
      fc.constantFrom('AAAAAAAAAAAAAAAAAAAAAA', 'abc-_DEFGHIJKLMNOPQRSTUV'),
      fc.integer({ min: -2, max: 3 }),
      fc.double(),
      fc.string({ maxLength: 3 }),
      fc.constant(undefined),
      fc.array(fc.integer({ min: -1, max: 3 }), { maxLength: 3 }),
      fc.array(fc.string({ maxLength: 2 }), { maxLength: 2 }),
    );
    const request = fc.record(
      {
        t: fc.constantFrom(
          'call',
          'create',
          'release',
          'spare',
          'handoff',
          'export',
          'claim',
          'ack',
          'lend',
          'unlend',
          'borrow',
          'unborrow',
          'keep',
          'hello',
          'other',
        ),
        rid: anyValue,
        id: anyValue,
        method: anyValue,
        typeid: anyValue,
        args: anyValue,
        ids: anyValue,
        key: anyValue,
        label: anyValue,
        ok: anyValue,
        lost: anyValue,
        s: anyValue,
      },
      { requiredKeys: ['t'] },
    );
    fc.assert(
      fc.property(request, (message) => {
        expect(isWellFormedRequest(message)).toBe(requestSchema.safeParse(message).success);
      }),
      { numRuns: 5000 },
    );
  });
});
