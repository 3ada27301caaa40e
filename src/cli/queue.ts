import type { Command } from 'commander';
import { queueStatus } from '../library/scale.js';
import { out, printJson } from './io.js';

export function registerQueue(program: Command): void {
  const queue = program.command('queue').description('the distributed ingest queue (see `xmodal worker`)');
  queue
    .command('status')
    .description(
      'files done / pending / running / failed, with rate, ETA and the failed files with their reasons',
    )
    .requiredOption(
      '--queue <url>',
      'the queue: redis://host:6379 (env XMODAL_QUEUE)',
      process.env.XMODAL_QUEUE,
    )
    .option('--json', 'print the status as JSON')
    .action(async (flags: { queue: string; json?: boolean }) => {
      const status = await queueStatus(flags.queue);
      if (flags.json) return printJson(status);
      const { done, pending, running, failed } = status;
      const eta = status.etaSeconds === null ? 'unknown' : `${Math.ceil(status.etaSeconds)} s`;
      out(
        `${status.queue}: done ${done.files} files, pending ${pending.files}, running ${running.files}, failed ${failed.files}` +
          ` (jobs ${done.jobs} / ${pending.jobs} / ${running.jobs} / ${failed.jobs}); ${status.rate.toFixed(1)} files/s, ETA ${eta}\n`,
      );
      for (const f of status.failures) {
        out(`failed: ${f.files.join(', ')}: ${f.reason} (${f.attempts} attempts)\n`);
      }
    });
}
