import type { Command } from 'commander';
import { startIngestWorker } from '../library/scale.js';
import { shownQueueUrl } from '../queue/queue-url.js';
import { err, out } from './io.js';
import { parseDtype, whole } from './shared.js';

interface WorkerFlags {
  queue: string;
  store?: string;
  model?: string[];
  dtype?: string;
  concurrency: string;
  threads?: string;
  visibilityTimeout: string;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];
const CLOSE_GRACE_S = 30;

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description(
      "take index jobs from a queue, embed them with each collection's own model, write to its store",
    )
    .requiredOption(
      '--queue <url>',
      'the queue: redis://host:6379 (env XMODAL_QUEUE)',
      process.env.XMODAL_QUEUE,
    )
    .option(
      '--model <model>',
      'serve only these models (repeatable); default: any this machine can load offline',
      collect,
    )
    .option('--dtype <dtype>', 'weight variant to load')
    .option('--concurrency <n>', 'jobs in hand at once', '1')
    .option('--threads <n>', 'inference threads per model call (default: one per core)')
    .option(
      '--visibility-timeout <seconds>',
      "a job comes back to the queue this long after its worker's last sign of life",
      '30',
    )
    .action(async (flags: WorkerFlags, command: Command) => {
      const { store } = command.optsWithGlobals() as { store?: string };
      const threads = flags.threads === undefined ? undefined : whole('--threads', flags.threads, 1, 256);
      const worker = await startIngestWorker(flags.queue, {
        store,
        models: flags.model,
        dtype: parseDtype(flags.dtype),
        threads,
        concurrency: whole('--concurrency', flags.concurrency, 1, 256),
        visibilityTimeout: whole('--visibility-timeout', flags.visibilityTimeout, 1, 86_400),
        onWarning: (message) => err(`xmodal worker: ${message}\n`),
        onJob: ({ job, files, result, error }) =>
          out(
            result
              ? `job ${job}: ${files} files, indexed ${result.indexed}, unchanged ${result.unchanged}, retried singly ${result.retried}\n`
              : `job ${job}: ${files} files, attempt failed: ${error}\n`,
          ),
      });
      err(`xmodal: worker ready on ${shownQueueUrl(flags.queue)} (pid ${process.pid})\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      // A job not finished in time (or with Redis gone) returns to the queue after the visibility timeout.
      err(`xmodal: worker finishing the jobs in hand (at most ${CLOSE_GRACE_S} s)\n`);
      process.once('SIGINT', () => process.exit(1));
      process.once('SIGTERM', () => process.exit(1));
      const timeout = new Promise((resolve) => setTimeout(resolve, CLOSE_GRACE_S * 1000).unref());
      await Promise.race([worker.close(), timeout]);
      process.exit(0);
    });
}
