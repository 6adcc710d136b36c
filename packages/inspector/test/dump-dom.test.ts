/**
 * An independent check, without playwright: Chromium's own `--dump-dom` loads the page, runs
 * its script and prints the DOM, where the typeids, ids, holders and trace events must be.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { release, tokenOf } from '@managers/core';
import { chromiumPath, CHROMIUM_ARGS } from './browser';
import { startFixture, text } from './helpers';

jest.setTimeout(60_000);

test('chromium --dump-dom shows typeids, ids, holders and trace events', async () => {
  const executable = chromiumPath();
  await using fixture = await startFixture({ token: 'dump-dom-check-token-0001' });
  const { manager, inspector } = fixture;
  const mag = await manager.Magnifier(6);
  const dict = await manager.Dict();
  await dict.set('six', mag);
  const profile = mkdtempSync(join(tmpdir(), 'inspector-dump-'));
  let dom: string;
  try {
    ({ stdout: dom } = await promisify(execFile)(
      executable,
      [...CHROMIUM_ARGS, `--user-data-dir=${profile}`, '--dump-dom', inspector.url],
      { timeout: 45_000, maxBuffer: 16 * 1024 * 1024 },
    ));
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
  const shown = text(dom);
  const magId = tokenOf(mag).id;
  const dictId = tokenOf(dict).id;
  // The DOM after the page's script ran (it replaces the no-JavaScript label).
  expect(dom).not.toContain('static page (JavaScript off)');
  expect(shown).toContain(`#${magId} Magnifier Magnifier(coef=6) 2 main server`);
  expect(shown).toContain(`#${dictId} Dict Dict(six) 1 main #${magId}`);
  expect(shown).toMatch(/main thread connected 2 #\d+ #\d+/);
  expect(shown).toContain(`incref #${magId} Magnifier server +1 2 passed to Dict.set()`);
  expect(shown).toContain(`create #${dictId} Dict main +1 1 create Dict`);
  expect(shown).toContain(`create #${magId} Magnifier main +1 1 create Magnifier`);
  release(mag);
  await dict.delete('six');
  release(dict);
  await expect(manager).toHaveNoLiveObjects();
});
