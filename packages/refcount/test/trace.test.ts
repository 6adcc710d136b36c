import diagnosticsChannel from 'node:diagnostics_channel';
import { performance } from 'node:perf_hooks';
import {
  ObjectTable,
  TRACE_CHANNEL_NAME,
  TraceBuffer,
  formatTrace,
  traceChannel,
  type TraceEvent,
} from '../src';
import { Res, T, typeInfo } from './helpers';

/** What the table stamps events with: the monotonic clock in epoch milliseconds. */
function monotonicNow(): number {
  return performance.timeOrigin + performance.now();
}

const FIELDS = [
  'seq',
  'time',
  'op',
  'id',
  'typeid',
  'holder',
  'delta',
  'refcount',
  'cause',
  'table',
].sort();

describe('diagnostics_channel', () => {
  it('publishes every change as a typed event on TRACE_CHANNEL_NAME', () => {
    const events: TraceEvent[] = [];
    const listener = (message: unknown) => events.push(message as TraceEvent);
    diagnosticsChannel.subscribe(TRACE_CHANNEL_NAME, listener);
    try {
      expect(traceChannel.name).toBe(TRACE_CHANNEL_NAME);
      const table = new ObjectTable({ name: 'dc' });
      const before = monotonicNow();
      const id = table.register(new Res('r'), typeInfo('Mag'), 'main', 'create Mag');
      table.incref(id, 'w1', 'handoff to w1', 1, 'handoff');
      table.adopt('w1', 'w2', 'received');
      table.releaseHolder('w2', 'thread exited');
      table.decref(id, 'main', 'proxy released');
      table.traceReject('bad message', 77, 'w9');
      const after = monotonicNow();
      expect(
        events.map((e) => [
          e.seq,
          e.op,
          e.id,
          e.typeid,
          e.holder,
          e.delta,
          e.refcount,
          e.cause,
          e.table,
        ]),
      ).toEqual([
        [1, 'create', id, 'Mag', 'main', 1, 1, 'create Mag', 'dc'],
        [2, 'handoff', id, 'Mag', 'w1', 1, 2, 'handoff to w1', 'dc'],
        [3, 'adopt', id, 'Mag', 'w2', 0, 2, 'received (from w1)', 'dc'],
        [4, 'release-holder', id, 'Mag', 'w2', -1, 1, 'thread exited', 'dc'],
        [5, 'decref', id, 'Mag', 'main', -1, 0, 'proxy released', 'dc'],
        [6, 'dispose', id, 'Mag', '', 0, 0, 'refcount reached zero', 'dc'],
        [7, 'reject', 77, '', 'w9', 0, 0, 'bad message', 'dc'],
      ]);
      for (const e of events) {
        expect(Object.keys(e).sort()).toEqual(FIELDS);
        // Event times come from the monotonic clock (timeOrigin + now), read here the same
        // way: Date.now() follows the wall clock, which a time sync may step by seconds.
        expect(e.time).toBeGreaterThanOrEqual(before);
        expect(e.time).toBeLessThanOrEqual(after);
      }
      // times never go backwards
      expect(events.map((e) => e.time)).toEqual(
        [...events.map((e) => e.time)].sort((a, b) => a - b),
      );
      expect(table.trace()).toEqual([]); // ring buffer off by default
    } finally {
      diagnosticsChannel.unsubscribe(TRACE_CHANNEL_NAME, listener);
    }
  });

  it('a rejected operation publishes nothing and seq keeps counting without subscribers', () => {
    const table = new ObjectTable({ name: 'quiet' });
    const id = table.register({}, T, 'a'); // seq 1, nobody listening
    const events: TraceEvent[] = [];
    const listener = (message: unknown) => events.push(message as TraceEvent);
    diagnosticsChannel.subscribe(TRACE_CHANNEL_NAME, listener);
    try {
      expect(() => table.decref(id, 'b')).toThrow();
      table.decref(id, 'a');
      expect(events.map((e) => [e.seq, e.op])).toEqual([
        [2, 'decref'],
        [3, 'dispose'],
      ]);
    } finally {
      diagnosticsChannel.unsubscribe(TRACE_CHANNEL_NAME, listener);
    }
  });

  it('onTrace receives the same events', () => {
    const seen: TraceEvent[] = [];
    const table = new ObjectTable({ onTrace: (e) => seen.push(e) });
    const id = table.register({}, T, 'a');
    table.decref(id, 'a');
    expect(seen.map((e) => e.op)).toEqual(['create', 'decref', 'dispose']);
    expect(seen[0]!.table).toBe('table');
  });
});

describe('ring buffer', () => {
  it('is bounded: keeps the last N events, oldest first', () => {
    const table = new ObjectTable({ traceBufferSize: 5 });
    const id = table.register({}, T, 'a');
    for (let i = 0; i < 10; i++) table.incref(id, 'a');
    expect(table.trace().map((e) => e.seq)).toEqual([7, 8, 9, 10, 11]);
    expect(table.trace().map((e) => e.refcount)).toEqual([7, 8, 9, 10, 11]);
    table.releaseHolder('a');
    expect(table.trace().map((e) => e.op)).toEqual([
      'incref',
      'incref',
      'incref',
      'release-holder',
      'dispose',
    ]);
  });

  it('can be turned on, resized and off', () => {
    const table = new ObjectTable();
    const id = table.register({}, T, 'a');
    expect(table.trace()).toEqual([]);
    table.setTraceBufferSize(2);
    table.incref(id, 'a');
    expect(table.trace().map((e) => e.seq)).toEqual([2]);
    table.setTraceBufferSize(0);
    table.incref(id, 'a');
    expect(table.trace()).toEqual([]);
    table.releaseHolder('a');
  });

  it('TraceBuffer wraps around and clears', () => {
    const buffer = new TraceBuffer(3);
    const ev = (seq: number) => ({ seq }) as TraceEvent;
    expect(buffer.toArray()).toEqual([]);
    [1, 2].forEach((s) => buffer.push(ev(s)));
    expect(buffer.toArray().map((e) => e.seq)).toEqual([1, 2]);
    [3, 4, 5, 6, 7].forEach((s) => buffer.push(ev(s)));
    expect(buffer.toArray().map((e) => e.seq)).toEqual([5, 6, 7]);
    buffer.clear();
    expect(buffer.toArray()).toEqual([]);
    buffer.push(ev(8));
    expect(buffer.toArray().map((e) => e.seq)).toEqual([8]);
  });
});

describe('formatTrace', () => {
  it('prints one aligned line per event', () => {
    const base = 1_700_000_000_000;
    const events: TraceEvent[] = [
      {
        seq: 1,
        time: base,
        op: 'create',
        id: 1,
        typeid: 'Magnifier',
        holder: 'main',
        delta: 1,
        refcount: 1,
        cause: 'create Mag',
        table: 't',
      },
      {
        seq: 3,
        time: base + 0.21,
        op: 'decref',
        id: 1,
        typeid: 'Magnifier',
        holder: 'main',
        delta: -1,
        refcount: 0,
        cause: 'released',
        table: 't',
      },
      {
        seq: 4,
        time: base + 1.5,
        op: 'reject',
        id: 0,
        typeid: '',
        holder: '',
        delta: 0,
        refcount: 0,
        cause: 'bad message',
        table: 't',
      },
    ];
    const lines = formatTrace(events).split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(
      /^#1 +\+0\.000ms create +id=1 Magnifier +holder=main +\+1 → 1 +create Mag$/,
    );
    expect(lines[1]).toMatch(
      /^#3 +\+0\.210ms decref +id=1 Magnifier +holder=main +-1 → 0 +released$/,
    );
    expect(lines[2]).toMatch(/^#4 +\+1\.500ms reject +- +0 → 0 +bad message$/);
    // columns line up
    expect(lines[0]!.indexOf('id=1')).toBe(lines[1]!.indexOf('id=1'));
    expect(lines[0]!.indexOf('→')).toBe(lines[1]!.indexOf('→'));
    expect(formatTrace(events, { since: base - 1 }).split('\n')[0]).toContain('+1.000ms');
    expect(formatTrace([])).toBe('(no trace events)');
  });

  it('formats a real table trace', () => {
    const table = new ObjectTable({ traceBufferSize: 10 });
    const id = table.register(new Res('r'), typeInfo('Res'), 'main');
    table.decref(id, 'main');
    const text = formatTrace(table.trace());
    expect(text).toContain('create');
    expect(text).toContain(`id=${id} Res`);
    expect(text).toContain('dispose');
    expect(text.split('\n')).toHaveLength(3);
  });
});

test('setTraceListener adds and removes the per-event listener', () => {
  const table = new ObjectTable({ name: 'listener' });
  const seen: string[] = [];
  table.setTraceListener((event) => seen.push(event.op));
  const id = table.register({}, { typeid: 'T', exposed: [], methodToTypeid: {} }, 'main');
  table.setTraceListener(undefined);
  table.decref(id, 'main');
  expect(seen).toEqual(['create']);
  expect(table.numberOfObjects()).toBe(0);
});
