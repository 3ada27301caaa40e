import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { DEFAULT_MODEL, SHIPPED_MODELS_DIR } from '../encoders/load.js';
import type { SearchHit } from '../store/store.js';
import { buildDemoCollection } from '../tasks/demo.js';
import { searchCollection } from '../tasks/search.js';
import type { OpenCollection } from '../tasks/workspace.js';
import type { ModelFlags } from './shared.js';
import { workspaceOf } from './workspace-flags.js';

const EXAMPLES = ['a dog', 'a red apple', 'piano', 'drum', 'a car'];

function show(query: string, hits: SearchHit[]): void {
  const names = hits.map(
    (h) => `${basename(h.uri ?? h.id).replace(/\.(png|ogg)$/, '')} ${h.score.toFixed(2)}`,
  );
  process.stdout.write(`  ${query.padEnd(14)} → ${names.join(' | ')}\n`);
}

async function ask(collection: OpenCollection): Promise<void> {
  const prompt = createInterface({ input: process.stdin, output: process.stdout });
  process.stdout.write('\nType a query (text, or a path to an image or audio file); empty line to quit.\n');
  try {
    for (;;) {
      const line = (await prompt.question('search> ')).trim();
      if (!line) return;
      const kind = /\.(png|jpe?g|webp|gif)$/i.test(line)
        ? 'image'
        : /\.(wav|mp3|ogg|flac|opus)$/i.test(line)
          ? 'audio'
          : 'text';
      try {
        show(line, await searchCollection(collection, { parts: [{ kind, value: line }], k: 5 }));
      } catch (error) {
        process.stdout.write(`  ${(error as Error).message}\n`);
      }
    }
  } finally {
    prompt.close();
  }
}

/** `npm start`: builds the demo collection from shipped media (once), shows a few searches, then asks for more. */
export function registerDemo(program: Command, withModelFlags: (c: Command) => Command): void {
  withModelFlags(
    program.command('demo').description('build a demo collection from shipped media and search it (offline)'),
  ).action(async (flags: ModelFlags, command: Command) => {
    process.stdout.write('xmodal demo: indexing shipped emoji and sounds (first run only) ...\n');
    // Until xmodal-mini ships, the demo runs on the random-weight fixture bundle: the plumbing, not the quality.
    const fallback = existsSync(join(SHIPPED_MODELS_DIR, DEFAULT_MODEL))
      ? undefined
      : join(SHIPPED_MODELS_DIR, '..', 'test', 'fixtures', 'models', 'tiny-bundle');
    if (fallback && !flags.model)
      process.stdout.write('  (xmodal-mini is not shipped yet: using the random-weight fixture model)\n');
    const collection = await buildDemoCollection(workspaceOf(command), {
      model: flags.model ?? process.env.XMODAL_MODEL ?? fallback,
      onProgress: (stage, report) =>
        process.stdout.write(
          report
            ? `  ${stage}: ${report.indexed} new, ${report.unchanged} unchanged, ${report.failed.length} failed (${report.seconds.toFixed(1)} s)\n`
            : `  ${stage}\n`,
        ),
    });
    try {
      process.stdout.write(
        `collection "demo" (${await collection.store.count()} items, model ${collection.encoder.id})\n`,
      );
      for (const query of EXAMPLES) {
        show(
          `${query} [image]`,
          await searchCollection(collection, {
            parts: [{ kind: 'text', value: query }],
            k: 3,
            filter: { modality: 'image' },
          }),
        );
        show(
          `${query} [audio]`,
          await searchCollection(collection, {
            parts: [{ kind: 'text', value: query }],
            k: 3,
            filter: { modality: 'audio' },
          }),
        );
      }
      if (process.stdin.isTTY) await ask(collection);
    } finally {
      await collection.close();
    }
  });
}
