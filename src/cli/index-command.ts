import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { xmodalError } from '../errors.js';
import { type IndexReport, openCollection } from '../library/collection.js';
import { queueIndex } from '../library/scale.js';
import { VIDEO_DEFAULTS, type VideoOptions } from '../tasks/video.js';
import type { Workspace } from '../tasks/workspace.js';
import { err, isInteractive, out, printable, printJson, setExitCode } from './io.js';
import { type ModelFlags, parseDtype, whole } from './shared.js';
import { withCollectionFlag, workspaceOf } from './workspace-flags.js';

interface IndexFlags extends ModelFlags {
  collection: string;
  prune?: boolean;
  tag?: string[];
  json?: boolean;
  queue?: string;
  jobSize?: string;
  frameEvery: string;
  sceneThreshold: string;
  maxFrames: string;
  audioWindow: string;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerIndex(program: Command, withModelFlags: (c: Command) => Command): void {
  withCollectionFlag(
    withModelFlags(
      program
        .command('index')
        .description('embed files, folders and globs into a collection (unchanged files are skipped)')
        .argument('<paths...>', 'files, folders (recursive) or glob patterns')
        .option('--prune', 'remove items whose files are gone')
        .option('--tag <tag>', 'tag every item indexed in this run (repeatable)', collect)
        .option('--json', 'print the summary as JSON')
        .option(
          '--queue <url>',
          'only queue the files for `xmodal worker`s: redis://host:6379 (needs a shared --store)',
        )
        .option('--job-size <n>', 'files per queued job', '8')
        .option(
          '--frame-every <seconds>',
          'video: sample a frame every this many seconds',
          String(VIDEO_DEFAULTS.frameEvery),
        )
        .option(
          '--scene-threshold <0..1>',
          'video: also sample a frame where the picture changes more than this (0: off)',
          String(VIDEO_DEFAULTS.sceneThreshold),
        )
        .option('--max-frames <n>', 'video: frames per video at most', String(VIDEO_DEFAULTS.maxFrames))
        .option(
          '--audio-window <seconds>',
          'video: seconds of sound per audio item',
          String(VIDEO_DEFAULTS.audioWindow),
        ),
    ),
  ).action(async (paths: string[], flags: IndexFlags, command: Command) => {
    if (flags.queue) return enqueue(paths, flags, command);
    await indexRun(paths, flags, workspaceOf(command));
  });
}

async function enqueue(paths: string[], flags: IndexFlags, command: Command): Promise<void> {
  if (flags.prune) throw xmodalError('BAD_ARGUMENT', '--prune works on a local run, not with --queue');
  const report = await queueIndex(flags.collection, paths, {
    ...workspaceOf(command),
    queue: flags.queue as string,
    model: flags.model,
    dtype: parseDtype(flags.dtype),
    offline: flags.offline,
    cacheDir: flags.cacheDir,
    tags: flags.tag,
    jobSize: whole('--job-size', flags.jobSize ?? '8', 1, 10_000),
    video: videoOptions(flags),
  });
  if (flags.json) printJson(report);
  else {
    for (const f of report.skipped) err(`failed: ${printable(f.path)}: ${f.reason}\n`);
    out(
      `queued ${report.files} files in ${report.jobs} jobs for collection "${report.collection}" (${report.encoderId}); ` +
        'run `xmodal worker --queue URL` on any machine that can read them, and `xmodal queue status` to follow\n',
    );
  }
  if (report.skipped.length > 0) setExitCode(3);
}

async function indexRun(paths: string[], flags: IndexFlags, workspace: Workspace): Promise<void> {
  const collection = await openCollection(flags.collection, {
    ...workspace,
    model: flags.model,
    dtype: parseDtype(flags.dtype),
    offline: flags.offline,
    cacheDir: flags.cacheDir,
  });
  const bar =
    isInteractive() && !flags.json
      ? new cliProgress.SingleBar(
          {
            stream: process.stderr,
            format: ' {bar} {value}/{total} files | {rate} files/s | ETA {eta_formatted} | failed {failed}',
            hideCursor: true,
          },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
  const started = Date.now();
  let report: IndexReport;
  try {
    report = await collection.index(paths, {
      prune: flags.prune,
      tags: flags.tag,
      video: videoOptions(flags),
      // One run per collection at a time: a second one waits instead of failing half-way on a locked store.
      onWait: (pid) =>
        err(`waiting: collection "${flags.collection}" is being indexed by another run (process ${pid})\n`),
      onProgress: (p) => {
        if (!bar) return;
        if (!bar.isActive) bar.start(p.total, 0, { rate: '0.0', failed: 0 });
        const rate = p.done / Math.max(0.001, (Date.now() - started) / 1000);
        bar.update(p.done, { rate: rate.toFixed(1), failed: p.failed });
      },
    });
  } finally {
    bar?.stop();
    await collection.close();
  }
  if (flags.json) printJson(report);
  else {
    for (const f of report.failed) err(`failed: ${printable(f.path)}: ${f.reason}\n`);
    for (const f of report.skipped) err(`skipped: ${printable(f.path)}: ${f.reason}\n`);
    const skipped = report.skipped.length ? `, skipped ${report.skipped.length}` : '';
    out(
      `indexed ${report.indexed}, unchanged ${report.unchanged}, failed ${report.failed.length}${skipped}, pruned ${report.pruned} ` +
        `of ${report.files} files in ${report.seconds.toFixed(1)} s; collection "${flags.collection}" holds ${report.items} items\n`,
    );
  }
  // Some files could not be indexed: the rest were, but the exit code says so.
  if (report.failed.length > 0 || report.skipped.length > 0) setExitCode(3);
}

function videoOptions(flags: IndexFlags): VideoOptions {
  return {
    frameEvery: Number(flags.frameEvery),
    sceneThreshold: Number(flags.sceneThreshold),
    maxFrames: Number(flags.maxFrames),
    audioWindow: Number(flags.audioWindow),
  };
}
