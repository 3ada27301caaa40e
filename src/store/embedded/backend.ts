// The embedded backend: a directory holding one sub-directory per collection.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { CollectionInfo, OpenStoreOptions, StoreBackend } from '../store.js';
import { checkCollectionName, resolveOpenOptions } from '../validate.js';
import { ItemsDb } from './items-db.js';
import { type EmbeddedOptions, ITEMS_FILE, markDropped, SqliteHnswStore } from './sqlite-hnsw-store.js';

export const embeddedBackend: StoreBackend = {
  async open(home: string, options: OpenStoreOptions & EmbeddedOptions) {
    return SqliteHnswStore.open(home, {
      ...resolveOpenOptions(options),
      indexSaveEvery: options.indexSaveEvery,
      otherProcessPollMs: options.otherProcessPollMs,
    });
  },

  async listCollections(home: string): Promise<CollectionInfo[]> {
    if (!existsSync(home)) return [];
    const infos: CollectionInfo[] = [];
    for (const entry of readdirSync(home, { withFileTypes: true })) {
      const file = join(home, entry.name, ITEMS_FILE);
      const info = entry.isDirectory() && existsSync(file) ? ItemsDb.readInfo(file) : undefined;
      if (info) infos.push(info);
    }
    return infos.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  },

  async dropCollection(home: string, name: string): Promise<boolean> {
    const dir = join(home, checkCollectionName(name));
    if (!existsSync(join(dir, ITEMS_FILE))) return false;
    markDropped(join(dir, ITEMS_FILE));
    rmSync(dir, { recursive: true, force: true });
    return true;
  },
};
