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
    { t: 'adopt', into: 'main>1' },
    { t: 'adopt', into: 3 },
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
      fc.integer({ min: -2, max: 3 }),
      fc.double(),
      fc.string({ maxLength: 3 }),
      fc.constant(undefined),
      fc.array(fc.integer({ min: -1, max: 3 }), { maxLength: 3 }),
      fc.array(fc.string({ maxLength: 2 }), { maxLength: 2 }),
    );
    const request = fc.record(
      {
        t: fc.constantFrom('call', 'create', 'release', 'handoff', 'adopt', 'hello', 'other'),
        rid: anyValue,
        id: anyValue,
        method: anyValue,
        typeid: anyValue,
        args: anyValue,
        ids: anyValue,
        key: anyValue,
        into: anyValue,
        label: anyValue,
      },
      { requiredKeys: ['t'] },
    );
    fc.assert(
      fc.property(request, (message) => {
        expect(isWellFormedRequest(message)).toBe(requestSchema.safeParse(message).success);
      }),
      { numRuns: 2000 },
    );
  });
});
