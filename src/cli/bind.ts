import type { Command } from 'commander';
import { xmodalError } from '../errors.js';
import { bind } from '../library/scale.js';
import { BIND_MAPS, type BindMap, type TextRecall } from '../tasks/bind.js';
import { err, isInteractive, out, printJson } from './io.js';
import { type ModelFlags, parseDtype } from './shared.js';

interface BindFlags extends ModelFlags {
  from: string;
  to: string;
  texts: string[];
  out: string;
  map: string;
  heldout: string;
  epochs: string;
  seed: string;
  json?: boolean;
}

const recall = (r: TextRecall) =>
  `R@1 ${(100 * r['recall@1']).toFixed(1)}%  R@10 ${(100 * r['recall@10']).toFixed(1)}%`;

export function registerBind(program: Command, withModelFlags: (c: Command) => Command): void {
  withModelFlags(
    program
      .command('bind')
      .description(
        "join two parts of a bundle into one space: learn a map from one part's text space to the other's over a text corpus",
      )
      .requiredOption('--from <part>', 'the part to map (its folder name in xmodal.json), e.g. clap')
      .requiredOption('--to <part>', 'the part whose space is kept, e.g. clip')
      .requiredOption('--texts <files...>', 'text corpora: one text a line (# comments) or a JSON array')
      .requiredOption('--out <dir>', 'folder to write the bridged bundle to (use it with --model DIR)')
      .option('--map <kind>', `${BIND_MAPS.join(', ')}`, 'orthogonal')
      .option('--heldout <share>', 'share of texts never trained on, for the held-out recall', '0.1')
      .option('--epochs <n>', 'most passes over the texts', '10')
      .option('--seed <n>', 'random seed', '1')
      .option('--json', 'print the report as JSON'),
  ).action(async (flags: BindFlags) => {
    if (!(BIND_MAPS as readonly string[]).includes(flags.map))
      throw xmodalError('BAD_ARGUMENT', `--map must be one of ${BIND_MAPS.join(', ')}, not "${flags.map}"`);
    const epochs = Number(flags.epochs);
    if (!Number.isInteger(epochs) || epochs < 1)
      throw xmodalError('BAD_ARGUMENT', `--epochs must be a positive integer, got "${flags.epochs}"`);
    const report = await bind({
      model: flags.model ?? process.env.XMODAL_MODEL ?? '',
      from: flags.from,
      to: flags.to,
      texts: { files: flags.texts },
      out: flags.out,
      map: flags.map as BindMap,
      heldout: Number(flags.heldout),
      epochs,
      seed: Number(flags.seed),
      dtype: parseDtype(flags.dtype),
      offline: flags.offline,
      cacheDir: flags.cacheDir,
      onEpoch: isInteractive()
        ? (e) =>
            err(
              `epoch ${e.epoch}: train loss ${e.trainLoss.toFixed(4)}, validation loss ${e.validationLoss.toFixed(4)}, R@1 ${e.validationRecall.toFixed(3)}\n`,
            )
        : undefined,
    });
    if (flags.json) return printJson(report);
    const h = report.heldout;
    const lines = [
      `${report.texts.train} texts trained on, ${report.texts.validation} for early stopping, ${report.texts.heldout} held out; ${report.epochs} epochs (best ${report.bestEpoch}) in ${report.seconds.toFixed(1)} s`,
      `held-out text → text (${report.from} mapped → ${report.to}):`,
      ...(h.unmapped ? [`  no map       ${recall(h.unmapped)}`] : []),
      `  procrustes   ${recall(h.procrustes)}`,
      `  ${report.map.padEnd(12)} ${recall(h.map)}`,
      `bridged bundle written to ${report.bundle}; use it with --model ${flags.out}`,
    ];
    out(`${lines.join('\n')}\n`);
  });
}
