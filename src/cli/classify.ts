import type { Command } from 'commander';
import { xmodalError } from '../errors.js';
import { classify } from '../library/tasks.js';
import { out } from './io.js';
import { type ModelFlags, openEncoder, printJson } from './shared.js';

interface ClassifyFlags extends ModelFlags {
  labels?: string;
  labelsFile?: string;
  lang?: string;
  template?: string[];
  k?: string;
  json?: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerClassify(program: Command, withModelFlags: (c: Command) => Command): void {
  withModelFlags(
    program
      .command('classify')
      .description('zero-shot classification of an image or a sound against labels you name')
      .argument('<input>', 'an image or audio file (or text:... to classify a text)')
      .option('--labels <list>', 'comma-separated labels, e.g. dog,cat,car')
      .option('--labels-file <file>', 'labels, one per line (or a JSON array)')
      .option('--lang <lang>', 'language of the built-in prompt templates (en, it, de, fr, es)', 'en')
      .option('--template <template>', 'own prompt template with {} for the label (repeatable)', collect)
      .option('-k, --k <n>', 'show the best n labels')
      .option('--json', 'print {"labels": [{"label","score"}]} best first'),
  ).action(async (arg: string, flags: ClassifyFlags) => {
    if (!flags.labels && !flags.labelsFile)
      throw xmodalError('BAD_ARGUMENT', 'give --labels a,b,c or --labels-file FILE');
    const encoder = await openEncoder(flags);
    try {
      const { labels: scores } = await classify(arg, {
        model: encoder,
        labels: flags.labels?.split(','),
        labelsFile: flags.labelsFile,
        k: flags.k === undefined ? undefined : Number(flags.k),
        lang: flags.lang,
        templates: flags.template,
      });
      if (flags.json) {
        printJson({ labels: scores });
        return;
      }
      const width = Math.max(...scores.map((s) => s.label.length));
      for (const s of scores) out(`${s.label.padEnd(width)}  ${(100 * s.score).toFixed(1).padStart(5)}%\n`);
    } finally {
      await encoder.dispose();
    }
  });
}
