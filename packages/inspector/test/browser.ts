import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Where the browser tests save their screenshots (CI keeps this folder as an artefact). */
export const ARTIFACTS = resolve(__dirname, '..', '..', '..', 'artifacts', 'inspector');

/** The flags every test browser starts with. */
export const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * The `chromium` on PATH. Missing, it is a failure, never a skip: the inspector is only
 * tested if a real browser runs it.
 */
export function chromiumPath(): string {
  try {
    const path = execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim();
    if (path) return path;
  } catch {
    // handled below
  }
  throw new Error(
    "chromium is not installed, so the inspector's browser tests cannot run: install Debian's chromium (apt-get update && apt-get install -y chromium; .ci/run does this when it is missing)",
  );
}

/** A headless Chromium with a fresh profile, and one page in it; disposing closes both. */
export interface TestBrowser extends AsyncDisposable {
  readonly page: Page;
  readonly context: BrowserContext;
  /** Saves a full-page screenshot as artifacts/inspector/<name>.png; returns its path. */
  screenshot(name: string): Promise<string>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  const executablePath = chromiumPath();
  const profile = mkdtempSync(join(tmpdir(), 'inspector-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: false, // --headless=new is in the arguments
      args: CHROMIUM_ARGS,
      viewport: { width: 1360, height: 900 },
      timeout: 30_000,
    });
  } catch (error) {
    rmSync(profile, { recursive: true, force: true });
    throw error;
  }
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(5000);
  return {
    page,
    context,
    async screenshot(name: string) {
      mkdirSync(ARTIFACTS, { recursive: true });
      const path = join(ARTIFACTS, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
    async [Symbol.asyncDispose]() {
      try {
        await context.close();
      } finally {
        rmSync(profile, { recursive: true, force: true });
      }
    },
  };
}

// The tests' type-check has no DOM library: code that runs in the page is passed as text.

/** The trimmed text of each cell of each row matched by `selector`. */
export function cells(page: Page, selector: string): Promise<string[][]> {
  return page.evaluate(
    `Array.from(document.querySelectorAll(${JSON.stringify(selector)}), (row) => Array.from(row.querySelectorAll('td'), (cell) => cell.textContent.trim()))`,
  ) as Promise<string[][]>;
}

/** The values of `names` (attributes) of each element matched by `selector`, joined by spaces. */
export function attributes(
  page: Page,
  selector: string,
  names: readonly string[],
): Promise<string[]> {
  return page.evaluate(
    `Array.from(document.querySelectorAll(${JSON.stringify(selector)}), (element) => ${JSON.stringify(names)}.map((name) => element.getAttribute(name)).join(' '))`,
  ) as Promise<string[]>;
}

/** Waits until exactly `count` elements match `selector` and all pass `every` (an attribute test). */
export async function waitForCount(
  page: Page,
  selector: string,
  count: number,
  every?: { attribute: string; value: string },
  timeout = 2000,
): Promise<void> {
  const test = every
    ? ` && Array.from(document.querySelectorAll(${JSON.stringify(selector)})).every((element) => element.getAttribute(${JSON.stringify(every.attribute)}) === ${JSON.stringify(every.value)})`
    : '';
  const expression = `document.querySelectorAll(${JSON.stringify(selector)}).length === ${count}${test}`;
  // Not page.waitForFunction: it evaluates text with eval, which the page's CSP forbids.
  const deadline = Date.now() + timeout;
  while (!(await page.evaluate(expression))) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeout} ms waiting for ${count} × ${selector}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
