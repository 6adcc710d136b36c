// task.ts: the Piscina pool's task file. defineTask() decodes the proxies of each task and
// releases them when the task ends.
import { defineTask } from '@managers/piscina';
import { asSyncProxy } from '@managers/sync';
import type { TallyProxy } from './managers.js';

export interface WordTask {
  tally: TallyProxy;
  lengths: object;
  word: string;
}

export default defineTask(async ({ tally, lengths, word }: WordTask) => {
  await asSyncProxy<string, number>(lengths, 'Map').set(word.toUpperCase(), word.length);
  return tally.add(word);
});
