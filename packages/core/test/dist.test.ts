/** The runtime works from built dist/ with plain node, as a user's compiled app runs it. */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
test('a JavaScript registry module starts and serves from dist/ (`pnpm test` builds first)', async () => {
  expect(existsSync(join(__dirname, '..', 'dist', 'index.js'))).toBe(true);
  const { stdout } = await run(process.execPath, [join(__dirname, 'fixtures', 'dist-main.js')], {
    timeout: 30_000,
  });
  const result = JSON.parse(stdout.trim()) as { sum: number; left: number; core: string };
  expect(result.sum).toBe(42);
  expect(result.left).toBe(0);
  expect(result.core).toMatch(/packages[\\/]core[\\/]dist[\\/]index\.js$/);
});

test('a registry module that starts its own manager when imported fails at once, saying why', async () => {
  const started = Date.now();
  const failure = await run(process.execPath, [join(__dirname, 'fixtures', 'self-starting.mjs')], {
    timeout: 30_000,
  }).then(
    () => undefined,
    (error: { code?: unknown; stderr: string }) => error,
  );
  expect(failure?.code).toBe(1);
  expect(failure?.stderr).toContain('ERR_START_FAILED');
  expect(failure?.stderr).toContain(
    "start() was called while a manager's server worker was loading its registry module",
  );
  expect(failure?.stderr).toContain('isMainThread');
  // Not after the 30 s start timeout, with a server worker nested in each server worker.
  expect(Date.now() - started).toBeLessThan(15_000);
});
