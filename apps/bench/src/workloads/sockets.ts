/**
 * Workload 10: across processes, over sockets. Two managers listen in this process (a Unix
 * domain socket and TCP loopback, each its own server worker); a forked client process
 * (workers/net-client.ts) connects to both and runs the rounds. Beside them, in the same run
 * and interleaved with them: Python's BaseManager over AF_UNIX and AF_INET (its own server
 * processes, its client a third process: python/mp_socket_bench.py), and the floor, a bare
 * `net` echo server here answering the same client process.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatRate, interleave, type InterleaveResult, type Variant } from '../measure';
import { formatRatio, timeRow, type Row, type Section } from '../report';
import { BenchManager, type Context, type Manager } from './context';
import { WINDOW } from './call';
import { ClientProcess, EchoServer, PythonDriver, type PythonReady } from './socket-peers';

const TRANSPORTS = [
  { id: 'unix', label: 'Unix socket', python: 'unix' },
  { id: 'tcp', label: 'TCP loopback', python: 'inet' },
] as const;
type TransportId = (typeof TRANSPORTS)[number]['id'];

/**
 * Python's client-thread counts in the throughput rounds; its best median is compared with
 * ours. Over TCP every Python connection costs ≥ 40 ms here (its handshake's back-to-back
 * small writes wait on a delayed ACK: it does not set TCP_NODELAY; ~1 ms on a Unix socket),
 * and its server authenticates them one at a time, so 256 threads would take about a minute
 * to connect; on the Unix socket 256 threads are measured too.
 */
const PYTHON_THREADS: Record<'full' | 'quick', Record<TransportId, readonly number[]>> = {
  full: { unix: [1, 4, 16, 64, WINDOW], tcp: [1, 4, 16, 64] },
  quick: { unix: [4], tcp: [4] },
};

interface Peers {
  readonly client: ClientProcess;
  readonly python: PythonDriver | undefined;
}

const nsOf = (reply: Record<string, unknown>) => reply.ns as number;

function ours(peers: Peers, transport: TransportId, metric: string, bounds: Bounds): Variant {
  return {
    name: `ours-${transport}`,
    ...bounds,
    run: async (ops) =>
      nsOf(
        await peers.client.request({
          t: 'run',
          variant: 'ours',
          transport,
          metric,
          ops,
          window: WINDOW,
        }),
      ),
  };
}

function raw(peers: Peers, transport: TransportId, metric: string, bounds: Bounds): Variant {
  return {
    name: `raw-${transport}`,
    ...bounds,
    run: async (ops) =>
      nsOf(
        await peers.client.request({
          t: 'run',
          variant: 'raw',
          transport,
          metric,
          ops,
          window: WINDOW,
        }),
      ),
  };
}

function python(
  driver: PythonDriver,
  name: string,
  family: string,
  metric: string,
  bounds: Bounds,
  threads?: number,
): Variant {
  return {
    name,
    ...bounds,
    run: async (ops) =>
      nsOf(
        await driver.request({ t: 'run', family, metric, ops, ...(threads ? { threads } : {}) }),
      ),
  };
}

interface Bounds {
  readonly minOps?: number;
  readonly maxOps?: number;
}

/** A rate row (`/s`) whose ratio is rate ÷ the baseline's rate. */
function rateRow(
  variant: string,
  nsPerOp: number,
  ratio: number,
  baseline: string,
  atLeast?: number,
  note?: string,
): Row {
  const row: Row = {
    variant,
    display: formatRate(1e9 / nsPerOp),
    value: 1e9 / nsPerOp,
    unit: 'ops/s',
    ratio,
    ratioKind: 'rate',
    baseline,
    ...(note === undefined ? {} : { note }),
  };
  return atLeast === undefined
    ? row
    : { ...row, target: `≥ ${atLeast}× ${baseline}`, met: ratio >= atLeast };
}

/** `(1.23× raw)`, for a row whose ratio column holds another baseline. */
function besides(ratio: number, baseline: string): string {
  return formatRatio({ variant: '', display: '', value: 0, unit: 'ns/op', ratio, baseline });
}

/** Polls until `manager` hosts nothing (the client process's references released), or 3 s. */
async function objectsLeft(manager: Manager): Promise<number> {
  const deadline = Date.now() + 3_000;
  let count = await manager.numberOfObjects();
  while (count > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    count = await manager.numberOfObjects();
  }
  return count;
}

export async function crossProcess(ctx: Context): Promise<Section> {
  const section: Section = { id: '10', title: 'cross-process (sockets)', rows: [], notes: [] };
  const directory = mkdtempSync(join(tmpdir(), 'managers-bench-'));
  const authkey = randomBytes(16).toString('hex');
  const module = require.resolve('../registry');
  const managers: Partial<Record<TransportId, Manager>> = {};
  const echoServers: EchoServer[] = [];
  let client: ClientProcess | undefined;
  let driver: PythonDriver | undefined;
  try {
    const [unixManager, tcpManager, unixEcho, tcpEcho] = await Promise.all([
      BenchManager.start({
        module,
        name: 'bench-unix',
        address: { path: join(directory, 'managers.sock') },
        authkey,
      }),
      BenchManager.start({
        module,
        name: 'bench-tcp',
        address: { host: '127.0.0.1', port: 0 },
        authkey,
      }),
      EchoServer.listen({ path: join(directory, 'raw.sock') }),
      EchoServer.listen({ host: '127.0.0.1', port: 0 }),
    ]);
    managers.unix = unixManager;
    managers.tcp = tcpManager;
    echoServers.push(unixEcho, tcpEcho);

    driver = new PythonDriver(authkey, join(directory, 'python.sock'));
    let pythonInfo: PythonReady | undefined;
    try {
      pythonInfo = await driver.ready;
    } catch (error) {
      section.skipped = `Python rows: ${(error as Error).message}`;
      await driver.close();
      driver = undefined;
    }

    client = await ClientProcess.start();
    await client.request({
      t: 'setup',
      authkey,
      managers: { unix: unixManager.address, tcp: tcpManager.address },
      raw: { unix: unixEcho.address, tcp: tcpEcho.address },
    });
    const peers: Peers = { client, python: driver };
    const quick = ctx.quick;

    // 1. One call outstanding.
    ctx.log('   10a. latency, one outstanding');
    const latencyBounds: Bounds = quick ? { maxOps: 100 } : {};
    const latency = await interleave(
      TRANSPORTS.flatMap(({ id, python: family }) => [
        raw(peers, id, 'latency', latencyBounds),
        ours(peers, id, 'latency', latencyBounds),
        ...(driver ? [python(driver, `python-${id}`, family, 'latency', latencyBounds)] : []),
      ]),
      ctx.measure,
    );

    // 2. 256 calls outstanding. Python at several client-thread counts, every one of them
    // interleaved with the rest: its best median is the one ours is compared with.
    ctx.log('   10b. throughput, 256 outstanding');
    const threadCounts = PYTHON_THREADS[quick ? 'quick' : 'full'];
    if (driver) {
      for (const { id, python: family } of TRANSPORTS) {
        for (const threads of threadCounts[id]) {
          // Connects the threads (one at a time, see the script) before any round is timed.
          await driver.request({ t: 'run', family, metric: 'throughput', ops: threads, threads });
        }
      }
    }
    const windowBounds: Bounds = quick
      ? { minOps: WINDOW, maxOps: 2 * WINDOW }
      : { minOps: WINDOW };
    const throughput = await interleave(
      TRANSPORTS.flatMap(({ id, python: family }) => [
        raw(peers, id, 'throughput', windowBounds),
        ours(peers, id, 'throughput', windowBounds),
        ...(driver === undefined
          ? []
          : threadCounts[id].map((threads) =>
              python(
                driver!,
                `python${threads}-${id}`,
                family,
                'throughput',
                {
                  minOps: threads,
                  ...(quick ? { maxOps: 2 * WINDOW } : {}),
                },
                threads,
              ),
            )),
      ]),
      { ...ctx.measure, warmupOps: Math.max(ctx.measure.warmupOps, 4 * WINDOW) },
    );
    const pythonBest = new Map<TransportId, number>();
    if (driver) {
      for (const { id, python: family } of TRANSPORTS) {
        const medians = threadCounts[id].map(
          (threads) => [threads, throughput.variants[`python${threads}-${id}`]!.nsPerOp] as const,
        );
        const best = medians.reduce((a, b) => (b[1] < a[1] ? b : a))[0];
        pythonBest.set(id, best);
        section.notes.push(
          `Python ${family} throughput by client threads (a proxy and connection each), medians: ${medians.map(([threads, ns]) => `${threads}: ${formatRate(1e9 / ns)}`).join(', ')}; best: ${best}`,
        );
      }
    }

    // 3. Create + release (the raw round trip as the floor).
    ctx.log('   10c. create + release');
    const createBounds: Bounds = quick ? { maxOps: 20 } : {};
    const create = await interleave(
      TRANSPORTS.flatMap(({ id, python: family }) => [
        raw(peers, id, 'latency', latencyBounds),
        ours(peers, id, 'create', createBounds),
        ...(driver
          ? [python(driver, `python-${id}`, family, 'create', quick ? { maxOps: 2 } : {})]
          : []),
      ]),
      // Python's create + del opens four connections (create, the proxy's incref, the create's
      // decref, the del's decref): milliseconds on a
      // Unix socket, over 100 ms on TCP. Its warm-up starts small.
      { ...ctx.measure, warmupOps: 5 },
    );

    section.rows.push(...rows(latency, throughput, create, driver !== undefined, pythonBest));
    const chunks = (result: InterleaveResult) =>
      Object.values(result.variants)
        .map((v) => `${v.name} ${v.opsPerChunk}`)
        .join(', ');
    section.notes.push(
      `one client process (forked) runs ours and the raw ping-pong against this process (a server worker per manager; the echo server on the main thread); ${pythonInfo === undefined ? 'Python skipped' : `Python ${pythonInfo.python}: BaseManager servers (spawn) with an authkey, its client a third process`}; every round timed inside its client process; ${ctx.measure.reps} interleaved rounds per variant, medians, ratios paired per round`,
      `ops per round: latency ${chunks(latency)}; throughput ${chunks(throughput)}; create ${chunks(create)}`,
      `raw: 8-byte messages echoed by a bare net server, one write() each; ours throughput: ${WINDOW} concurrent awaiting loops on one proxy; create + release: the raw row is the one-outstanding round trip`,
    );
  } finally {
    await client?.close();
    await driver?.close();
    const left = await Promise.all(
      TRANSPORTS.map(async ({ id }) => {
        const manager = managers[id];
        return manager === undefined ? undefined : `${id} ${await objectsLeft(manager)}`;
      }),
    );
    section.notes.push(
      `hosted objects left once the client process exited: ${left.filter(Boolean).join(', ')}`,
    );
    await Promise.all([
      ...Object.values(managers).map((manager) => manager.shutdown()),
      ...echoServers.map((server) => server.close()),
    ]);
    rmSync(directory, { recursive: true, force: true });
  }
  return section;
}

function rows(
  latency: InterleaveResult,
  throughput: InterleaveResult,
  create: InterleaveResult,
  withPython: boolean,
  pythonBest: ReadonlyMap<TransportId, number>,
): Row[] {
  const out: Row[] = [];
  for (const { id, label } of TRANSPORTS) {
    const ns = (result: InterleaveResult, name: string) =>
      result.variants[`${name}-${id}`]!.nsPerOp;
    const ratio = (result: InterleaveResult, a: string, b: string) =>
      result.timeRatio(`${a}-${id}`, `${b}-${id}`);

    out.push(
      timeRow(`${label}: raw socket ping-pong, one outstanding`, ns(latency, 'raw'), 1, 'raw'),
    );
    if (withPython) {
      out.push(
        {
          ...timeRow(
            `${label}: ours: await proxy.ping()`,
            ns(latency, 'ours'),
            ratio(latency, 'ours', 'python'),
            'Python',
            1.0,
          ),
          note: besides(ratio(latency, 'ours', 'raw'), 'raw'),
        },
        timeRow(
          `${label}: Python manager: proxy.ping()`,
          ns(latency, 'python'),
          ratio(latency, 'python', 'raw'),
          'raw',
        ),
      );
    } else {
      out.push(
        timeRow(
          `${label}: ours: await proxy.ping()`,
          ns(latency, 'ours'),
          ratio(latency, 'ours', 'raw'),
          'raw',
        ),
      );
    }

    out.push(
      rateRow(`${label}: raw socket, ${WINDOW} outstanding`, ns(throughput, 'raw'), 1, 'raw'),
    );
    const oursRate = (b: string) => 1 / ratio(throughput, 'ours', b);
    if (withPython) {
      const best = pythonBest.get(id)!;
      out.push(
        rateRow(
          `${label}: ours: proxy.ping(), ${WINDOW} outstanding`,
          ns(throughput, 'ours'),
          oursRate(`python${best}`),
          'Python',
          10,
          besides(oursRate('raw'), 'raw'),
        ),
        rateRow(
          `${label}: Python manager: ${best} client thread${best === 1 ? '' : 's'}, a proxy each (its best)`,
          ns(throughput, `python${best}`),
          1 / ratio(throughput, `python${best}`, 'raw'),
          'raw',
        ),
      );
      if (best !== WINDOW && throughput.variants[`python${WINDOW}-${id}`] !== undefined) {
        out.push(
          rateRow(
            `${label}: Python manager: ${WINDOW} client threads, a proxy each`,
            ns(throughput, `python${WINDOW}`),
            1 / ratio(throughput, `python${WINDOW}`, 'raw'),
            'raw',
          ),
        );
      }
    } else {
      out.push(
        rateRow(
          `${label}: ours: proxy.ping(), ${WINDOW} outstanding`,
          ns(throughput, 'ours'),
          oursRate('raw'),
          'raw',
        ),
      );
    }

    out.push(
      timeRow(`${label}: raw round trip (create + release floor)`, ns(create, 'raw'), 1, 'raw'),
    );
    if (withPython) {
      out.push(
        {
          ...timeRow(
            `${label}: ours: await remote.Counter() + dispose`,
            ns(create, 'ours'),
            ratio(create, 'ours', 'python'),
            'Python',
          ),
          note: besides(ratio(create, 'ours', 'raw'), 'raw'),
        },
        timeRow(
          `${label}: Python manager: manager.Counter() + del`,
          ns(create, 'python'),
          ratio(create, 'python', 'raw'),
          'raw',
        ),
      );
    } else {
      out.push(
        timeRow(
          `${label}: ours: await remote.Counter() + dispose`,
          ns(create, 'ours'),
          ratio(create, 'ours', 'raw'),
          'raw',
        ),
      );
    }
  }
  return out;
}
