import { release } from '@managers/core';
import { ContainerManager } from './fixtures/containers';

const start = () => ContainerManager.start({ module: require.resolve('./fixtures/containers') });
const settle = () => new Promise((resolve) => setTimeout(resolve, 10));

describe('nested proxies (server-side references, R6)', () => {
  test('a map holding a list keeps it alive after every client proxy is released; deleting the key disposes it', async () => {
    await using manager = await start();
    const dict = await manager.Dict();
    const list = await manager.List();
    await list.append(1);
    await dict.set('inner', list);
    let entries = await manager.entries();
    expect(entries.find((entry) => entry.typeid === 'List')!.holders).toEqual({
      main: 1,
      server: 1,
    });
    release(list);
    await settle();
    entries = await manager.entries();
    expect(entries.map((entry) => [entry.typeid, entry.refcount])).toEqual([
      ['Dict', 1],
      ['List', 1],
    ]);
    // A stored proxy returned from a method gives the caller a new counted proxy.
    const again = (await dict.get('inner')) as typeof list;
    expect(await again.length()).toBe(1);
    expect((await manager.entries()).find((entry) => entry.typeid === 'List')!.refcount).toBe(2);
    release(again);
    expect(await dict.delete('inner')).toBe(true);
    await settle();
    expect((await manager.entries()).map((entry) => entry.typeid)).toEqual(['Dict']);
    release(dict);
    await settle();
    expect(await manager.numberOfObjects()).toBe(0);
  });

  test('disposing the map releases the list it holds (cascade), and the table ends empty', async () => {
    await using manager = await start();
    const dict = await manager.Dict();
    const inner = await manager.Dict();
    const list = await manager.List();
    await inner.set('list', list);
    await dict.set('inner', inner);
    release(list);
    release(inner);
    await settle();
    expect(await manager.numberOfObjects()).toBe(3);
    release(dict);
    await settle();
    expect(await manager.numberOfObjects()).toBe(0);
    const disposed = (await manager.trace())
      .filter((event) => event.op === 'dispose')
      .map((event) => event.typeid);
    expect(disposed).toEqual(['Dict', 'Dict', 'List']);
  });

  test('a list stored in itself is a cycle held by the server: clearing it breaks the cycle', async () => {
    await using manager = await start();
    const list = await manager.List();
    await list.append(list);
    expect((await manager.entries())[0]!.holders).toEqual({ main: 1, server: 1 });
    await list.clear();
    await settle();
    expect((await manager.entries())[0]!.refcount).toBe(1);
    release(list);
    await settle();
    expect(await manager.numberOfObjects()).toBe(0);
  });
});
