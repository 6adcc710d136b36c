/** Workload 8: Python's multiprocessing manager on workloads 1, 3 and 6 (a separate process). */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { formatNs, formatRate } from '../measure';
import type { Section } from '../report';

export interface PythonResult {
  readonly python: string;
  readonly call_ns?: number;
  readonly create_ns?: number;
  readonly map1_ops?: number;
  readonly map4_ops?: number;
}

/** Runs python/mp_bench.py; resolves with its figures, or a reason why there are none. */
export function runPython(quick: boolean): Promise<PythonResult | { skipped: string }> {
  const script = join(__dirname, '..', '..', 'python', 'mp_bench.py');
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    const child = spawn('python3', [script, ...(quick ? ['--quick'] : [])], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), quick ? 60_000 : 300_000);
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({
        skipped: error.code === 'ENOENT' ? 'python3 not found' : `python3 failed: ${error.message}`,
      });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) {
        const last = stderr.trim().split('\n').slice(-1)[0] ?? '';
        resolve({ skipped: `python3 exited with ${signal ?? code}${last ? `: ${last}` : ''}` });
        return;
      }
      try {
        resolve(JSON.parse(stdout.trim().split('\n').slice(-1)[0]!) as PythonResult);
      } catch {
        resolve({ skipped: `python3 printed no JSON: ${stdout.slice(0, 200)}` });
      }
    });
  });
}

export function pythonSection(result: PythonResult | { skipped: string }): Section {
  const section: Section = {
    id: '8',
    title: "Python's multiprocessing manager (spawn)",
    rows: [],
    notes: [],
  };
  if ('skipped' in result) {
    section.skipped = result.skipped;
    return section;
  }
  const rows = section.rows;
  if (result.call_ns !== undefined)
    rows.push({
      variant: 'proxy.ping(), one outstanding',
      display: formatNs(result.call_ns),
      value: result.call_ns,
      unit: 'ns/op',
    });
  if (result.create_ns !== undefined)
    rows.push({
      variant: 'manager.Counter() + del',
      display: formatNs(result.create_ns),
      value: result.create_ns,
      unit: 'ns/op',
    });
  if (result.map1_ops !== undefined)
    rows.push({
      variant: 'Map set/get, 1 client',
      display: formatRate(result.map1_ops),
      value: result.map1_ops,
      unit: 'ops/s',
    });
  if (result.map4_ops !== undefined)
    rows.push({
      variant: 'Map set/get, 4 client processes',
      display: formatRate(result.map4_ops),
      value: result.map4_ops,
      unit: 'ops/s',
    });
  section.notes.push(
    `Python ${result.python}; these figures also appear, as ratios, in sections 1, 3 and 6`,
  );
  return section;
}
