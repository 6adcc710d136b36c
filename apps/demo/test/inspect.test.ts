/** `pnpm demo --inspect`: prints the inspector's URL, serves it until Ctrl-C, then ends cleanly. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';

jest.setTimeout(60_000);

test('the demo with --inspect prints a URL that serves the page, and stops on SIGINT', async () => {
  const child = spawn(
    process.execPath,
    [
      '--conditions=@managers/source',
      '--import',
      'tsx',
      join(__dirname, '..', 'src', 'main.ts'),
      '--inspect',
    ],
    { cwd: join(__dirname, '..'), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
  try {
    const deadline = Date.now() + 45_000;
    while (!/live at (http:\/\/127\.0\.0\.1:\d+\/)/.test(output) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 50));
    const url = /live at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(output)?.[1];
    expect(url).toBeDefined();
    const page = await (await fetch(url!)).text();
    for (const typeid of ['Counter', 'Mag', 'Shelf']) expect(page).toContain(`>${typeid}<`);
    expect(page).toContain('data-kind="server-only"');
    // Still running: nothing ended it.
    expect(child.exitCode).toBeNull();
    child.kill('SIGINT');
    const [code] = await exited;
    expect(code).toBe(0);
    // The demo released everything before shutting its manager down.
    expect(output).toContain('number_objects = 0');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
