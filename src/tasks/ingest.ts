import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Encoder, Modality } from '../encoders/encoder.js';
import { asXmodalError, type ErrorCode, xmodalError } from '../errors.js';
import { DEFAULT_MAX_AUDIO_SECONDS } from '../media/audio.js';
import { decodeText, detectFile, detectMedia } from '../media/detect.js';
import { DEFAULT_MAX_INPUT_BYTES, readMediaBytes } from '../media/input.js';
import { FFMPEG_HINT, findVideoTools } from '../media/video.js';
import type { Item, ItemRecord, Store } from '../store/store.js';
import { expandPaths } from './expand-paths.js';
import type { CollectionSpace } from './spaces.js';
import { chunkTextInTurns } from './text-chunks.js';
import {
  checkVideoOptions,
  isLongRecording,
  tooLargeForAClip,
  type VideoOptions,
  videoItemsInSpaces,
} from './video.js';
import type { OpenCollection } from './workspace.js';

export interface IngestOptions {
  /** Files, folders (walked recursively) and glob patterns. */
  paths: string[];
  /** Remove items whose files no longer exist. */
  prune?: boolean;
  /** Tags given to every item indexed in this run. */
  tags?: string[];
  /** Files per model call. */
  batchSize?: number;
  /** `files`: look up only the given files' items (a queue job's few files), not the whole collection. */
  lookup?: 'collection' | 'files';
  /** How videos are sampled into frames and sound windows. */
  video?: VideoOptions;
  /** Folders every file must lie in by its real path (the server's --index-root); default: anywhere. */
  roots?: readonly string[];
  /** Stops the run while it lists the collection or between files (each file is written whole); rejects with the signal's reason. */
  signal?: AbortSignal;
  onProgress?: (progress: IngestProgress) => void;
}

export interface IngestProgress {
  total: number;
  done: number;
  indexed: number;
  unchanged: number;
  failed: number;
}

/** A file that could not be indexed: why, and the error code when its content was at fault. */
export interface FailedFile {
  path: string;
  reason: string;
  code?: ErrorCode;
}

export interface IngestReport {
  /** Every file the run reports on: indexed, unchanged or failed (those it could not read while listing too). */
  files: number;
  indexed: number;
  unchanged: number;
  failed: FailedFile[];
  /** Files left out on purpose, with why (videos without ffmpeg). */
  skipped: { path: string; reason: string }[];
  pruned: number;
  /** Items in the collection after the run. */
  items: number;
  seconds: number;
}

/** A file read, hashed and recognised, ready to embed. */
interface PreparedFile {
  path: string;
  hash: string;
  /** `video` also for a recording too long to embed as one clip: both are streamed into moments. */
  modality: Modality | 'video';
  mime: string;
  /** Empty for a video or a long recording: the video stage streams it from its file. */
  bytes: Uint8Array;
  chunks?: string[];
  /** A long audio recording (not a video), streamed into sound windows. */
  recording?: boolean;
}

const LOOKAHEAD = 16;

/** SHA-256 of a file read as a stream (videos can be larger than memory). */
async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function* recordsOfFiles(store: Store, files: readonly string[]): AsyncIterable<ItemRecord> {
  for (const file of files) {
    for await (const record of store.iterate({ filter: { uriPrefix: file } }))
      if (record.uri === file) yield record;
  }
}

/** Stage 1 per file: read, hash and recognise it (text is cut into chunks); a bad file throws. */
async function prepareFile(path: string): Promise<PreparedFile> {
  // Videos are recognised from their head and never read whole: the video stage streams them.
  const head = await detectFile(path);
  const streamed = (hash: string, recording?: true): PreparedFile => ({
    path,
    hash,
    modality: 'video',
    mime: head!.mime,
    bytes: new Uint8Array(0),
    recording,
  });
  if (head?.modality === 'video') return streamed(await hashFile(path));
  // A recording longer than a clip may be (or larger than a file may be) is cut into moments as a video's sound is.
  if (head?.modality === 'audio' && tooLargeForAClip((await stat(path)).size))
    return streamed(await hashFile(path), true);
  const bytes = await readMediaBytes(path, 'file', DEFAULT_MAX_INPUT_BYTES);
  const hash = createHash('sha256').update(bytes).digest('hex');
  if (head?.modality === 'audio' && (await isLongRecording(bytes))) return streamed(hash, true);
  const detected = await detectMedia(bytes);
  if (!detected) throw xmodalError('UNSUPPORTED_FORMAT', 'not an image, audio, video or text file');
  if (detected.modality === 'video') throw xmodalError('BAD_INPUT', 'the file changed while it was read');
  const prepared: PreparedFile = { path, hash, bytes, ...detected };
  if (detected.modality === 'text') {
    prepared.chunks = await chunkTextInTurns(decodeText(bytes));
    if (prepared.chunks.length === 0) throw xmodalError('BAD_INPUT', 'no text in file');
  }
  return prepared;
}

/** Files prepared up to LOOKAHEAD ahead of the one being embedded, yielded in order with their outcome. */
async function* preparedInOrder(
  files: readonly string[],
): AsyncGenerator<{ path: string; file?: PreparedFile; error?: unknown }> {
  const pending: Promise<PreparedFile>[] = [];
  const start = (i: number) => {
    if (i < files.length && !pending[i]) {
      pending[i] = prepareFile(files[i]);
      pending[i].catch(() => {});
    }
  };
  for (let i = 0; i < Math.min(LOOKAHEAD, files.length); i++) start(i);
  for (let i = 0; i < files.length; i++) {
    start(i + LOOKAHEAD);
    try {
      yield { path: files[i], file: await pending[i] };
    } catch (error) {
      yield { path: files[i], error };
    }
    delete pending[i];
  }
}

/** What the collection already holds, per file: item ids, content hashes, and items lacking this run's tags. */
type KnownFiles = Map<string, { ids: string[]; hashes: Set<string>; untagged: string[] }>;

/**
 * Records read between turns of the event loop: the embedded store hands out whole pages without one, so a large
 * collection's listing would otherwise hold up every other request and the run's own signal.
 */
const LISTING_TURN = 2000;

async function knownFiles(
  records: AsyncIterable<ItemRecord>,
  newTags: readonly string[],
  signal: AbortSignal | undefined,
): Promise<KnownFiles> {
  const known: KnownFiles = new Map();
  let read = 0;
  for await (const record of records) {
    if (++read % LISTING_TURN === 0) {
      await nextTurn();
      signal?.throwIfAborted();
    }
    if (!record.uri) continue;
    const entry = known.get(record.uri) ?? { ids: [], hashes: new Set<string>(), untagged: [] };
    entry.ids.push(record.id);
    entry.hashes.add(record.contentHash ?? '');
    if (newTags.some((tag) => !record.tags?.includes(tag))) entry.untagged.push(record.id);
    known.set(record.uri, entry);
  }
  return known;
}

/** Adds this run's tags to items already indexed, keeping their vectors and their other tags. */
async function retag(store: Store, ids: readonly string[], newTags: readonly string[]): Promise<void> {
  const items: Item[] = [];
  for (const id of ids) {
    const item = await store.get(id);
    if (item) items.push({ ...item, tags: [...new Set([...(item.tags ?? []), ...newTags])] });
  }
  await store.upsert(items);
}

function isUnchanged(known: KnownFiles, file: PreparedFile): boolean {
  const existing = known.get(file.path);
  return (
    existing !== undefined &&
    existing.hashes.size === 1 &&
    existing.hashes.has(file.hash) &&
    // A text written in slices by a run killed mid-file has fewer items than chunks.
    (file.chunks === undefined || existing.ids.length === file.chunks.length)
  );
}

/** Stage 2: one model call per batch of files of one modality; a text file's chunks stay together. */
async function embedFiles(encoder: Encoder, batch: readonly PreparedFile[]): Promise<Float32Array[][]> {
  const modality = batch[0].modality as Modality;
  if (modality === 'text') {
    const rows = await encoder.embed(
      'text',
      batch.flatMap((f) => f.chunks!),
    );
    let next = 0;
    return batch.map((f) => {
      const start = next;
      next += f.chunks!.length;
      return rows.slice(start, next);
    });
  }
  const rows = await encoder.embed(
    modality,
    batch.map((f) => f.bytes),
  );
  return rows.map((row) => [row]);
}

/** A file's items: one per text chunk (with the chunk's text), else one for the file. */
function itemsFor(file: PreparedFile, vectors: Float32Array[], tags: string[] | undefined): Item[] {
  const base = {
    modality: file.modality as Modality,
    uri: file.path,
    contentHash: file.hash,
    mime: file.mime,
    tags,
  };
  if (file.chunks)
    return file.chunks.map((text, n) => ({
      ...base,
      id: `${file.path}#${n}`,
      vector: vectors[n],
      meta: { text, chunk: n },
    }));
  return [{ ...base, id: file.path, vector: vectors[0], meta: { bytes: file.bytes.byteLength } }];
}

/** Items per upsert: a store write runs on the event loop, so thousands of chunks go in slices with turns between. */
const WRITE_SLICE = 256;

/**
 * Stage 3: writes whole files, their items in one upsert (one transaction), then deletes chunks they no longer
 * have. A crash between the two leaves two content hashes on a file, which the next run sees as changed and
 * cleans up. Texts of more chunks than a slice are written slice by slice, giving other requests a turn
 * between; a crash among the slices leaves fewer items than chunks, which the next run sees as changed too.
 */
async function writeFiles(
  store: Store,
  known: KnownFiles,
  files: readonly PreparedFile[],
  items: readonly Item[],
): Promise<void> {
  // Only texts go in slices: their chunk count tells a whole write from a killed one; a video stays one write.
  if (files.every((file) => file.chunks)) await inSlices(items, (slice) => store.upsert(slice));
  else await store.upsert(items);
  const fresh = new Set(items.map((i) => i.id));
  const stale = files.flatMap((file) => (known.get(file.path)?.ids ?? []).filter((id) => !fresh.has(id)));
  await inSlices(stale, (slice) => store.delete(slice));
}

async function inSlices<T>(all: readonly T[], write: (slice: T[]) => Promise<unknown>): Promise<void> {
  for (let start = 0; start < all.length; start += WRITE_SLICE) {
    if (start > 0) await nextTurn();
    await write(all.slice(start, start + WRITE_SLICE));
  }
}

/** Stage 4 (--prune): removes the items of files that no longer exist, from every space; counts each once. */
async function pruneMissing(store: Store, known: Iterable<KnownFiles>): Promise<number> {
  const gone = new Set<string>();
  for (const held of known)
    for (const [uri, entry] of held) if (!existsSync(uri)) for (const id of entry.ids) gone.add(id);
  return gone.size ? store.delete([...gone]) : 0;
}

/** Counts and failures of a run, told to `onProgress` after every change. */
class IngestTally {
  readonly progress: IngestProgress;
  readonly failed: FailedFile[];
  readonly skipped: { path: string; reason: string }[] = [];

  constructor(
    total: number,
    skipped: readonly { path: string; reason: string }[],
    private readonly onProgress?: (progress: IngestProgress) => void,
  ) {
    this.failed = [...skipped];
    this.progress = { total, done: 0, indexed: 0, unchanged: 0, failed: this.failed.length };
  }

  indexed(files: number): void {
    this.progress.indexed += files;
    this.progress.done += files;
    this.tell();
  }

  unchanged(): void {
    this.progress.unchanged++;
    this.progress.done++;
    this.tell();
  }

  skip(path: string, reason: string): void {
    this.skipped.push({ path, reason });
    this.progress.done++;
    this.tell();
  }

  fail(path: string, error: unknown): void {
    const { code, message } = asXmodalError(error);
    const reason = message
      .replace(`${path}: `, '')
      .replace(`${path} `, 'file ')
      .replace(/^<\d+ bytes>: /, '');
    this.failed.push({ path, reason, code });
    this.progress.failed++;
    this.progress.done++;
    this.tell();
  }

  private tell(): void {
    this.onProgress?.({ ...this.progress });
  }
}

/**
 * Indexes files into a collection: unchanged files (same content hash) are skipped, changed ones re-embedded,
 * bad ones reported and skipped. Each batch of whole files is written in one upsert, so a run killed at any
 * point and run again ends with every file exactly once. A collection of separate spaces gets each file in
 * every space that embeds its modality (text in all); a file missing from one is re-embedded.
 */
export async function ingest(collection: OpenCollection, options: IngestOptions): Promise<IngestReport> {
  const started = performance.now();
  const spaces: readonly CollectionSpace[] = collection.spaces ?? [
    { name: '', encoder: collection.encoder, store: collection.store },
  ];
  // A video goes to every space that embeds its pictures or its sound.
  const spacesFor = (modality: Modality | 'video') =>
    spaces.filter((s) =>
      (modality === 'video' ? ['image', 'audio'] : [modality]).some((m) =>
        s.encoder.modalities.includes(m as Modality),
      ),
    );
  const batchSize = options.batchSize ?? 16;
  if (options.video) checkVideoOptions(options.video);
  const { files, skipped } = await expandPaths(options.paths, {
    roots: options.roots,
    signal: options.signal,
  });
  const tally = new IngestTally(files.length, skipped, options.onProgress);
  const newTags = options.tags ?? [];
  const known = new Map<CollectionSpace, KnownFiles>();
  for (const space of spaces) {
    const records = options.lookup === 'files' ? recordsOfFiles(space.store, files) : space.store.iterate();
    known.set(space, await knownFiles(records, newTags, options.signal));
  }

  /** Every space's vectors of a batch of files of one modality. */
  const embedInSpaces = async (batch: PreparedFile[]) => {
    const targets = spacesFor(batch[0].modality);
    if (targets.length === 0)
      throw xmodalError(
        'MODALITY_UNSUPPORTED',
        `${collection.encoder.id} does not embed ${batch[0].modality}`,
      );
    const bySpace = new Map<CollectionSpace, Float32Array[][]>();
    for (const space of targets) bySpace.set(space, await embedFiles(space.encoder, batch));
    return bySpace;
  };
  const write = async (batch: PreparedFile[], bySpace: Map<CollectionSpace, Float32Array[][]>) => {
    for (const [space, vectors] of bySpace)
      await writeFiles(
        space.store,
        known.get(space)!,
        batch,
        batch.flatMap((file, i) => itemsFor(file, vectors[i], options.tags)),
      );
    tally.indexed(batch.length);
  };
  /**
   * Stage 2-3 for a video: its frames and sound windows in every space that sees or hears them, each space in one
   * write, nothing written before all are embedded (a run killed mid-video leaves none).
   */
  const indexVideo = async (file: PreparedFile) => {
    if (!findVideoTools())
      return tally.skip(
        file.path,
        file.recording
          ? `audio over ${DEFAULT_MAX_AUDIO_SECONDS} s is indexed moment by moment, which needs ffmpeg: ${FFMPEG_HINT}`
          : `video needs ffmpeg: ${FFMPEG_HINT}`,
      );
    try {
      const bySpace = await videoItemsInSpaces(spacesFor('video'), file, {
        tags: options.tags,
        video: options.video,
      });
      for (const [space, items] of bySpace) await writeFiles(space.store, known.get(space)!, [file], items);
      tally.indexed(1);
    } catch (error) {
      tally.fail(file.path, error);
    }
  };
  const flush = async (batch: PreparedFile[]) => {
    if (batch.length === 0) return;
    let vectors: Map<CollectionSpace, Float32Array[][]>;
    try {
      vectors = await embedInSpaces(batch);
    } catch {
      // One bad file fails its whole batch: embed one by one to find it and keep the rest.
      for (const file of batch) {
        try {
          await write([file], await embedInSpaces([file]));
        } catch (error) {
          tally.fail(file.path, error);
        }
      }
      return;
    }
    // One transaction per batch: a durable commit per file would cost more than embedding it.
    await write(batch, vectors);
  };

  const pending = new Map<Modality, PreparedFile[]>();
  for await (const { path, file, error } of preparedInOrder(files)) {
    options.signal?.throwIfAborted();
    if (!file) {
      tally.fail(path, error);
      continue;
    }
    const targets = spacesFor(file.modality);
    if (targets.length > 0 && targets.every((space) => isUnchanged(known.get(space)!, file))) {
      // Not re-embedded, but this run's tags still apply to it.
      for (const space of targets) {
        const untagged = known.get(space)!.get(file.path)!.untagged;
        if (untagged.length) await retag(space.store, untagged, newTags);
      }
      tally.unchanged();
      continue;
    }
    if (file.modality === 'video') {
      await indexVideo(file);
      continue;
    }
    const queue = pending.get(file.modality) ?? [];
    queue.push(file);
    pending.set(file.modality, queue);
    const rows = queue.reduce((n, f) => n + (f.chunks?.length ?? 1), 0);
    if (rows >= batchSize) {
      pending.set(file.modality, []);
      await flush(queue);
    }
  }
  for (const queue of pending.values()) {
    options.signal?.throwIfAborted();
    await flush(queue);
  }

  const pruned = options.prune ? await pruneMissing(collection.store, known.values()) : 0;
  return {
    files: files.length + skipped.length,
    indexed: tally.progress.indexed,
    unchanged: tally.progress.unchanged,
    failed: tally.failed,
    skipped: tally.skipped,
    pruned,
    items: await collection.store.count(),
    seconds: (performance.now() - started) / 1000,
  };
}
