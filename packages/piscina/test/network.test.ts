/**
 * A ManagedPool in a client process, its tasks carrying a remote manager's proxies: the pool
 * threads connect to the manager over sockets of their own (issue: network).
 */
import { fork } from 'node:child_process';
import { installRefcountMatchers } from '@managers/refcount/jest';
import { PoolManager } from './fixtures/managers';
import { eventually, tableBecomesEmpty } from './helpers';

installRefcountMatchers();

test('pool tasks in another process carry its remote proxies; nothing is left behind', async () => {
  await using manager = await PoolManager.start({
    module: require.resolve('./fixtures/managers'),
    address: { host: '127.0.0.1', port: 0 },
    authkey: 'pool-secret',
  });
  const child = fork(require.resolve('./fixtures/remote-pool-child'), [], {
    execArgv: ['--conditions=@managers/source', '--require', require.resolve('tsx/cjs')],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    await new Promise((resolve) => child.once('message', resolve));
    child.send({ address: manager.address, authkey: 'pool-secret' });
    const report = await new Promise<Record<string, unknown>>((resolve) =>
      child.once('message', resolve),
    );
    expect(report.error).toBeUndefined();
    expect(report.results).toEqual([...Array(20).keys()]);
    expect(report).toMatchObject({ value: 20, length: 20 });
    // The tasks' proxies were lent by the client's main thread (one lease per task), and the
    // pool threads, which have no port to this manager, borrowed them over sockets of their own.
    const trace = await manager.trace();
    const loans = trace.filter((event) => event.op === 'handoff');
    expect(loans).toHaveLength(40);
    expect(loans.every((event) => /^lease:main\.pid-\d+>/.test(event.holder))).toBe(true);
    expect(trace.filter((event) => event.op === 'reject')).toEqual([]);
    await eventually(async () => (await manager.numberOfObjects()) === 0);
    await expect(manager).toHaveNoLiveObjects();
  } finally {
    child.kill('SIGKILL');
  }
}, 60_000);

test('a lender whose socket closes while its task runs: the task finishes and its lease ends with it, while the pool thread lives on', async () => {
  await using manager = await PoolManager.start({
    module: require.resolve('./fixtures/managers'),
    address: { host: '127.0.0.1', port: 0 },
    authkey: 'pool-secret',
  });
  const child = fork(require.resolve('./fixtures/remote-pool-disconnect-child'), [], {
    execArgv: ['--conditions=@managers/source', '--require', require.resolve('tsx/cjs')],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = () =>
    new Promise<Record<string, unknown> | string>((resolve) => child.once('message', resolve));
  try {
    await next();
    child.send({ address: manager.address, authkey: 'pool-secret' });
    const report = (await next()) as Record<string, unknown>;
    expect(report.error).toBeUndefined();
    expect(report.value).toBe(2);
    // The pool thread is still connected: the lease did not wait for it to end.
    await tableBecomesEmpty(manager);
    child.send('finish');
    expect(await next()).toBe('done');
    await expect(manager).toHaveNoLiveObjects();
  } finally {
    child.kill('SIGKILL');
  }
}, 60_000);
