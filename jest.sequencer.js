/**
 * jest's default order, except that the tests which rely on garbage collection (a proxy
 * collected without release gives its reference back through a FinalizationRegistry) run
 * first, in a fresh jest worker. After several other test files in the same worker, V8 was
 * seen to run finalization callbacks later than these tests wait for (never in a fresh worker,
 * nor in an application).
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Sequencer = require('@jest/test-sequencer').default;

const GC_TESTS = ['/packages/core/test/release.test.ts'];

class GarbageCollectionFirst extends Sequencer {
  async sort(tests) {
    const sorted = await super.sort(tests);
    const first = sorted.filter((test) => GC_TESTS.some((path) => test.path.endsWith(path)));
    return [...first, ...sorted.filter((test) => !first.includes(test))];
  }
}

module.exports = GarbageCollectionFirst;
