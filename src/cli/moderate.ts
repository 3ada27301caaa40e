import type { Command } from 'commander';
import { calibrate, moderate, moderateMoments } from '../library/tasks.js';
import type { CategoryCalibration, PrecisionRecall } from '../tasks/calibrate.js';
import { formatTime } from '../tasks/moments.js';
import { hasMoments } from '../tasks/video.js';
import { out } from './io.js';
import { type ModelFlags, openEncoder, printJson } from './shared.js';

interface ModerateFlags extends ModelFlags {
  policy?: string;
  json?: boolean;
}

interface CalibrateFlags extends ModerateFlags {
  manifest: string;
  targetPrecision: string;
  confidence: string;
  holdout: string;
  out?: string;
}

const percent = (x: number | null) => (x === null ? '  n/a' : `${(100 * x).toFixed(0).padStart(4)}%`);
const pr = (m: PrecisionRecall) =>
  `precision ${percent(m.precision)} recall ${percent(m.recall)} (${m.flagged} flagged, ${m.positives} positive)`;

const bound = (c: CategoryCalibration) =>
  c.precisionBound === null ? '' : `, precision at least ${percent(c.precisionBound).trim()}`;
const note = (c: CategoryCalibration) =>
  c.calibration.positives === 0 ? ' (no positive examples: kept)' : c.reached ? '' : ' (target not reached)';

export function registerModerate(program: Command, withModelFlags: (c: Command) => Command): void {
  const command = withModelFlags(
    program
      .command('moderate')
      .description(
        'check an image, a sound, or a video or long recording (moment by moment) against a moderation policy (zero-shot: see the README for limits)',
      )
      .argument('<file>', 'an image, audio or video file (or text:... to check a text)')
      .option('--policy <file>', 'policy JSON (default: the shipped policy)')
      .option(
        '--json',
        'print {"safe","flagged":[{"category","score","threshold"}],"scores":[...]}; a video: {"safe","duration","flagged":[{"t","end","modality","flagged"}]}',
      ),
  ).action(async (arg: string, flags: ModerateFlags) => {
    if (await hasMoments(arg)) {
      const encoder = await openEncoder(flags);
      try {
        const result = await moderateMoments(arg, { model: encoder, policy: flags.policy });
        if (flags.json) return printJson(result);
        const span = (m: { t: number; end: number }) => `${formatTime(m.t)}-${formatTime(m.end)}`;
        const how = (m: { modality: string }) => (m.modality === 'image' ? 'seen' : 'heard');
        out(
          result.safe
            ? 'safe\n'
            : `unsafe at ${result.flagged.map((m) => `${span(m)} (${how(m)})`).join(', ')}\n`,
        );
        for (const m of result.flagged)
          out(
            `  ${span(m).padEnd(11)} ${how(m).padEnd(5)} ${m.flagged.map((f) => `${f.category} ${f.score.toFixed(3)} (threshold ${f.threshold})`).join(', ')}\n`,
          );
      } finally {
        await encoder.dispose();
      }
      return;
    }
    const encoder = await openEncoder(flags);
    try {
      const result = await moderate(arg, { model: encoder, policy: flags.policy });
      if (flags.json) return printJson(result);
      out(result.safe ? 'safe\n' : `unsafe: ${result.flagged.map((f) => f.category).join(', ')}\n`);
      for (const s of result.scores.slice(0, 5))
        out(`  ${s.category.padEnd(12)} ${s.kind.padEnd(6)} ${s.score.toFixed(3)}\n`);
    } finally {
      await encoder.dispose();
    }
  });

  withModelFlags(
    command
      .command('calibrate')
      .description("choose each unsafe category's threshold for a target precision from labelled examples")
      .requiredOption('--manifest <file>', 'JSON Lines: {"file": "path", "labels": ["weapons"]} ([] = safe)')
      .option('--policy <file>', 'policy JSON (default: the shipped policy)')
      .option('--target-precision <p>', 'precision each category should reach', '0.9')
      .option(
        '--confidence <c>',
        'how sure the threshold must be of that precision (its lower bound; 0.5 = the estimate itself)',
        '0.95',
      )
      .option('--holdout <share>', 'share of examples held out to report on', '0.3')
      .option('--out <file>', 'write the policy with the chosen thresholds here')
      .option('--json', 'print the calibration report as JSON'),
  ).action(async (_options: CalibrateFlags, self: Command) => {
    // The parent `moderate` has the same model flags and takes them wherever they stand.
    const flags = self.optsWithGlobals() as CalibrateFlags;
    const encoder = await openEncoder(flags);
    try {
      const report = await calibrate({
        model: encoder,
        policy: flags.policy,
        manifest: flags.manifest,
        targetPrecision: Number(flags.targetPrecision),
        confidence: Number(flags.confidence),
        holdout: Number(flags.holdout),
        out: flags.out,
      });
      if (flags.json) return printJson(report);
      out(
        `${report.examples.calibration} calibration / ${report.examples.heldOut} held-out examples, ` +
          `target precision ${report.targetPrecision} at ${report.confidence} confidence\n`,
      );
      for (const c of report.categories) {
        out(
          `${c.category}: threshold ${c.threshold.toFixed(3)}${bound(c)}${note(c)}\n` +
            `  calibration ${pr(c.calibration)}\n  held-out    ${pr(c.heldOut)}\n`,
        );
      }
      if (flags.out) out(`calibrated policy written to ${flags.out}\n`);
    } finally {
      await encoder.dispose();
    }
  });
}
