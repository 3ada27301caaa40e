import type { Command } from 'commander';
import { xmodalError } from '../errors.js';
import { checkCollectionName } from '../store/validate.js';
import { dropCollection } from '../tasks/collection-lock.js';
import { type CollectionSummary, collectionSummaries } from '../tasks/collection-summaries.js';
import { findCollection, shownStoreLocation } from '../tasks/workspace.js';
import { describeEncoderSpec } from '../types.js';
import { err, out, printable, printJson } from './io.js';
import { workspaceOf } from './workspace-flags.js';

/** `name  items (text n, image n, audio n)  model@dtype  weights digest`: one line a collection. */
function summaryLine(c: CollectionSummary): string {
  const counts = c.modalities
    ? `${c.items} items (${Object.entries(c.modalities)
        .map(([modality, n]) => `${modality} ${n}`)
        .join(', ')})`
    : `? items (${c.error})`;
  const model = c.encoder ? describeEncoderSpec(c.encoder) : `${c.encoderId}@?`;
  return `${c.name}  ${counts}  ${printable(model)}  weights ${c.encoder?.weights ?? '-'}`;
}

export function registerCollections(program: Command): void {
  const collections = program
    .command('collections')
    .description('list the collections in --home / --store, or drop one');
  collections
    .command('list', { isDefault: true })
    .description('one line per collection: name, items per modality, model@dtype, weights digest')
    .option(
      '--json',
      'print {"store", "collections": [{"name","dim","metric","encoderId","encoder"?,"items","modalities"}]}',
    )
    .action(async (flags: { json?: boolean }, command: Command) => {
      const workspace = workspaceOf(command);
      const store = shownStoreLocation(workspace);
      const summaries = await collectionSummaries(workspace);
      if (flags.json) return printJson({ store, collections: summaries });
      out(`${summaries.length === 0 ? 'no collections' : 'collections'} in ${printable(store)}\n`);
      for (const summary of summaries) out(`${summaryLine(summary)}\n`);
    });
  collections
    .command('drop')
    .description(
      'delete a collection: its vectors, metadata and uploaded files (and every space of a bundle)',
    )
    .argument('<name>', 'the collection')
    .option('--yes', 'really delete it (required: nothing is asked)')
    .action(async (name: string, flags: { yes?: boolean }, command: Command) => {
      const workspace = workspaceOf(command);
      checkCollectionName(name);
      const where = shownStoreLocation(workspace);
      if (!(await findCollection(workspace, name)))
        throw xmodalError('NOT_FOUND', `no collection "${name}" in ${where}`);
      if (!flags.yes)
        throw xmodalError(
          'BAD_ARGUMENT',
          `dropping "${name}" deletes its items for good: run it again with --yes`,
        );
      // An indexing run on it finishes first: a drop never leaves it half-written or fails that run.
      const onWait = (pid: number) =>
        err(`waiting: collection "${name}" is being indexed by another run (process ${pid})\n`);
      if (!(await dropCollection(workspace, name, { onWait })))
        throw xmodalError('NOT_FOUND', `no collection "${name}" in ${where}`);
      out(`dropped ${name}\n`);
    });
}
