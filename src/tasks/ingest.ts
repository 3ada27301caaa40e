import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import type { Modality } from '../encoders/encoder.js';
import { asXmodalError } from '../errors.js';
import { detectFile, detectMedia } from '../media/detect.js';
import { DEFAULT_MAX_INPUT_BYTES, readMediaBytes } from '../media/input.js';
import { FFMPEG_HINT, findVideoTools } from '../media/video.js';
import type { Item } from '../store/store.js';
import { expandPaths } from './expand-paths.js';
import { chunkText } from './text-chunks.js';
import { checkVideoOptions, type VideoOptions, videoItems } from './video.js';
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
  /** How videos are sampled into frames and sound windows. */
  video?: VideoOptions;
  onProgress?: (progress: IngestProgress) => void;
  /** Folders every file must lie in by its real path (the server's --index-root); default: anywhere. */
  roots?: readonly string[];
  /** Stops the run between files (each file is written whole); rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface IngestProgress {
  total: number;
  done: number;
  indexed: number;
  unchanged: number;
  failed: number;
}

export interface IngestReport {
  files: number;
  indexed: number;
  unchanged: number;
  failed: { path: string; reason: string }[];
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
  modality: Modality | 'video';
  mime: string;
  /** Empty for a video: it is streamed from its file. */
  bytes: Uint8Array;
  chunks?: string[];
}

const LOOKAHEAD = 16;

/** SHA-256 of a file read as a stream (videos can be larger than memory). */
async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function prepare(path: string): Promise<PreparedFile> {
  // Videos are recognised from their head and never read whole: the video stage streams them.
  const head = await detectFile(path);
  if (head?.modality === 'video')
    return { path, hash: await hashFile(path), modality: 'video', mime: head.mime, bytes: new Uint8Array(0) };
  const bytes = await readMediaBytes(path, 'file', DEFAULT_MAX_INPUT_BYTES);
  const hash = createHash('sha256').update(bytes).digest('hex');
  const detected = await detectMedia(bytes);
  if (!detected) throw new Error('not an image, audio, video or text file');
  if (detected.modality === 'video') throw new Error('the file changed while it was read');
  const prepared: PreparedFile = { path, hash, bytes, ...detected };
  if (detected.modality === 'text') {
    prepared.chunks = chunkText(new TextDecoder().decode(bytes));
    if (prepared.chunks.length === 0) throw new Error('no text in file');
  }
  return prepared;
}

/**
 * Indexes files into a collection: unchanged files (same content hash) are skipped, changed ones re-embedded,
 * bad ones reported and skipped. Each batch of whole files is written in one upsert, so a run killed at any
 * point and run again ends with every file exactly once.
 */
export async function ingest(collection: OpenCollection, options: IngestOptions): Promise<IngestReport> {
  const started = performance.now();
  const { store, encoder } = collection;
  const batchSize = options.batchSize ?? 16;
  if (options.video) checkVideoOptions(options.video);
  const { files, skipped: failed } = await expandPaths(options.paths, {
    roots: options.roots,
    signal: options.signal,
  });
  const skipped: { path: string; reason: string }[] = [];

  // What the collection already holds, per file.
  const newTags = options.tags ?? [];
  const known = new Map<string, { ids: string[]; hashes: Set<string>; untagged: string[] }>();
  for await (const record of store.iterate()) {
    if (!record.uri) continue;
    const entry = known.get(record.uri) ?? { ids: [], hashes: new Set<string>(), untagged: [] };
    entry.ids.push(record.id);
    if (newTags.some((tag) => !record.tags?.includes(tag))) entry.untagged.push(record.id);
    entry.hashes.add(record.contentHash ?? '');
    known.set(record.uri, entry);
  }

  const progress: IngestProgress = {
    total: files.length,
    done: 0,
    indexed: 0,
    unchanged: 0,
    failed: failed.length,
  };
  const report = () => options.onProgress?.({ ...progress });
  const fail = (path: string, error: unknown) => {
    failed.push({
      path,
      reason: asXmodalError(error)
        .message.replace(`${path}: `, '')
        .replace(`${path} `, 'file ')
        .replace(/^<\d+ bytes>: /, ''),
    });
    progress.failed++;
    progress.done++;
    report();
  };

  const itemsFor = (file: PreparedFile, vectors: Float32Array[]): Item[] => {
    if (file.modality === 'video') throw new Error('videos are written by the video stage');
    const base = {
      modality: file.modality as Modality,
      uri: file.path,
      contentHash: file.hash,
      mime: file.mime,
      tags: options.tags,
    };
    if (file.chunks)
      return file.chunks.map((text, n) => ({
        ...base,
        id: `${file.path}#${n}`,
        vector: vectors[n],
        meta: { text, chunk: n },
      }));
    return [{ ...base, id: file.path, vector: vectors[0], meta: { bytes: file.bytes.byteLength } }];
  };

  const embedFiles = async (batch: PreparedFile[]): Promise<Float32Array[][]> => {
    const modality = batch[0].modality as Modality;
    if (modality === 'text') {
      const rows = await encoder.embedText(batch.flatMap((f) => f.chunks!));
      let next = 0;
      return batch.map((f) => {
        const start = next;
        next += f.chunks!.length;
        return rows.slice(start, next);
      });
    }
    const rows =
      modality === 'image'
        ? await encoder.embedImages(batch.map((f) => f.bytes))
        : await encoder.embedAudio(batch.map((f) => f.bytes));
    return rows.map((row) => [row]);
  };

  /**
   * Writes whole files: their items in one upsert (one transaction, so a file is never half-written), then
   * deletes chunks they no longer have. A crash between the two leaves two content hashes on a file, which
   * the next run sees as changed and cleans up.
   */
  const write = async (files: readonly PreparedFile[], items: Item[]) => {
    await store.upsert(items);
    const fresh = new Set(items.map((i) => i.id));
    const stale = files.flatMap((file) => (known.get(file.path)?.ids ?? []).filter((id) => !fresh.has(id)));
    if (stale.length) await store.delete(stale);
    progress.indexed += files.length;
    progress.done += files.length;
    report();
  };

  /** Adds this run's tags to items already indexed, keeping their vectors and their other tags. */
  const retag = async (ids: readonly string[]) => {
    const items: Item[] = [];
    for (const id of ids) {
      const item = await store.get(id);
      if (item) items.push({ ...item, tags: [...new Set([...(item.tags ?? []), ...newTags])] });
    }
    await store.upsert(items);
  };

  const flush = async (batch: PreparedFile[]) => {
    if (batch.length === 0) return;
    let vectors: Float32Array[][];
    try {
      vectors = await embedFiles(batch);
    } catch {
      // One bad file fails its whole batch: embed one by one to find it and keep the rest.
      for (const file of batch) {
        try {
          await write([file], itemsFor(file, (await embedFiles([file]))[0]));
        } catch (error) {
          fail(file.path, error);
        }
      }
      return;
    }
    // One transaction per batch: a durable commit per file would cost more than embedding it.
    await write(
      batch,
      batch.flatMap((file, i) => itemsFor(file, vectors[i])),
    );
  };

  /** A video is one write: all its frames and sound windows, or nothing (a run killed mid-video leaves none). */
  const indexVideo = async (file: PreparedFile) => {
    if (!findVideoTools()) {
      skipped.push({ path: file.path, reason: `video needs ffmpeg: ${FFMPEG_HINT}` });
      progress.done++;
      report();
      return;
    }
    try {
      const items = await videoItems(encoder, file, { tags: options.tags, video: options.video });
      await write([file], items);
    } catch (error) {
      fail(file.path, error);
    }
  };

  const pending = new Map<Modality, PreparedFile[]>();
  const prepared: Promise<PreparedFile>[] = [];
  const start = (i: number) => {
    if (i < files.length && !prepared[i]) {
      prepared[i] = prepare(files[i]);
      prepared[i].catch(() => {});
    }
  };
  for (let i = 0; i < Math.min(LOOKAHEAD, files.length); i++) start(i);
  for (let i = 0; i < files.length; i++) {
    options.signal?.throwIfAborted();
    start(i + LOOKAHEAD);
    let file: PreparedFile;
    try {
      file = await prepared[i];
    } catch (error) {
      fail(files[i], error);
      continue;
    }
    delete prepared[i];
    const existing = known.get(file.path);
    if (existing && existing.hashes.size === 1 && existing.hashes.has(file.hash)) {
      // Not re-embedded, but this run's tags still apply to it.
      if (existing.untagged.length) await retag(existing.untagged);
      progress.unchanged++;
      progress.done++;
      report();
      continue;
    }
    if (file.modality === 'video') {
      await indexVideo(file);
      continue;
    }
    const queue = pending.get(file.modality) ?? [];
    queue.push(file);
    pending.set(file.modality, queue);
    const size = file.chunks ? queue.reduce((n, f) => n + (f.chunks?.length ?? 1), 0) : queue.length;
    if (size >= batchSize) {
      pending.set(file.modality, []);
      await flush(queue);
    }
  }
  for (const queue of pending.values()) {
    options.signal?.throwIfAborted();
    await flush(queue);
  }

  let pruned = 0;
  if (options.prune) {
    for (const [uri, entry] of known) {
      if (!existsSync(uri)) pruned += await store.delete(entry.ids);
    }
  }
  return {
    files: files.length,
    indexed: progress.indexed,
    unchanged: progress.unchanged,
    failed,
    skipped,
    pruned,
    items: await store.count(),
    seconds: (performance.now() - started) / 1000,
  };
}
