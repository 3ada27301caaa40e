import type { Command } from 'commander';
import { evaluate } from '../library/tasks.js';
import { out } from './io.js';
import { type ModelFlags, openEncoder, printJson } from './shared.js';

export function registerEval(program: Command, withModelFlags: (c: Command) => Command): void {
  withModelFlags(
    program
      .command('eval')
      .description('retrieval recall, zero-shot accuracy and modality gap of a model on a labelled manifest')
      .requiredOption('--manifest <file>', 'JSONL: {"id","modality","path"|"text","label","lang"?} per line')
      .option('--json', 'print the report as JSON'),
  ).action(async (flags: ModelFlags & { manifest: string; json?: boolean }) => {
    const encoder = await openEncoder(flags);
    try {
      const report = await evaluate({ model: encoder, manifest: flags.manifest });
      if (flags.json) {
        printJson(report);
        return;
      }
      const pct = (x: number) => `${(100 * x).toFixed(1)}%`.padStart(7);
      out(`model ${report.model}\nmanifest ${report.manifest}\n`);
      for (const [space, modalities] of Object.entries(report.spaces ?? {}))
        out(`space ${space}: ${modalities.join(', ')} (separate: no direction across spaces)\n`);
      out('\nretrieval        queries  candidates     R@1     R@5    R@10  median rank\n');
      for (const r of report.retrieval)
        out(
          `${`${r.query} → ${r.target}`.padEnd(16)} ${String(r.queries).padStart(7)} ${String(r.candidates).padStart(11)} ` +
            `${pct(r['recall@1'])} ${pct(r['recall@5'])} ${pct(r['recall@10'])} ${String(r.median_rank).padStart(12)}\n`,
        );
      out('\nzero-shot        items  labels  accuracy\n');
      for (const z of report.zero_shot)
        out(
          `${z.modality.padEnd(16)} ${String(z.items).padStart(5)} ${String(z.labels).padStart(7)} ${pct(z.accuracy).padStart(9)}\n`,
        );
      out('\nmodality gap (centroid distance)\n');
      for (const [pair, gap] of Object.entries(report.modality_gap))
        out(`${pair.padEnd(16)} ${gap.toFixed(3)}\n`);
    } finally {
      await encoder.dispose();
    }
  });
}
