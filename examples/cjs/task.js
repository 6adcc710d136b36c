// task.js: the Piscina pool's task file. defineTask() decodes the proxies of each task and
// releases them when the task ends.
const { defineTask } = require('@managers/piscina');

module.exports = defineTask(async ({ tally, lengths, word }) => {
  await lengths.set(word.toUpperCase(), word.length);
  return tally.add(word);
});
