// Which weights a model's vectors come from. A model's id (a shipped name, a folder) stays the same when its
// weights change (a new release of xmodal-mini, a model retrained into the same folder), so a collection is
// also stamped with a digest of the weight files its encoder loads, and reopening with other weights is refused.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Hex characters kept of a digest: 64 bits tell two sets of weights apart. */
const DIGEST_LENGTH = 16;

/** Each file's sha256, computed once per process: reused while the file (inode, size, times) stays the same. */
const fileDigests = new Map<string, { version: string; digest: Promise<string> }>();

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function fileDigest(file: string): Promise<string> {
  const { ino, size, mtimeMs, ctimeMs } = statSync(file);
  const version = `${ino}:${size}:${mtimeMs}:${ctimeMs}`;
  const cached = fileDigests.get(file);
  if (cached?.version === version) return cached.digest;
  const digest = sha256File(file);
  fileDigests.set(file, { version, digest });
  digest.catch(() => fileDigests.delete(file));
  return digest;
}

/**
 * The ONNX files that make up `model` (relative to `folder`, e.g. `onnx/text_model.onnx`) with any external-data
 * files beside it (`text_model.onnx_data`, `..._data_1`), as onnxruntime reads them.
 */
function withExternalData(folder: string, model: string): string[] {
  const dir = join(folder, dirname(model));
  const name = basename(model);
  const data = existsSync(dir) ? readdirSync(dir).filter((file) => file.startsWith(`${name}_data`)) : [];
  return [model, ...data.map((file) => join(dirname(model), file))];
}

/** The weights of a local model folder: a short sha256 over the names and contents of the ONNX files it loads. */
export async function localWeights(folder: string, models: readonly string[]): Promise<string> {
  const files = [...new Set(models.flatMap((model) => withExternalData(folder, model)))].sort();
  const digests = await Promise.all(files.map((file) => fileDigest(join(folder, file))));
  const hash = createHash('sha256');
  files.forEach((file, i) => {
    hash.update(`${file.split('\\').join('/')}\0${digests[i]}\n`);
  });
  return hash.digest('hex').slice(0, DIGEST_LENGTH);
}

/** A hub model's weights are known only when it is pinned to a commit (a branch or tag can move). */
export function hubWeights(revision: string | undefined): string | undefined {
  return revision && /^[0-9a-f]{40}$/i.test(revision) ? revision.toLowerCase() : undefined;
}

/**
 * The weights of a model made of others (a bundle's parts, an adapter over its base), named so that a part moving
 * changes the whole; undefined when no part's weights are known.
 */
export function combinedWeights(parts: readonly { name: string; weights?: string }[]): string | undefined {
  if (parts.every((part) => part.weights === undefined)) return undefined;
  const hash = createHash('sha256');
  for (const part of parts) hash.update(`${part.name}\0${part.weights ?? '?'}\n`);
  return hash.digest('hex').slice(0, DIGEST_LENGTH);
}
