// The ingest queue: BullMQ on Redis. Jobs are small batches of file paths; BullMQ gives at-least-once delivery
// (a job whose worker dies returns after the lock expires), retries with backoff and the failed list.
import { createHash } from 'node:crypto';
import { type Job, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { errorMessage, xmodalError } from '../errors.js';
import type { VideoOptions } from '../media/video.js';
import { checkQueueUrl, shownQueueUrl } from './queue-url.js';

export const QUEUE_NAME = 'xmodal-ingest';
/** Times a file is tried before it lands in the failed list. */
export const DEFAULT_ATTEMPTS = 3;

/** What one job asks a worker to do: index these files into this collection of this store. */
export interface IngestJob {
  store: string;
  collection: string;
  /** The collection's encoder id: a worker without this model refuses the job. */
  encoderId: string;
  files: string[];
  tags?: string[];
  /** How videos are sampled (`xmodal index --frame-every` and friends). */
  video?: VideoOptions;
  /** A file retried on its own after failing in a batch: its failure fails the job. */
  single?: boolean;
}

export interface IngestJobResult {
  indexed: number;
  unchanged: number;
  /** Files that failed here and were queued again on their own. */
  retried: number;
}

export interface QueueCounts {
  jobs: number;
  files: number;
}

export interface QueueStatus {
  queue: string;
  done: QueueCounts;
  pending: QueueCounts;
  running: QueueCounts;
  failed: QueueCounts;
  /** Files finished per second over the last minute of completed jobs (0 when none). */
  rate: number;
  /** Seconds until pending and running files are done at that rate; null when nothing is moving. */
  etaSeconds: number | null;
  failures: { files: string[]; reason: string; attempts: number }[];
}

function connection(url: string) {
  // Workers block on Redis: BullMQ wants ioredis never to give up on a command.
  return { url: checkQueueUrl(url), maxRetriesPerRequest: null };
}

/** Seconds a command that uses the queue once (status, enqueue) waits for Redis before it gives up. */
const REACH_TIMEOUT_S = 5;

/**
 * Fails with a clear error when nothing answers at the queue's URL. The queue client itself retries for ever
 * (right for a worker, which outlives Redis restarts), so a one-off command checks first instead of hanging.
 */
export async function reachQueue(url: string): Promise<void> {
  const probe = new Redis(checkQueueUrl(url), {
    lazyConnect: true,
    connectTimeout: REACH_TIMEOUT_S * 1000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  // The socket's own error (e.g. ECONNREFUSED) says more than the "Connection is closed" the call rejects with.
  let socketError: unknown;
  probe.on('error', (error) => {
    socketError ??= error;
  });
  try {
    await probe.connect();
    await probe.ping();
  } catch (error) {
    throw xmodalError(
      'UPSTREAM_ERROR',
      `cannot reach the queue at ${shownQueueUrl(url)}: ${errorMessage(socketError ?? error)}`,
      error,
    );
  } finally {
    probe.disconnect();
  }
}

export function openQueue(url: string): Queue<IngestJob, IngestJobResult> {
  return new Queue<IngestJob, IngestJobResult>(QUEUE_NAME, { connection: connection(url) });
}

/** Adds the files in jobs of `batchSize`; resolves to the number of jobs. */
export async function enqueueFiles(
  queue: Queue<IngestJob, IngestJobResult>,
  job: Omit<IngestJob, 'files'>,
  files: readonly string[],
  options: { batchSize?: number; attempts?: number } = {},
): Promise<number> {
  const batchSize = options.batchSize ?? 8;
  const jobs = [];
  for (let start = 0; start < files.length; start += batchSize) {
    jobs.push({
      name: 'index',
      data: { ...job, files: files.slice(start, start + batchSize) },
      opts: jobOptions(options.attempts),
    });
  }
  for (let start = 0; start < jobs.length; start += 1000)
    await queue.addBulk(jobs.slice(start, start + 1000));
  return jobs.length;
}

/** Queues each file of a batch again as its own job; the same file of the same batch is queued once. */
export async function requeueSingly(
  queue: Queue<IngestJob, IngestJobResult>,
  parent: Job<IngestJob>,
  files: readonly string[],
): Promise<void> {
  const attempts = parent.opts.attempts ?? DEFAULT_ATTEMPTS;
  await queue.addBulk(
    files.map((file) => ({
      name: 'index-file',
      data: { ...parent.data, files: [file], single: true },
      opts: {
        ...jobOptions(attempts),
        // A batch delivered twice (its worker died after queuing) queues each file once.
        jobId: `file-${createHash('sha256').update(`${parent.id}\n${file}`).digest('hex').slice(0, 32)}`,
      },
    })),
  );
}

function jobOptions(attempts = DEFAULT_ATTEMPTS) {
  return {
    attempts,
    backoff: { type: 'exponential', delay: 1000 },
    removeOnComplete: { age: 7 * 24 * 3600 },
    removeOnFail: { age: 30 * 24 * 3600 },
  };
}

export interface WorkerOptions {
  concurrency?: number;
  /** Seconds a job stays invisible to other workers without a heartbeat; a dead worker's job returns after it. */
  visibilityTimeout?: number;
}

/** Takes jobs until closed; `process` resolving acknowledges a job, throwing fails this attempt. */
export function startWorker(
  url: string,
  process: (job: Job<IngestJob, IngestJobResult>) => Promise<IngestJobResult>,
  options: WorkerOptions = {},
): Worker<IngestJob, IngestJobResult> {
  const lockDuration = (options.visibilityTimeout ?? 30) * 1000;
  return new Worker<IngestJob, IngestJobResult>(QUEUE_NAME, process, {
    connection: connection(url),
    concurrency: options.concurrency ?? 1,
    lockDuration,
    stalledInterval: lockDuration,
    // A job whose worker was killed comes back this many times before it counts as failed.
    maxStalledCount: DEFAULT_ATTEMPTS,
  });
}

const RATE_WINDOW_MS = 60_000;
const PAGE = 1000;

/** Counts by state, in jobs and in files (read from the jobs: the cost grows with the queue). */
export async function queueStatus(
  queue: Queue<IngestJob, IngestJobResult>,
  url: string,
): Promise<QueueStatus> {
  type State = 'completed' | 'waiting' | 'delayed' | 'prioritized' | 'active' | 'failed';
  const PENDING: State[] = ['waiting', 'delayed', 'prioritized'];
  // States are read one after another while workers move jobs on; a job is kept in the last state it was read in.
  // Reading in the order jobs move (pending, running, then done or failed) and pending once more (a failed
  // attempt goes back to waiting) means no job is missed: read done-first, a job that finished between the
  // reads would be in none.
  const latest = new Map<
    string,
    { group: 'pending' | 'running' | 'done' | 'failed'; job: Job<IngestJob, IngestJobResult> }
  >();
  const read = async (group: 'pending' | 'running' | 'done' | 'failed', states: State[]) => {
    for (let start = 0; ; start += PAGE) {
      const page = await queue.getJobs(states, start, start + PAGE - 1, true);
      for (const job of page.filter(Boolean)) {
        latest.delete(String(job.id));
        latest.set(String(job.id), { group, job });
      }
      if (page.length < PAGE) return;
    }
  };
  await read('pending', PENDING);
  await read('running', ['active']);
  await read('done', ['completed']);
  await read('failed', ['failed']);
  await read('pending', PENDING);
  const tally = (group: 'pending' | 'running' | 'done' | 'failed') => {
    const jobs = [...latest.values()].filter((entry) => entry.group === group).map((entry) => entry.job);
    const counts: QueueCounts = { jobs: jobs.length, files: 0 };
    for (const job of jobs) counts.files += job.data.files.length;
    return { counts, jobs };
  };
  const done = tally('done');
  const pending = tally('pending');
  const running = tally('running');
  const failed = tally('failed');
  // A batch whose bad files were queued again singly counts only its good files as done.
  for (const job of done.jobs) done.counts.files -= job.returnvalue?.retried ?? 0;
  const now = Date.now();
  const recent = done.jobs.filter((job) => (job.finishedOn ?? 0) > now - RATE_WINDOW_MS);
  let rate = 0;
  if (recent.length > 0) {
    const first = Math.min(...recent.map((job) => job.processedOn ?? job.finishedOn ?? now));
    const last =
      pending.counts.jobs + running.counts.jobs > 0
        ? now
        : Math.max(...recent.map((job) => job.finishedOn ?? now));
    const files = recent.reduce((n, job) => n + job.data.files.length - (job.returnvalue?.retried ?? 0), 0);
    rate = files / Math.max(0.001, (last - first) / 1000);
  }
  const left = pending.counts.files + running.counts.files;
  return {
    queue: shownQueueUrl(url),
    done: done.counts,
    pending: pending.counts,
    running: running.counts,
    failed: failed.counts,
    rate,
    etaSeconds: left === 0 ? 0 : rate > 0 ? left / rate : null,
    failures: failed.jobs.map((job) => ({
      files: job.data.files,
      reason: job.failedReason ?? 'unknown',
      attempts: job.attemptsMade,
    })),
  };
}
