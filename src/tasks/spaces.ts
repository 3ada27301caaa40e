import type { Encoder, Modality } from '../encoders/encoder.js';
import { xmodalError } from '../errors.js';
import type {
  CollectionInfo,
  Filter,
  Item,
  ItemRecord,
  IterateOptions,
  SearchHit,
  Store,
} from '../store/store.js';

/**
 * One vector space of a collection: its encoder and the store holding the items embedded into it. A collection
 * on a bundle of separate spaces has one per part (sub-collections of any backend); any other has one.
 */
export interface CollectionSpace {
  /** The bundle part's name; empty for a single-space collection. */
  name: string;
  encoder: Encoder;
  store: Store;
}

/** Where space `space` of collection `name` lives: the collection itself for the first, a sibling for the rest. */
export function spaceCollectionName(name: string, space: string, index: number): string {
  return index === 0 ? name : `${name}__${space}`;
}

/**
 * The modalities whose items count in this space: what its encoder embeds and no earlier space does (text,
 * stored in every space, counts once, in the first).
 */
export function ownedModalities(
  spaces: readonly Pick<CollectionSpace, 'encoder'>[],
  index: number,
): Modality[] {
  const earlier = new Set(spaces.slice(0, index).flatMap((s) => s.encoder.modalities));
  return spaces[index].encoder.modalities.filter((m) => !earlier.has(m));
}

function narrow(filter: Filter | undefined, owned: readonly Modality[]): Filter | undefined {
  const wanted = filter?.modality === undefined ? owned : [filter.modality].flat();
  const modality = owned.filter((m) => wanted.includes(m));
  return modality.length ? { ...filter, modality } : undefined;
}

/**
 * A multi-space collection read as one store: an item is found, counted and listed once (in the first space
 * that owns its modality). Writing and searching take a vector of one space, so they go through the spaces
 * themselves, and this store refuses them.
 */
export class SpacesStore implements Store {
  constructor(
    readonly info: CollectionInfo,
    private readonly spaces: readonly CollectionSpace[],
  ) {}

  private refuse(what: string): never {
    throw xmodalError(
      'SEPARATE_SPACES',
      `collection "${this.info.name}" holds separate vector spaces (${this.spaces.map((s) => s.name).join(', ')}); ${what} goes through one space`,
    );
  }

  async upsert(_items: readonly Item[]): Promise<void> {
    this.refuse('writing a vector');
  }

  async search(): Promise<SearchHit[]> {
    this.refuse('a vector search');
  }

  async get(id: string): Promise<Item | undefined> {
    for (const space of this.spaces) {
      const item = await space.store.get(id);
      if (item) return item;
    }
    return undefined;
  }

  async delete(ids: readonly string[]): Promise<number> {
    let existed = 0;
    for (const id of ids) if (await this.get(id)) existed++;
    for (const space of this.spaces) await space.store.delete(ids);
    return existed;
  }

  async count(filter?: Filter): Promise<number> {
    let total = 0;
    for (const [i, space] of this.spaces.entries()) {
      const own = narrow(filter, ownedModalities(this.spaces, i));
      if (own) total += await space.store.count(own);
    }
    return total;
  }

  /** Every space's owned items merged in id order. */
  async *iterate(options: IterateOptions = {}): AsyncIterable<ItemRecord> {
    const cursors: { iterator: AsyncIterator<ItemRecord>; head?: ItemRecord }[] = [];
    for (const [i, space] of this.spaces.entries()) {
      const own = narrow(options.filter, ownedModalities(this.spaces, i));
      if (!own) continue;
      const iterator = space.store.iterate({ ...options, filter: own })[Symbol.asyncIterator]();
      const first = await iterator.next();
      if (!first.done) cursors.push({ iterator, head: first.value });
    }
    while (cursors.length) {
      let next = 0;
      for (let c = 1; c < cursors.length; c++) if (cursors[c].head!.id < cursors[next].head!.id) next = c;
      const cursor = cursors[next];
      yield cursor.head!;
      const step = await cursor.iterator.next();
      if (step.done) cursors.splice(next, 1);
      else cursor.head = step.value;
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.spaces.map((space) => space.store.close()));
  }
}
