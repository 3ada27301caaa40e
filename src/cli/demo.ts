import { basename } from 'node:path';
import type { Command } from 'commander';
import { xmodalError } from '../errors.js';
import { openDemoCollection, type SearchResults } from '../library/collection.js';
import { DEMO_COLLECTION } from '../tasks/demo.js';
import { hitPlace, VIDEO_FILTER } from '../tasks/moments.js';
import { out } from './io.js';
import type { ModelFlags } from './shared.js';
import { workspaceOf } from './workspace-flags.js';

const EXAMPLES = ['a dog', 'a red apple', 'piano', 'drum', 'a car'];

function show(query: string, { results }: SearchResults): void {
  const names = results.map(
    (h) => `${hitPlace(h, basename(h.uri ?? h.id).replace(/\.(png|ogg|mp4)$/, ''))} ${h.score.toFixed(2)}`,
  );
  out(`  ${query.padEnd(14)} → ${names.join(' | ')}\n`);
}

/** `npm start`: builds the demo collection from shipped media (once), shows a few searches, then serves the web UI on it. */
export function registerDemo(program: Command, withModelFlags: (c: Command) => Command): void {
  withModelFlags(
    program
      .command('demo')
      .description(
        'build a demo collection from shipped media, search it, and serve the web UI on it (offline)',
      )
      .option('-p, --port <port>', 'port for the web UI', '7700')
      .option('--no-serve', 'only build the collection and print the example searches'),
  ).action(async (flags: ModelFlags & { port: string; serve: boolean }, command: Command) => {
    out('xmodal demo: indexing shipped emoji, sounds and a video of them (first run only) ...\n');
    const model = flags.model ?? process.env.XMODAL_MODEL;
    const collection = await openDemoCollection({
      ...workspaceOf(command),
      model,
      onProgress: (stage, report) =>
        out(
          report
            ? `  ${stage}: ${report.indexed} new, ${report.unchanged} unchanged, ${report.failed.length} failed (${report.seconds.toFixed(1)} s)\n`
            : `  ${stage}\n`,
        ),
    });
    try {
      out(`collection "demo" (${await collection.count()} items, model ${collection.encoder.id})\n`);
      const hasVideo = (await collection.count(VIDEO_FILTER)) > 0;
      for (const query of EXAMPLES) {
        show(`${query} [image]`, await collection.search({ text: query, k: 3, modality: 'image' }));
        show(`${query} [audio]`, await collection.search({ text: query, k: 3, modality: 'audio' }));
        if (hasVideo)
          show(`${query} [video]`, await collection.search({ text: query, k: 3, meta: VIDEO_FILTER.meta }));
      }
    } finally {
      await collection.close();
    }
    if (!flags.serve) return;
    const port = Number(flags.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw xmodalError('BAD_ARGUMENT', `bad --port ${flags.port}`);
    const { buildApp } = await import('../server/app.js');
    const { listenUntilStopped } = await import('../server/listen.js');
    const app = await buildApp({ workspace: workspaceOf(command), collection: DEMO_COLLECTION, model });
    const address = await listenUntilStopped(app, { port, host: '127.0.0.1' });
    out(`\nOpen ${address}/ to search the demo collection (API docs at ${address}/docs). Ctrl-C stops.\n`);
  });
}
