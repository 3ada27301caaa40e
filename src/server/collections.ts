import type { Encoder, EncoderOptions } from '../encoders/encoder.js';
import { xmodalError } from '../errors.js';
import { listCollections } from '../store/open.js';
import type { CollectionInfo } from '../store/store.js';
import { checkCollectionName } from '../store/validate.js';
import {
  dropCollection,
  findCollection,
  type OpenCollection,
  openCollection,
  storeLocation,
  type Workspace,
} from '../tasks/workspace.js';

/** Collections share an encoder only when everything in its spec agrees (same model, dtype, adapter, scale). */
function specKey(encoder: Encoder): string {
  const { model, dtype, adapter, logitScale } = encoder.spec;
  return JSON.stringify([model, dtype, adapter ?? null, logitScale]);
}

/**
 * The collections a server has open, each kept open once opened. Collections made with the same model share
 * one encoder (so concurrent requests batch together across collections): `share` wraps each new model once.
 */
export class CollectionPool {
  private readonly open = new Map<string, Promise<OpenCollection>>();
  private readonly encoders = new Map<string, Encoder>();

  constructor(
    readonly workspace: Workspace,
    private readonly share: (encoder: Encoder) => Encoder,
    private readonly encoderOptions: EncoderOptions = {},
  ) {}

  /** Registers an encoder already wrapped for sharing (the server's own model). */
  adopt(encoder: Encoder): void {
    this.encoders.set(specKey(encoder), encoder);
  }

  async list(): Promise<CollectionInfo[]> {
    return listCollections(storeLocation(this.workspace));
  }

  get(name: string, options: { create?: boolean; model?: string } = {}): Promise<OpenCollection> {
    checkCollectionName(name);
    let pending = this.open.get(name);
    if (!pending) {
      pending = this.openShared(name, options);
      pending.catch(() => this.open.delete(name));
      this.open.set(name, pending);
    }
    return pending;
  }

  private async openShared(
    name: string,
    options: { create?: boolean; model?: string },
  ): Promise<OpenCollection> {
    // The server's dtype is for collections it creates; an existing one opens with its own saved spec.
    const { dtype, ...reopen } = this.encoderOptions;
    const opened = await openCollection(this.workspace, name, {
      ...options,
      encoder: options.create ? this.encoderOptions : reopen,
    });
    // Models load their towers lazily, so the collection's own copy costs nothing when the shared one is used.
    let shared = this.encoders.get(specKey(opened.encoder));
    let own: Encoder | undefined = opened.encoder;
    if (!shared) {
      shared = this.share(opened.encoder);
      this.encoders.set(specKey(shared), shared);
      own = undefined; // the shared wrapper holds it now, and the pool disposes it
    }
    return {
      encoder: shared,
      store: opened.store,
      info: opened.info,
      spaces: opened.spaces,
      async close() {
        await opened.store.close();
        await own?.dispose();
      },
    };
  }

  /** Opens a collection, creating it with `model` when there is none. */
  async getOrCreate(name: string, model: string): Promise<OpenCollection> {
    if (this.open.has(name) || (await findCollection(this.workspace, name))) return this.get(name);
    return this.get(name, { create: true, model });
  }

  async create(name: string, model: string): Promise<OpenCollection> {
    if (this.open.has(name) || (await findCollection(this.workspace, name)))
      throw xmodalError('CONFLICT', `collection "${name}" already exists`);
    return this.get(name, { create: true, model });
  }

  async drop(name: string): Promise<void> {
    checkCollectionName(name);
    const pending = this.open.get(name);
    this.open.delete(name);
    if (pending) await (await pending.catch(() => undefined))?.close();
    if (!(await dropCollection(this.workspace, name)))
      throw xmodalError('NOT_FOUND', `no collection "${name}"`);
  }

  async close(): Promise<void> {
    const all = [...this.open.values()];
    this.open.clear();
    await Promise.all(all.map(async (p) => (await p.catch(() => undefined))?.close()));
    await Promise.all([...this.encoders.values()].map((e) => e.dispose()));
    this.encoders.clear();
  }
}
