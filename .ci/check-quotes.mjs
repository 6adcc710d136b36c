// Checks that the code blocks the READMEs quote from files are those files, word for word, so
// that documentation cannot drift from the examples CI runs. A quoted block is a fenced code
// block right after a line `<!-- quote: path/from/the/repository/root -->` (blank lines
// between the two are allowed).
// Usage: node .ci/check-quotes.mjs   (exit code 1 on any difference)
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const readmes = ['README.md', 'docs/design.md'];
for (const folder of ['packages', 'examples'])
  for (const entry of readdirSync(join(root, folder), { withFileTypes: true }))
    if (entry.isDirectory() && existsSync(join(root, folder, entry.name, 'README.md')))
      readmes.push(join(folder, entry.name, 'README.md'));

let quotes = 0;
let failures = 0;
for (const readme of readmes) {
  const path = join(root, readme);
  if (!existsSync(path)) continue;
  const lines = readFileSync(path, 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const marker = /^<!-- quote: (\S+) -->$/.exec(lines[i].trim());
    if (marker === null) continue;
    quotes++;
    let start = i + 1;
    while (lines[start] !== undefined && lines[start].trim() === '') start++;
    const fence = lines[start] ?? '';
    if (!fence.startsWith('```')) {
      console.log(`${readme}:${i + 1}: a quote marker must be followed by a fenced code block`);
      failures++;
      continue;
    }
    const end = lines.indexOf('```', start + 1);
    const block = lines.slice(start + 1, end).join('\n');
    const quotedPath = join(root, marker[1]);
    if (!existsSync(quotedPath)) {
      console.log(`${readme}:${i + 1}: quotes ${marker[1]}, which does not exist`);
      failures++;
      continue;
    }
    const file = readFileSync(quotedPath, 'utf8').replace(/\n$/, '');
    if (block !== file) {
      console.log(`${readme}:${i + 1}: the block differs from ${relative(root, quotedPath)}`);
      failures++;
    }
  }
}
console.log(`quotes: ${quotes} checked, ${failures} differ`);
process.exit(failures === 0 && quotes > 0 ? 0 : 1);
