import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_MODEL, defaultCacheDir, SHIPPED_MODELS_DIR } from '../encoders/load.js';
import { knownFamilies } from '../encoders/registry.js';
import { out, printJson } from './io.js';

function listFolders(dir: string): string[] {
  return existsSync(dir)
    ? readdirSync(dir, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => d.name)
    : [];
}

/** Hub downloads are cached as <cache>/<owner>/<name>/. */
function cachedHubModels(cacheDir: string): string[] {
  return listFolders(cacheDir).flatMap((owner) =>
    listFolders(join(cacheDir, owner)).map((name) => `${owner}/${name}`),
  );
}

export function registerModels(program: Command): void {
  program
    .command('models')
    .description('list the supported model families and the models available without a download')
    .option('--json', 'print {"families","shipped","cached","default"}')
    .action((flags: { json?: boolean }) => {
      const families = knownFamilies();
      const shipped = listFolders(SHIPPED_MODELS_DIR);
      const cacheDir = defaultCacheDir();
      const cached = cachedHubModels(cacheDir);
      if (flags.json) {
        printJson({ families, shipped, cached, cacheDir, default: DEFAULT_MODEL });
        return;
      }
      out('Families (config.json model_type → modalities):\n');
      for (const f of families) out(`  ${f.modelTypes.join(', ').padEnd(12)} ${f.modalities.join(', ')}\n`);
      out(`Shipped models: ${shipped.length ? shipped.join(', ') : '(none)'} (default: ${DEFAULT_MODEL})\n`);
      out(`Cached hub models in ${cacheDir}: ${cached.length ? cached.join(', ') : '(none)'}\n`);
    });
}
