import type { Command } from 'commander';
import { xmodalError } from '../errors.js';
import { openCollection } from '../library/collection.js';
import { out } from './io.js';
import { printJson } from './shared.js';
import { withCollectionFlag, workspaceOf } from './workspace-flags.js';

interface QualityFlags {
  collection: string;
  k?: string;
  sample: string;
  plot?: string;
  json?: boolean;
}

function integer(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) throw xmodalError('BAD_ARGUMENT', `${name} must be an integer, got "${value}"`);
  return n;
}

const fixed = (x: number | null, digits = 3) => (x === null ? 'n/a' : x.toFixed(digits));

export function registerQuality(program: Command): void {
  withCollectionFlag(
    program
      .command('quality')
      .description('embedding-quality metrics of a collection, and a 2-D plot of it')
      .option('-k, --k <n>', 'k-means clusters (default √(n/2), 2..10)')
      .option('--sample <n>', 'measure at most n items, evenly spread', '2000')
      .option('--plot <file>', 'write a 2-D PCA projection to an .svg or .png file')
      .option('--json', 'print the metrics as JSON'),
  ).action(async (flags: QualityFlags, command: Command) => {
    const collection = await openCollection(flags.collection, { ...workspaceOf(command), create: false });
    try {
      const report = await collection.quality({
        k: integer('-k', flags.k),
        sample: integer('--sample', flags.sample),
        plot: flags.plot,
      });
      if (flags.json) return printJson(report);
      const counts = Object.entries(report.counts)
        .map(([m, n]) => `${m} ${n}`)
        .join(', ');
      const row = (label: string, value: string) => `${label.padEnd(31)}${value}`;
      const lines = [
        `collection "${report.collection}": ${counts}; ${report.n} measured`,
        row('mean pairwise cosine distance', fixed(report.meanPairwiseDistance)),
        row(
          `k-means silhouette (k=${report.clusters.k})`,
          `${fixed(report.clusters.silhouette)}  (cluster sizes ${report.clusters.sizes.join(' ')})`,
        ),
        row(
          'alignment',
          `${fixed(report.alignment)}  (${report.positivePairs} cross-modal pairs within documents; lower is closer)`,
        ),
        row('uniformity', `${fixed(report.uniformity)}  (lower is more evenly spread)`),
        ...report.modalityGap.map((g) =>
          row(`modality gap ${g.modalities[0]}–${g.modalities[1]}`, fixed(g.distance)),
        ),
        ...(flags.plot ? [`plot written to ${flags.plot}`] : []),
      ];
      out(`${lines.join('\n')}\n`);
    } finally {
      await collection.close();
    }
  });
}
