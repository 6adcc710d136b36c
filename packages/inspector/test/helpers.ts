import { request } from 'node:http';
import { installRefcountMatchers } from '@managers/refcount/jest';
import { startInspector, type Inspector, type InspectorOptions } from '@managers/inspector';
import { InspectedManager, REGISTRY_MODULE } from './fixtures/registry';

installRefcountMatchers();

/** The fixture worker, started by the caller's extension (see TOOLCHAIN.md). */
export const HOLDER_WORKER = require.resolve('./fixtures/holder-worker');
export const WORKER_EXEC_ARGV = [
  '--conditions=@managers/source',
  '--require',
  require.resolve('tsx/cjs'),
];

export type Manager = Awaited<ReturnType<typeof InspectedManager.start>>;

/** A started manager and an inspector on it; disposing closes the inspector, then the manager. */
export interface Fixture extends AsyncDisposable {
  readonly manager: Manager;
  readonly inspector: Inspector;
}

export async function startFixture(options: InspectorOptions = {}): Promise<Fixture> {
  const manager = await InspectedManager.start({ module: REGISTRY_MODULE });
  let inspector: Inspector;
  try {
    inspector = await startInspector(manager, options);
  } catch (error) {
    await manager.shutdown();
    throw error;
  }
  return {
    manager,
    inspector,
    async [Symbol.asyncDispose]() {
      try {
        await inspector.close();
      } finally {
        await manager.shutdown();
      }
    },
  };
}

/** A GET with full control of the headers (fetch cannot set Host); resolves status and body. */
export function get(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, body, headers: response.headers }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

/** Polls `check` (every 10 ms) until it returns true or `ms` pass. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  ms = 2000,
): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return check();
}

/** The text of an HTML page with the tags removed (what `curl | html2text` would show). */
export function text(html: string): string {
  return html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');
}
