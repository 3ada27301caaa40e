/**
 * Scale-out ingest: the same mixed files through 1 and through 2 `xmodal worker` processes (one inference thread
 * each) on one queue (BullMQ on a real redis-server) and one shared store (a real PostgreSQL + pgvector server from
 * PyPI, PGlite when that cannot be installed), in the same run. Each worker is started and has its model loaded
 * before the clock starts; the clock stops when the queue has nothing pending or running.
 * Each worker is held to one core of its own (`taskset`, all its threads), as a deployment of one worker per core
 * would be: a worker with one inference thread still decodes, hashes and writes beside it (~1.4 cores unpinned on
 * 2 cores), and the speedup should measure the queue and the store, not how much of a second core one worker
 * takes. Where taskset is missing the workers run unpinned, and the line says so.
 * Usage: npx tsx bench/scale.ts [--quick] [--files N] [--model M]
 * Ends with: RESULT scale workers2_speedup=<1 worker's seconds / 2 workers' seconds> exactly_once=<1|0>
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { enqueueFiles, openQueue, queueStatus } from '../src/queue/ingest-queue.js';
import { listCollections, openStore } from '../src/store/open.js';
import { expandPaths } from '../src/tasks/expand-paths.js';
import { chunkText } from '../src/tasks/text-chunks.js';
import { openCollection } from '../src/tasks/workspace.js';
import { startCli } from '../test/helpers/cli.js';
import type { ChildServer } from '../test/servers/child-server.js';
import { startRedis } from '../test/servers/redis.js';
import { startSharedStore } from '../test/servers/shared-store.js';
import { benchModel, flag, quick, ROOT } from './flags.js';
import { makeMixedFiles } from './mixed-files.js';

const FILES = Number(flag('--files') ?? (quick ? 2000 : 5000));
const MODEL = benchModel();
const DATA = join(ROOT, 'bench', '.data', `ingest-${FILES}`);

await makeMixedFiles(DATA, FILES);
const { files } = await expandPaths([DATA]);
const expectedItems = new Map(
  files.map((f) => [f, f.endsWith('.txt') ? chunkText(readFileSync(f, 'utf8')).length : 1]),
);
const load = () =>
  loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');
console.log(`model ${MODEL}; ${files.length} mixed files; load average before: ${load()}`);

const [redis, store] = await Promise.all([startRedis(), startSharedStore()]);
console.log(`queue: redis-server at ${redis.url}; store: ${store.engine}`);

/** Holds a process and every thread it has (so every thread it starts) to one core; false where taskset fails. */
function pinToCore(pid: number | undefined, core: number): boolean {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', String(core), String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

let pinned = true;
async function startWorker(queue: string, index: number): Promise<ChildServer> {
  const worker = await startCli(
    ['worker', '--queue', queue, '--store', store.url, '--threads', '1', '--concurrency', '1'],
    /worker ready/,
    {
      XMODAL_OFFLINE: '1',
    },
  );
  pinned = pinToCore(worker.child.pid, index % availableParallelism()) && pinned;
  return worker;
}

/** CPU seconds a process (all its threads) has used so far, from /proc (Linux; 0 elsewhere). */
function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    // utime and stime, fields 14 and 15 of the line, in clock ticks (100 per second on Linux).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** Busy CPU seconds of the whole machine so far (every process), from /proc/stat (Linux; 0 elsewhere). */
function machineBusySeconds(): number {
  try {
    const [user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8')
      .split('\n')[0]
      .split(/\s+/)
      .slice(1)
      .map(Number);
    return (user + nice + system + irq + softirq + steal) / 100;
  } catch {
    return 0;
  }
}

/** Seconds for `workers` workers to index every file into a fresh collection, and whether each is there once. */
async function run(workers: number, db: number): Promise<{ seconds: number; exactlyOnce: boolean }> {
  const queueUrl = `${redis.url}/${db}`;
  const name = `scale${workers}`;
  const created = await openCollection({ store: store.url }, name, { model: MODEL, create: true });
  const { encoderId } = created.info;
  await created.close();
  const started = await Promise.all(Array.from({ length: workers }, (_, i) => startWorker(queueUrl, i)));
  // Workers take a first tiny job to load the model's towers before timing starts.
  const queue = openQueue(queueUrl);
  const warm = files.filter((f) => /\.(png|wav|txt)$/.test(f)).slice(0, 3 * workers);
  await enqueueFiles(queue, { store: store.url, collection: name, encoderId }, warm, { batchSize: 1 });
  // Polled with the queue's counters (O(1) in redis); the full status reads every job, so only at the end.
  const drained = async () => {
    for (;;) {
      const counts = await queue.getJobCounts('waiting', 'delayed', 'prioritized', 'active');
      if (Object.values(counts).every((n) => n === 0)) return queueStatus(queue, queueUrl);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await drained();
  const cpu0 = started.map((w) => cpuSeconds(w.child.pid));
  const busy0 = machineBusySeconds();
  const t0 = performance.now();
  await enqueueFiles(queue, { store: store.url, collection: name, encoderId }, files, { batchSize: 8 });
  const status = await drained();
  const seconds = (performance.now() - t0) / 1000;
  // Cores each worker kept busy: one worker above 1.0 leaves a second worker less than a core of its own.
  const cores = started.map((w, i) => (cpuSeconds(w.child.pid) - cpu0[i]) / seconds);
  const machine = (machineBusySeconds() - busy0) / seconds;
  await queue.close();
  await Promise.all(started.map((w) => w.stop()));

  const info = (await listCollections(store.url)).find((c) => c.name === name);
  const opened = await openStore(store.url, { collection: name, dim: info?.dim ?? 0, encoderId });
  const perUri = new Map<string, number>();
  for await (const record of opened.iterate())
    perUri.set(record.uri ?? '', (perUri.get(record.uri ?? '') ?? 0) + 1);
  await opened.close();
  const exactlyOnce =
    status.failed.jobs === 0 &&
    perUri.size === files.length &&
    files.every((f) => perUri.get(f) === expectedItems.get(f));
  console.log(
    `${workers} worker${workers > 1 ? 's' : ' '}  ${(files.length / seconds).toFixed(1)} files/s (${seconds.toFixed(1)} s), ` +
      `${perUri.size} files in the store, failed ${status.failed.jobs}, exactly once ${exactlyOnce}; ` +
      `cores used per worker ${cores.map((c) => c.toFixed(2)).join(' ')} of ${machine.toFixed(2)} busy on the machine; load average ${load()}`,
  );
  return { seconds, exactlyOnce };
}

try {
  const one = await run(1, 1);
  const two = await run(2, 2);
  const speedup = one.seconds / two.seconds;
  console.log(
    `2 workers vs 1: ${speedup.toFixed(2)}x (${pinned ? 'each worker on a core of its own' : 'workers NOT pinned: taskset failed or is missing'})`,
  );
  console.log(
    `RESULT scale workers2_speedup=${speedup.toFixed(2)} exactly_once=${one.exactlyOnce && two.exactlyOnce ? 1 : 0}`,
  );
} finally {
  await redis.stop();
  await store.stop();
}
