import type { Command } from 'commander';
import { xmodalError } from '../errors.js';
import { classify, classifyMoments } from '../library/tasks.js';
import { readLabelsFile } from '../tasks/classify.js';
import { formatTime } from '../tasks/moments.js';
import { hasMoments } from '../tasks/video.js';
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
      .description(
        'zero-shot classification of an image, a sound, or a video or long recording (moment by moment) against labels you name',
      )
      .argument('<input>', 'an image, audio or video file (or text:... to classify a text)')
      .option('--labels <list>', 'comma-separated labels, e.g. dog,cat,car')
      .option('--labels-file <file>', 'labels, one per line (or a JSON array)')
      .option('--lang <lang>', 'language of the built-in prompt templates (en, it, de, fr, es)', 'en')
      .option('--template <template>', 'own prompt template with {} for the label (repeatable)', collect)
      .option('-k, --k <n>', 'show the best n labels')
      .option(
        '--json',
        'print {"labels": [{"label","score"}]} best first; a video: {"moments": [{"t","end","modality","labels"}]}',
      ),
  ).action(async (arg: string, flags: ClassifyFlags) => {
    if (!flags.labels && !flags.labelsFile)
      throw xmodalError('BAD_ARGUMENT', 'give --labels a,b,c or --labels-file FILE');
    if (await hasMoments(arg)) {
      const labels = [
        ...(flags.labels ? flags.labels.split(',') : []),
        ...(flags.labelsFile ? await readLabelsFile(flags.labelsFile) : []),
      ];
      return classifyVideoCommand(arg, labels, flags.k === undefined ? undefined : Number(flags.k), flags);
    }
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

/** A video or a long recording, moment by moment: `0:00-0:04  seen   dog 87.1%  cat 8.0%`. */
async function classifyVideoCommand(
  path: string,
  labels: string[],
  k: number | undefined,
  flags: ClassifyFlags,
): Promise<void> {
  const encoder = await openEncoder(flags);
  try {
    const result = await classifyMoments(path, {
      model: encoder,
      labels,
      k: k ?? (flags.json ? undefined : 3),
      lang: flags.lang,
      templates: flags.template,
    });
    if (flags.json) return printJson(result);
    const { moments } = result;
    for (const m of moments) {
      const span = `${formatTime(m.t)}-${formatTime(m.end)}`.padEnd(11);
      const scores = m.labels.map((l) => `${l.label} ${(100 * l.score).toFixed(1)}%`).join('  ');
      out(`${span}  ${m.modality === 'image' ? 'seen ' : 'heard'}  ${scores}\n`);
    }
  } finally {
    await encoder.dispose();
  }
}
