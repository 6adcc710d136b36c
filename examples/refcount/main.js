// main.js: the object table without threads. Holders are whoever owns references (in the
// runtime: one per thread's connection); the object is disposed when the last one is gone.
const { ObjectTable } = require('@managers/refcount');

class Connection {
  [Symbol.dispose]() {
    console.log('disposed: the last reference is gone');
  }
}

const table = new ObjectTable({ name: 'example', traceBufferSize: 100 });
const type = { typeid: 'Connection', exposed: [], methodToTypeid: {} };
const id = table.register(new Connection(), type, 'main'); // main holds 1
table.incref(id, 'thread-2'); // a worker holds 1 too
console.log('refcount', table.refcount(id), JSON.stringify(table.holders(id)));
table.releaseHolder('thread-2', 'thread-2 exited'); // its thread ended: all its references go
table.decref(id, 'main'); // main releases its proxy: 0, disposed
console.log('objects left', table.numberOfObjects());
console.log(
  table
    .trace()
    .map((event) => `${event.op} ${event.holder || '-'} → ${event.refcount}`)
    .join('\n'),
);
