/** The inspector in a real browser: headless Chromium driven by playwright-core. */
import { once } from 'node:events';
import type { Worker } from 'node:worker_threads';
import { createWorker, release, tokenOf } from '@managers/core';
import { attributes, cells, launchBrowser, waitForCount } from './browser';
import { HOLDER_WORKER, startFixture, WORKER_EXEC_ARGV } from './helpers';

jest.setTimeout(60_000);

/** Starts the fixture worker holding `proxies` (or ignoring them); resolves once it says `first`. */
async function startHolder(
  workerData: Record<string, unknown>,
  first: string,
): Promise<Worker & AsyncDisposable> {
  const worker = createWorker(HOLDER_WORKER, { workerData, execArgv: WORKER_EXEC_ARGV });
  const [message] = (await once(worker, 'message')) as [string];
  expect(message).toBe(first);
  return Object.assign(worker, {
    async [Symbol.asyncDispose]() {
      await worker.terminate();
    },
  });
}

test('the page lists the objects and the holders', async () => {
  await using fixture = await startFixture();
  const { manager, inspector } = fixture;
  const mag = await manager.Magnifier(3);
  const dict = await manager.Dict();
  await dict.set('mag', mag);
  await using browser = await launchBrowser();
  const { page } = browser;
  await page.goto(inspector.url);
  await page.waitForSelector('#live.on');
  const magId = tokenOf(mag).id;
  const dictId = tokenOf(dict).id;
  const objects = await cells(page, '#objects-body tr.object-row');
  expect(objects).toEqual([
    [`#${magId}`, 'Magnifier', 'Magnifier(coef=3)', '2', 'main server', '', expect.any(String)],
    [`#${dictId}`, 'Dict', 'Dict(mag)', '1', 'main', `#${magId}`, expect.any(String)],
  ]);
  const holders = await cells(page, '#holders-body tr.holder-row');
  expect(holders).toEqual([
    ['main', 'thread', 'connected', '2', `#${magId} #${dictId}`, expect.any(String)],
    ['server', 'server', 'in hosted objects', '1', `#${magId}`, expect.any(String)],
  ]);
  expect(await page.locator('#graph-body svg g.object').count()).toBe(2);
  expect(await page.locator('#graph-body svg g.edge.proxy').count()).toBe(1);
  await browser.screenshot('objects-and-holders');
  release(mag);
  await dict.delete('mag');
  release(dict);
  await expect(manager).toHaveNoLiveObjects();
  await page.waitForSelector('#objects-body p.empty');
});

test('a create, a handoff to a worker and releases appear live within 1 s, without reload', async () => {
  await using fixture = await startFixture();
  const { manager, inspector } = fixture;
  await using browser = await launchBrowser();
  const { page } = browser;
  let navigations = 0;
  page.on('framenavigated', () => navigations++);
  await page.goto(inspector.url);
  await page.waitForSelector('#live.on');
  await page.evaluate('window.sameDocument = true');
  const within = { timeout: 1000 };

  const mag = await manager.Magnifier(7);
  const id = tokenOf(mag).id;
  const row = `#objects-body tr.object-row[data-id="${id}"]`;
  await page.waitForSelector(row, within);
  expect(await page.textContent(`${row} .repr`)).toBe('Magnifier(coef=7)');
  await page.waitForSelector(`#trace-body tr[data-op="create"][data-id="${id}"]`, within);

  {
    await using worker = await startHolder({ proxies: [mag] }, 'holding');
    const holder = `thread-${worker.threadId}`;
    await page.waitForSelector(`#holders-body tr[data-holder="${holder}"]`, within);
    expect(await page.textContent(`${row} .refcount`)).toBe('2');
    await page.waitForSelector(`#trace-body tr[data-op="handoff"][data-id="${id}"]`, within);
    await page.waitForSelector(`#trace-body tr[data-op="adopt"][data-holder="${holder}"]`, within);
    await browser.screenshot('live-handoff');
    worker.postMessage('release');
    expect((await once(worker, 'message'))[0]).toBe('released');
    await page.waitForSelector(`#holders-body tr[data-holder="${holder}"]`, {
      ...within,
      state: 'detached',
    });
    expect(await page.textContent(`${row} .refcount`)).toBe('1');
  }

  release(mag);
  await page.waitForSelector(row, { ...within, state: 'detached' });
  await page.waitForSelector(`#trace-body tr[data-op="dispose"][data-id="${id}"]`, within);
  expect(await page.evaluate('window.sameDocument')).toBe(true);
  expect(navigations).toBe(1);
  await expect(manager).toHaveNoLiveObjects();
});

test('clicking an object shows the events of its life', async () => {
  await using fixture = await startFixture();
  const { manager, inspector } = fixture;
  const mag = await manager.Magnifier(2);
  const other = await manager.Magnifier(4);
  const dict = await manager.Dict();
  await dict.set('a', mag);
  await dict.set('b', mag);
  await dict.delete('b');
  const id = tokenOf(mag).id;
  await using browser = await launchBrowser();
  const { page } = browser;
  await page.goto(inspector.url);
  await page.waitForSelector('#live.on');
  await page.click(`#objects-body tr.object-row[data-id="${id}"] td.repr`);
  await page.waitForSelector(`#object-body .object-detail[data-id="${id}"]`);
  expect(page.url()).toContain(`object=${id}`);
  const life = (await cells(page, '#object-body tr[data-seq]')).map((row) => [
    row[3],
    row[2],
    row[5],
    row[8],
  ]);
  expect(life).toEqual(
    [
      [`#${id}`, 'create', 'main', 'create Magnifier'],
      [`#${id}`, 'incref', 'server', 'passed to Dict.set()'],
      [`#${id}`, 'incref', 'server', 'passed to Dict.set()'],
      [`#${id}`, 'decref', 'server', 'server-side proxy released'],
    ].reverse(),
  );
  expect(await page.textContent('#object-body .refcount')).toBe('2');
  // The life grows live while it is open.
  release(mag);
  await page.waitForSelector(`#object-body tr[data-op="decref"][data-holder="main"]`, {
    timeout: 1000,
  });
  await browser.screenshot('object-life');
  // Clicking an object in the graph opens that one.
  await page.click(`#graph-body g.object[data-id="${tokenOf(other).id}"]`);
  await page.waitForSelector(`#object-body .object-detail[data-id="${tokenOf(other).id}"]`);
  release(other);
  await dict.delete('a');
  release(dict);
  await expect(manager).toHaveNoLiveObjects();
});

test('the trace filters by id, typeid, holder and op, and new rows obey the filter', async () => {
  await using fixture = await startFixture();
  const { manager, inspector } = fixture;
  const mag = await manager.Magnifier(2);
  const dict = await manager.Dict();
  await dict.set('m', mag);
  await using browser = await launchBrowser();
  const { page } = browser;
  await page.goto(inspector.url);
  await page.waitForSelector('#live.on');
  const rows = () =>
    attributes(page, '#trace-body tr', ['data-op', 'data-id', 'data-typeid', 'data-holder']);
  const magId = tokenOf(mag).id;
  const dictId = tokenOf(dict).id;
  expect(await rows()).toEqual([
    `incref ${magId} Magnifier server`,
    `create ${dictId} Dict main`,
    `create ${magId} Magnifier main`,
  ]);
  await page.selectOption('#filters select[name=op]', 'create');
  await waitForCount(page, '#trace-body tr', 2);
  expect(await rows()).toEqual([`create ${dictId} Dict main`, `create ${magId} Magnifier main`]);
  expect(page.url()).toContain('op=create');
  await page.fill('#filters input[name=typeid]', 'dict');
  await waitForCount(page, '#trace-body tr', 1);
  expect(await rows()).toEqual([`create ${dictId} Dict main`]);
  await browser.screenshot('filtered-trace');
  // A live event that does not match stays out; one that matches comes in.
  const second = await manager.Dict();
  const third = await manager.Magnifier(9);
  await page.waitForSelector(`#trace-body tr[data-id="${tokenOf(second).id}"]`, { timeout: 1000 });
  await page.waitForSelector(`#objects-body tr[data-id="${tokenOf(third).id}"]`, { timeout: 1000 });
  expect(await rows()).toEqual([
    `create ${tokenOf(second).id} Dict main`,
    `create ${dictId} Dict main`,
  ]);
  // Holder and id.
  await page.fill('#filters input[name=typeid]', '');
  await page.selectOption('#filters select[name=op]', '');
  await page.fill('#filters input[name=holder]', 'server');
  await waitForCount(page, '#trace-body tr', 1);
  expect(await rows()).toEqual([`incref ${magId} Magnifier server`]);
  await page.fill('#filters input[name=holder]', '');
  await page.fill('#filters input[name=id]', String(magId));
  await waitForCount(page, '#trace-body tr', 2, { attribute: 'data-id', value: String(magId) });
  release(second);
  release(third);
  release(mag);
  await dict.delete('m');
  release(dict);
  await expect(manager).toHaveNoLiveObjects();
});

test('warnings appear live: a handoff never adopted, an object held only by the server on a cycle', async () => {
  await using fixture = await startFixture({ handoffWarningMs: 300 });
  const { manager, inspector } = fixture;
  await using browser = await launchBrowser();
  const { page } = browser;
  await page.goto(inspector.url);
  await page.waitForSelector('#live.on');
  const mag = await manager.Magnifier(1);
  {
    await using worker = await startHolder({ ignore: true, proxies: [mag] }, 'ignoring');
    void worker;
    await page.waitForSelector('#warnings-body li[data-kind="unadopted-handoff"]', {
      timeout: 1500,
    });
    expect(await page.textContent('#warnings-body')).toMatch(
      /handoff:main>\d+ was handed off .* ago and never adopted/,
    );
  }
  // The worker ended: its unread handoff port closed and the server dropped the reference.
  await page.waitForSelector('#warnings-body li[data-kind="unadopted-handoff"]', {
    state: 'detached',
    timeout: 2000,
  });

  const first = await manager.Dict();
  const second = await manager.Dict();
  await first.set('next', second);
  await second.set('back', first);
  release(second);
  const secondId = tokenOf(second).id;
  // The warning may first show before the object graph is re-read (the page updates at most
  // every 50 ms): wait, within the same second, for its final words.
  const cycleWarning = `#${secondId} Dict is held only by the server (proxies inside #${tokenOf(first).id}), on a cycle: it lives as long as they hold it`;
  await page.waitForFunction(
    (text) =>
      (
        globalThis as unknown as {
          document: { querySelector(selector: string): { textContent: string | null } | null };
        }
      ).document
        .querySelector('#warnings-body')
        ?.textContent?.includes(text) === true,
    cycleWarning,
    { timeout: 1000 },
  );
  expect(await page.textContent('#warnings-body')).toContain(cycleWarning);
  expect(await page.locator('#graph-body g.edge.proxy.cyclic').count()).toBe(2);
  expect(await page.locator(`#graph-body g.object.cyclic[data-id="${secondId}"]`).count()).toBe(1);
  await browser.screenshot('warnings');
  await first.delete('next');
  await page.waitForSelector('#warnings-body li[data-kind="server-only"]', {
    state: 'detached',
    timeout: 1000,
  });
  release(first);
  release(mag);
  await expect(manager).toHaveNoLiveObjects();
});
