/**
 * Takes docs/inspector.png, the README's screenshot, from a running inspector:
 *
 *   pnpm demo --inspect --port=47123 &
 *   npx tsx --conditions=@managers/source packages/inspector/test/take-readme-screenshot.ts http://127.0.0.1:47123/
 *
 * (Not a test: jest runs only *.test.ts.)
 */
import { resolve } from 'node:path';
import { launchBrowser } from './browser';

async function main(url: string, output: string): Promise<void> {
  await using browser = await launchBrowser();
  const { page } = browser;
  await page.setViewportSize({ width: 1280, height: 1000 });
  await page.goto(url);
  await page.waitForSelector('#live.on');
  // Show one object's life, as a user clicking it would.
  await page.click('#objects-body tr.object-row:nth-child(2) td.repr');
  await page.waitForSelector('#object-body .object-detail');
  await page.waitForTimeout(300);
  await page.screenshot({ path: output, fullPage: false });
  console.log(`saved ${output}`);
}

const [url, output = resolve(__dirname, '..', '..', '..', 'docs', 'inspector.png')] =
  process.argv.slice(2);
if (!url) {
  console.error('usage: take-readme-screenshot.ts URL [output.png]');
  process.exitCode = 1;
} else {
  main(url, output).catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
