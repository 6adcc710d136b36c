/** registerPool(SyncManager): Python's `SyncManager().Pool()`. */
import { join } from 'node:path';
import { SyncPoolManager } from './fixtures/sync-pool-managers';
import { tableBecomesEmpty } from './helpers';

const MODULE = join(__dirname, 'fixtures', 'sync-pool-managers.ts');
const TASKS = join(__dirname, 'fixtures', 'sync-pool-tasks.ts');

test('test_pool: a SyncManager with registerPool hosts a pool whose tasks use the manager’s List', async () => {
  await using manager = await SyncPoolManager.start({ module: MODULE });
  {
    await using list = await manager.List<number>();
    await using pool = await manager.Pool({ filename: TASKS, maxThreads: 2 });
    // Python: pool.map(sqr, range(10)) == [x*x for x in range(10)]
    const items = [...Array(10).keys()];
    expect(await pool.map(items.map((item) => ({ list, item })))).toEqual(items.map((x) => x * x));
    expect((await list.copy()).sort((a, b) => a - b)).toEqual(items);
  }
  await tableBecomesEmpty(manager);
});

test('TestInitializers.test_pool_initializer: Pool(1, initializer, (ns,)) increments ns.test once', async () => {
  await using manager = await SyncPoolManager.start({ module: MODULE });
  {
    await using ns = await manager.Namespace({ test: 0 });
    await using list = await manager.List<number>();
    await using pool = await manager.Pool({
      filename: TASKS,
      maxThreads: 1,
      initializer: 'initializer',
      initializerArgs: [ns],
    });
    // Python runs it when the worker starts; here before the thread's first task.
    expect(await pool.map([1, 2, 3].map((item) => ({ list, item })))).toEqual([1, 4, 9]);
    await pool.close();
    expect(await ns.get('test')).toBe(1);
  }
  await tableBecomesEmpty(manager);
});
