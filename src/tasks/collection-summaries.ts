// What `xmodal collections` lists: each collection's stamp with its item counts, read through the Store interface.
import { errorMessage } from '../errors.js';
import { openStore } from '../store/open.js';
import type { CollectionInfo, Store } from '../store/store.js';
import { MODALITIES, type Modality } from '../types.js';
import { listWithSpaces, openCollection, storeLocation, type Workspace } from './workspace.js';

/** How many items a collection holds, in all and per modality. */
export interface ItemCounts {
  items: number;
  modalities: Record<Modality, number>;
}

/** One collection as listed: its stamp and counts, or why its counts could not be read. */
export interface CollectionSummary extends CollectionInfo {
  items?: number;
  modalities?: Record<Modality, number>;
  /** Set when the collection could not be opened to count its items (the list goes on without them). */
  error?: string;
}

/** The counts `GET /collections/:name/stats` and `xmodal collections` report. */
export async function countItems(store: Store): Promise<ItemCounts> {
  const [items, ...perModality] = await Promise.all([
    store.count(),
    ...MODALITIES.map((modality) => store.count({ modality })),
  ]);
  const modalities = Object.fromEntries(MODALITIES.map((m, i) => [m, perModality[i]]));
  return { items, modalities: modalities as Record<Modality, number> };
}

/**
 * Every collection of the workspace with its item counts, by name. Each store is opened with its own stamp,
 * no model loaded (a collection of separate spaces is opened with its model, to count each item once across its
 * spaces, as its stats do); one that cannot be opened is listed with `error` instead of counts.
 */
export async function collectionSummaries(workspace: Workspace): Promise<CollectionSummary[]> {
  const location = storeLocation(workspace);
  const summaries: CollectionSummary[] = [];
  for (const { info, spaces } of await listWithSpaces(workspace)) {
    try {
      if (spaces.length > 0) {
        const collection = await openCollection(workspace, info.name);
        try {
          summaries.push({ ...info, ...(await countItems(collection.store)) });
        } finally {
          await collection.close();
        }
        continue;
      }
      const store = await openStore(location, {
        collection: info.name,
        dim: info.dim,
        metric: info.metric,
        encoderId: info.encoderId,
        encoder: info.encoder,
      });
      try {
        summaries.push({ ...info, ...(await countItems(store)) });
      } finally {
        await store.close();
      }
    } catch (error) {
      summaries.push({ ...info, error: errorMessage(error) });
    }
  }
  return summaries;
}
