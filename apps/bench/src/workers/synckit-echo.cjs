// synckit's worker for workload 9: the same echo as the manager's Echo.ping (plain CommonJS,
// so that synckit needs no TypeScript loader).
const { runAsWorker } = require('synckit');
runAsWorker((value) => value);
