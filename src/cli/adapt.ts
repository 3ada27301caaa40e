import type { Command } from 'commander';
import type { Modality } from '../encoders/encoder.js';
import { xmodalError } from '../errors.js';
import { modelSpec } from '../library/model.js';
import { adapt } from '../library/tasks.js';
import { DEFAULT_DEBIAS_WEIGHT } from '../tasks/debias.js';
import { err, isInteractive, out } from './io.js';
import { type ModelFlags, openEncoder, parseDtype, printJson } from './shared.js';

interface AdaptFlags extends ModelFlags {
  pairs: string;
  out: string;
  test?: string;
  validation: string;
  epochs: string;
  batchSize: string;
  lr: string;
  modalities?: string;
  debias?: string;
  debiasWeight: string;
  json?: boolean;
}

function positive(name: string, value: string, integer = false): number {
  const n = Number(value);
  if (!(n > 0) || (integer && !Number.isInteger(n)))
    throw xmodalError(
      'BAD_ARGUMENT',
      `${name} must be a positive ${integer ? 'integer' : 'number'}, got "${value}"`,
    );
  return n;
}

/**
 * `--adapter DIR` selects an adapter folder as the model; with `--model` too, the adapter must be for that model.
 * Returns what `--model` should be.
 */
export function modelWithAdapter(adapter: string | undefined, model: string | undefined): string | undefined {
  return modelSpec({ adapter, model });
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

export function registerAdapt(program: Command, withModelFlags: (c: Command) => Command): void {
  withModelFlags(
    program
      .command('adapt')
      .description(
        'train a small adapter on frozen embeddings from matching pairs (a new domain, style or language)',
      )
      .requiredOption(
        '--pairs <file>',
        'JSON Lines: {"text": "...", "image": "path"} (or "audio"), one pair a line',
      )
      .requiredOption('--out <dir>', 'folder to write the adapter to (use it with --adapter DIR)')
      .option('--test <file>', 'held-out pairs to report Recall before and after on')
      .option('--validation <share>', 'share of pairs for early stopping', '0.2')
      .option('--epochs <n>', 'most passes over the pairs', '60')
      .option('--batch-size <n>', 'pairs per step', '128')
      .option('--lr <rate>', 'Adam learning rate', '0.001')
      .option('--modalities <list>', 'adapt only these, e.g. image (default: both sides)')
      .option(
        '--debias <attribute>',
        "equalise each people-emoji concept's similarity across skin_tone or gender groups while training",
      )
      .option('--debias-weight <w>', 'weight of the debiasing penalty', String(DEFAULT_DEBIAS_WEIGHT))
      .option('--json', 'print the training report as JSON'),
  ).action(async (flags: AdaptFlags) => {
    const modalities = flags.modalities?.split(',').map((m) => m.trim()) as Modality[] | undefined;
    for (const m of modalities ?? [])
      if (!['text', 'image', 'audio'].includes(m))
        throw xmodalError('BAD_ARGUMENT', `--modalities takes text, image or audio, not "${m}"`);
    const encoder = await openEncoder(flags);
    try {
      const report = await adapt({
        model: encoder,
        // The trained adapter is loaded on the same weights for the test report.
        dtype: parseDtype(flags.dtype),
        offline: flags.offline,
        cacheDir: flags.cacheDir,
        pairs: flags.pairs,
        test: flags.test,
        out: flags.out,
        debias: flags.debias,
        debiasWeight: positive('--debias-weight', flags.debiasWeight),
        validation: Number(flags.validation),
        epochs: positive('--epochs', flags.epochs, true),
        batchSize: positive('--batch-size', flags.batchSize, true),
        learningRate: positive('--lr', flags.lr),
        modalities,
        onEpoch: isInteractive()
          ? (e) =>
              err(
                `epoch ${e.epoch}: train loss ${e.trainLoss.toFixed(4)}, validation ${e.validationLoss.toFixed(4)}\n`,
              )
          : undefined,
      });
      if (flags.json) return printJson(report);
      const testReport = report.test;
      const debiasReport = report.debias;
      const v = report.validation;
      const lines = [
        `trained on ${report.pairs.train} pairs, validated on ${report.pairs.validation}: ${report.epochs} epochs (best ${report.bestEpoch}) in ${report.seconds.toFixed(1)} s`,
        `validation loss       ${report.validationLoss.before.toFixed(4)} → ${report.validationLoss.after.toFixed(4)}`,
        `validation Recall@1   ${pct(v.before['recall@1'])} → ${pct(v.after['recall@1'])}`,
        `validation Recall@10  ${pct(v.before['recall@10'])} → ${pct(v.after['recall@10'])}`,
        ...(testReport
          ? [
              `test Recall@1         ${pct(testReport.before['recall@1'])} → ${pct(testReport.after['recall@1'])}  (${testReport.pairs} held-out pairs)`,
              `test Recall@10        ${pct(testReport.before['recall@10'])} → ${pct(testReport.after['recall@10'])}`,
            ]
          : []),
        ...(debiasReport
          ? [
              `${debiasReport.attribute} gap       ${debiasReport.gap.before.toFixed(4)} → ${debiasReport.gap.after.toFixed(4)}  (mean largest difference between groups of a concept's similarity, ${debiasReport.heldOutConcepts.length} held-out concepts)`,
            ]
          : []),
        `adapter for ${report.model} written to ${report.adapter}; use it with --adapter ${flags.out}`,
      ];
      out(`${lines.join('\n')}\n`);
    } finally {
      await encoder.dispose();
    }
  });
}
