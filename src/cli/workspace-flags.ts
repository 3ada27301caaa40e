import type { Command } from 'commander';
import { DEFAULT_COLLECTION, type Workspace } from '../tasks/workspace.js';

/** `--home` and `--store` are global; `--collection` belongs to each command that uses one. */
export function workspaceOf(command: Command): Workspace {
  const flags = command.optsWithGlobals() as { home?: string; store?: string };
  return { home: flags.home, store: flags.store };
}

export function withCollectionFlag(command: Command): Command {
  return command.option('-c, --collection <name>', 'collection name', DEFAULT_COLLECTION);
}
