import type { Command } from 'commander';
import { listModels } from '../library/model.js';
import { out } from './io.js';
import { printJson } from './shared.js';

export function registerModels(program: Command): void {
  program
    .command('models')
    .description('list the supported model families and the models available without a download')
    .option('--json', 'print {"families","shipped","cached","default"}')
    .action((flags: { json?: boolean }) => {
      const models = listModels();
      if (flags.json) {
        printJson(models);
        return;
      }
      const { families, shipped, cached, cacheDir } = models;
      out('Families (config.json model_type → modalities):\n');
      for (const f of families) out(`  ${f.modelTypes.join(', ').padEnd(12)} ${f.modalities.join(', ')}\n`);
      out(`Shipped models: ${shipped.length ? shipped.join(', ') : '(none)'} (default: ${models.default})\n`);
      out(`Cached hub models in ${cacheDir}: ${cached.length ? cached.join(', ') : '(none)'}\n`);
    });
}
