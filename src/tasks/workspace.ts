import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Encoder, EncoderOptions } from '../encoders/encoder.js';
import {
  BUNDLE_FILE,
  loadEncoder,
  locateModel,
  modelId,
  partNames,
  partSpec,
  readBundleManifest,
} from '../encoders/load.js';
import { xmodalError } from '../errors.js';
import { listCollections, openStore, shownLocation } from '../store/open.js';
import type { CollectionInfo, Store } from '../store/store.js';
import { type CollectionSpace, SpacesStore, spaceCollectionName } from './spaces.js';

export const DEFAULT_COLLECTION = 'default';

/** Where collections live: `--home` / `XMODAL_HOME` (default ~/.xmodal), or a `--store postgres://...` URL. */
export interface Workspace {
  home?: string;
  store?: string;
}

/** The home folder: `--home`, else `XMODAL_HOME`, else ~/.xmodal. */
export function homeDir(workspace: Workspace): string {
  return resolve(workspace.home ?? process.env.XMODAL_HOME ?? join(homedir(), '.xmodal'));
}

export function storeLocation(workspace: Workspace): string {
  if (workspace.store) return workspace.store;
  return join(homeDir(workspace), 'collections');
}

/** Where collections live as messages and listings may show it: a store URL's password or token hidden. */
export function shownStoreLocation(workspace: Workspace): string {
  return shownLocation(storeLocation(workspace));
}

/** Where uploaded files are kept: beside the collections, one folder per collection. */
export function uploadsRoot(workspace: Workspace): string {
  return join(homeDir(workspace), 'uploads');
}

/**
 * The sub-collections holding the other spaces of a collection made on a bundle of separate spaces: read from the
 * bundle's manifest (no model is loaded), each only when it is stamped with that part's model, so a collection
 * that merely shares the name pattern is never taken for one.
 */
export function spaceCollections(info: CollectionInfo, all: readonly CollectionInfo[]): string[] {
  try {
    const bundle = locateModel(info.encoder?.model ?? info.encoderId);
    const file = join(bundle.source, BUNDLE_FILE);
    if (!bundle.local || !existsSync(file)) return [];
    const manifest = readBundleManifest(file);
    if (manifest.space !== undefined && manifest.space !== 'separate') return [];
    return partNames(manifest).flatMap((part, i) => {
      if (i === 0) return [];
      const stored = all.find((c) => c.name === spaceCollectionName(info.name, part, i));
      const partId = modelId(locateModel(partSpec(bundle.source, manifest.parts[i])));
      return stored?.encoderId === partId ? [stored.name] : [];
    });
  } catch {
    // The model is gone or unreadable: only the collection itself can be named.
    return [];
  }
}

export interface OpenCollection {
  encoder: Encoder;
  /** On a bundle of separate spaces, a read-only view over the spaces' stores (see `SpacesStore`). */
  store: Store;
  info: CollectionInfo;
  /** Only on a bundle of separate spaces: one store per space, each written and searched with its part. */
  spaces?: readonly CollectionSpace[];
  close(): Promise<void>;
}

/**
 * Every collection of the workspace with its stamp, by name, and the sub-collections holding its other spaces
 * (a bundle of separate spaces; none for any other), which are part of it and not collections of their own.
 */
export async function listWithSpaces(
  workspace: Workspace,
): Promise<{ info: CollectionInfo; spaces: string[] }[]> {
  const all = await listCollections(storeLocation(workspace));
  const listed = all.map((info) => ({ info, spaces: spaceCollections(info, all) }));
  const spaces = new Set(listed.flatMap((c) => c.spaces));
  return listed.filter((c) => !spaces.has(c.info.name));
}

/** Every collection of the workspace with its stamp, by name: the one list the library, the CLI and the server share. */
export async function listWorkspaceCollections(workspace: Workspace): Promise<CollectionInfo[]> {
  return (await listWithSpaces(workspace)).map((c) => c.info);
}

export async function findCollection(
  workspace: Workspace,
  name: string,
): Promise<CollectionInfo | undefined> {
  return (await listWorkspaceCollections(workspace)).find((c) => c.name === name);
}

/**
 * Opens a collection with the encoder that made it: the saved spec (model, dtype, adapter, logit scale) is
 * reloaded exactly. A new collection is created with `model` (or the default model) only when `create` is set;
 * an existing one refuses a different model or dtype, and other weights of the same model (the store checks the
 * saved digest). A collection made before specs were saved opens with its model at the asked dtype (default fp32,
 * what it was searched with before) and is stamped with that spec, without weights it cannot vouch for.
 */
export async function openCollection(
  workspace: Workspace,
  name: string,
  options: { model?: string; create?: boolean; encoder?: EncoderOptions } = {},
): Promise<OpenCollection> {
  const listed = await listWithSpaces(workspace);
  const existing = listed.find((c) => c.info.name === name)?.info;
  // Writing a bundle's space as a collection of its own would mix a second model's vectors into it.
  const owner = listed.find((c) => c.spaces.includes(name));
  if (owner)
    throw xmodalError(
      'CONFLICT',
      `"${name}" holds a vector space of collection "${owner.info.name}"; use another --collection`,
    );
  if (!existing && !options.create)
    throw xmodalError(
      'NOT_FOUND',
      `no collection "${name}" in ${shownStoreLocation(workspace)}; index something first`,
    );
  if (existing && options.model) {
    const wanted = modelId(locateModel(options.model));
    if (wanted !== existing.encoderId)
      throw xmodalError(
        'ENCODER_MISMATCH',
        `collection "${name}" was made with ${existing.encoderId}, not ${wanted}; use another --collection`,
      );
  }
  const saved = existing?.encoder;
  if (saved && options.encoder?.dtype && options.encoder.dtype !== saved.dtype)
    throw xmodalError(
      'ENCODER_MISMATCH',
      `collection "${name}" was indexed with ${saved.dtype} weights, not ${options.encoder.dtype}: drop --dtype (its ${saved.dtype} weights are used) or use another --collection`,
    );
  const encoder = saved
    ? await loadEncoder(saved.adapter ?? saved.model, {
        ...options.encoder,
        dtype: saved.dtype,
        logitScale: saved.logitScale,
      })
    : await loadEncoder(existing?.encoderId ?? options.model, options.encoder);
  const location = storeLocation(workspace);
  const opened: Store[] = [];
  try {
    if (!encoder.spaces) {
      const store = await openStore(location, {
        collection: name,
        dim: encoder.dim,
        encoderId: encoder.id,
        encoder: encoder.spec,
      });
      opened.push(store);
      return {
        encoder,
        store,
        info: store.info,
        async close() {
          await store.close();
          await encoder.dispose();
        },
      };
    }
    // One collection per space: the first is stamped with the bundle, the others with their part. A new
    // collection never takes over a collection of its own that already has a space's name (a drop would delete it).
    if (!existing) {
      // Every stored name: the listed collections and the spaces they hide.
      const taken = new Set(listed.flatMap((c) => [c.info.name, ...c.spaces]));
      for (const [i, space] of encoder.spaces.entries()) {
        const spaceName = spaceCollectionName(name, space.name, i);
        if (i > 0 && taken.has(spaceName))
          throw xmodalError(
            'CONFLICT',
            `collection "${spaceName}" exists, and a collection "${name}" on ${encoder.id} needs that name for its space "${space.name}"; use another --collection`,
          );
      }
    }
    const spaces: CollectionSpace[] = [];
    for (const [i, space] of encoder.spaces.entries()) {
      const store = await openStore(location, {
        collection: spaceCollectionName(name, space.name, i),
        dim: space.encoder.dim,
        encoderId: i === 0 ? encoder.id : space.encoder.id,
        encoder: i === 0 ? { ...encoder.spec, dim: space.encoder.dim } : space.encoder.spec,
      });
      opened.push(store);
      spaces.push({ ...space, store });
    }
    const store = new SpacesStore(spaces[0].store.info, spaces);
    return {
      encoder,
      store,
      info: store.info,
      spaces,
      async close() {
        await store.close();
        await encoder.dispose();
      },
    };
  } catch (error) {
    await Promise.all(opened.map((store) => store.close()));
    await encoder.dispose();
    throw error;
  }
}
