/** The inspector over plain HTTP: options, access rules, the page without JavaScript, the SSE stream. */
import { request } from 'node:http';
import { release, tokenOf } from '@managers/core';
import { startInspector } from '@managers/inspector';
import { InspectedManager, REGISTRY_MODULE } from './fixtures/registry';
import { get, startFixture, text, waitFor } from './helpers';

test('bad options are rejected naming the option; another host needs allowRemote', async () => {
  await using manager = await InspectedManager.start({ module: REGISTRY_MODULE });
  const reject = (options: unknown) =>
    startInspector(manager, options as never).then(
      () => 'resolved',
      (error: { code: string; message: string }) => `${error.code}: ${error.message}`,
    );
  expect(await reject({ port: -1 })).toMatch(/^ERR_INVALID_OPTION: options\.port must be/);
  expect(await reject({ port: 70000 })).toMatch(/options\.port must be at most 65535/);
  expect(await reject({ host: '0.0.0.0' })).toMatch(
    /options\.host '0\.0\.0\.0' is not a loopback address.*allowRemote: true/,
  );
  expect(await reject({ token: 'short' })).toMatch(/options\.token must be at least 16/);
  expect(await reject({ colour: 'red' })).toMatch(/options\.colour is not an option/);
  expect(await reject({ allowRemote: 'yes' })).toMatch(/options\.allowRemote must be a boolean/);
  // Past what a timer holds (2^31 - 1 ms): it would fire at once, and over and over.
  expect(await reject({ handoffWarningMs: 2 ** 31 })).toMatch(
    /options\.handoffWarningMs must be an integer from 0 to 2147483647/,
  );
  // A proxy, not the manager: refused, not a crash (a proxy answers every name with a method).
  const proxy = await manager.Magnifier(2);
  const refused = await startInspector(proxy as never).then(
    () => 'resolved',
    (error: { code: string; message: string }) => `${error.code}: ${error.message}`,
  );
  expect(refused).toMatch(
    /^ERR_INVALID_OPTION: startInspector\(\) needs a started manager, got a proxy/,
  );
  release(proxy);
  await using taken = await startInspector(manager);
  expect(await reject({ port: taken.port })).toMatch(
    new RegExp(
      `^ERR_INVALID_OPTION: options\\.port ${taken.port} on options\\.host '127\\.0\\.0\\.1' cannot be listened on: .*EADDRINUSE`,
    ),
  );
  await expect(manager).toHaveNoLiveObjects();
});

test('a token, once set, is required on every request (403 without it)', async () => {
  await using fixture = await startFixture({ token: 'a-secret-token-of-24-chars' });
  const { inspector, manager } = fixture;
  expect(inspector.url).toBe(
    `http://127.0.0.1:${inspector.port}/?token=a-secret-token-of-24-chars`,
  );
  const base = `http://127.0.0.1:${inspector.port}`;
  for (const path of ['/', '/events', '/page.js', '/snapshot.json', '/nowhere']) {
    const response = await get(`${base}${path}`);
    expect([path, response.status]).toEqual([path, 403]);
    expect(response.body).toContain('needs its token');
  }
  expect((await get(`${base}/?token=wrong-token-wrong-token`)).status).toBe(403);
  const page = await get(inspector.url);
  expect(page.status).toBe(200);
  // Every link the page makes carries the token.
  expect(page.body).toContain('href="/page.css?token=a-secret-token-of-24-chars"');
  expect(page.body).toContain('data-events="/events?token=a-secret-token-of-24-chars"');
  expect((await get(`${base}/nowhere?token=a-secret-token-of-24-chars`)).status).toBe(404);
  await expect(manager).toHaveNoLiveObjects();
});

test('allowRemote on a non-loopback address generates a token and refuses requests without it', async () => {
  await using fixture = await startFixture({ host: '0.0.0.0', allowRemote: true });
  const { inspector, manager } = fixture;
  const token = new URL(inspector.url).searchParams.get('token');
  expect(token).toMatch(/^[\w-]{32}$/);
  expect((await get(`http://127.0.0.1:${inspector.port}/`)).status).toBe(403);
  expect((await get(`http://127.0.0.1:${inspector.port}/?token=${token}`)).status).toBe(200);
  await expect(manager).toHaveNoLiveObjects();
});

test('on loopback without a token, a Host header that is not loopback is refused (DNS rebinding)', async () => {
  await using fixture = await startFixture();
  const { inspector, manager } = fixture;
  expect(inspector.url).toBe(`http://127.0.0.1:${inspector.port}/`);
  expect((await get(inspector.url, { Host: `evil.example:${inspector.port}` })).status).toBe(403);
  expect((await get(inspector.url, { Host: `localhost:${inspector.port}` })).status).toBe(200);
  await expect(manager).toHaveNoLiveObjects();
});

test('without JavaScript the page lists objects, holders, the graph and the trace; ?object and filters work', async () => {
  await using fixture = await startFixture();
  const { inspector, manager } = fixture;
  const mag = await manager.Magnifier(3);
  const dict = await manager.Dict();
  await dict.set('mag', mag);
  const magId = tokenOf(mag).id;
  const dictId = tokenOf(dict).id;
  const page = await get(inspector.url);
  expect(page.status).toBe(200);
  expect(page.headers['content-security-policy']).toContain("default-src 'none'");
  const shown = text(page.body);
  expect(shown).toContain(`#${magId} Magnifier Magnifier(coef=3) 2 main server`);
  // A repr is text, never markup.
  const hostile = await manager.Dict();
  await hostile.set('<img src=x onerror=alert(1)>', 1);
  const escaped = (await get(inspector.url)).body;
  expect(escaped).toContain('Dict(&lt;img src=x onerror=alert(1)&gt;)');
  expect(escaped).not.toContain('<img');
  release(hostile);
  expect(shown).toContain(`#${dictId} Dict Dict(mag) 1 main #${magId}`);
  expect(shown).toMatch(
    /Threads and connections .* main thread connected 2 #1 #2 .* server server in hosted objects 1 #1/,
  );
  expect(shown).toContain(`incref #${magId} Magnifier server +1 2 passed to Dict.set()`);
  expect(shown).toContain(`create #${dictId} Dict main +1 1 create Dict`);
  expect(page.body).toContain('<svg class="graph"');
  expect(page.body).toMatch(
    new RegExp(`class="edge proxy"><title>#${dictId} holds 1 server-side proxy to #${magId}`),
  );
  // Nothing from the internet.
  expect(page.body).not.toMatch(/(src|href)="(https?:)?\/\//);

  const filtered = text((await get(`${inspector.url}?op=create&typeid=dict`)).body);
  expect(filtered).toContain(`create #${dictId} Dict`);
  expect(filtered).not.toContain(`create #${magId} Magnifier`);
  expect(filtered).not.toContain('passed to Dict.set()');

  const life = text((await get(`${inspector.url}?object=${magId}`)).body);
  expect(life).toMatch(
    /Object #1 Magnifier Magnifier\(coef=3\) close refcount 2 .* 2 events of its life/,
  );

  release(mag);
  await dict.delete('mag');
  release(dict);
  await expect(manager).toHaveNoLiveObjects();
  expect(await waitFor(() => inspector.snapshot().objects.length === 0)).toBe(true);
  const after = text((await get(`${inspector.url}?object=${magId}`)).body);
  expect(after).toContain(`#${magId} disposed`);
  expect(after).toMatch(/dispose #1 Magnifier 0 refcount reached zero/);
});

test('the SSE stream sends the state, then each trace event and a new state as it happens', async () => {
  await using fixture = await startFixture();
  const { inspector, manager } = fixture;
  const frames: string[] = [];
  const stream = request(`${inspector.url}events`);
  const connected = new Promise<void>((resolve) => {
    stream.on('response', (response) => {
      expect(response.headers['content-type']).toBe('text/event-stream; charset=utf-8');
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => frames.push(...chunk.split('\n\n').filter(Boolean)));
      resolve();
    });
  });
  stream.on('error', () => undefined);
  stream.end();
  try {
    await connected;
    expect(await waitFor(() => frames.some((frame) => frame.startsWith('event: state')))).toBe(
      true,
    );
    const before = frames.length;
    const mag = await manager.Magnifier(5);
    expect(
      await waitFor(() =>
        frames
          .slice(before)
          .some((frame) => frame.startsWith('event: state') && frame.includes('Magnifier(coef=5)')),
      ),
    ).toBe(true);
    const trace = frames
      .slice(before)
      .filter((frame) => frame.startsWith('event: trace'))
      .map((frame) => JSON.parse(frame.slice(frame.indexOf('data: ') + 6)));
    expect(trace[0].events[0]).toMatchObject({ op: 'create', typeid: 'Magnifier', holder: 'main' });
    release(mag);
    await expect(manager).toHaveNoLiveObjects();
  } finally {
    stream.destroy();
  }
});

test('a manager made by connect() cannot be inspected; a manager shut down shows as closed', async () => {
  await using fixture = await startFixture();
  const { manager, inspector } = fixture;
  const connected = await InspectedManager.connect(manager.handle());
  const refused = await startInspector(connected).then(
    () => undefined,
    (error: { code: string; message: string }) => error,
  );
  expect(refused).toMatchObject({
    code: 'ERR_NOT_OWNER',
    message: expect.stringContaining('needs the manager that started the server'),
  });
  const mag = await manager.Magnifier(8);
  expect(await waitFor(() => inspector.snapshot().objects.length === 1)).toBe(true);
  release(mag);
  await expect(manager).toHaveNoLiveObjects();
  await manager.shutdown();
  const page = text((await get(inspector.url)).body);
  expect(page).toContain('0 live objects');
  expect(page).toContain('manager closed');
});
