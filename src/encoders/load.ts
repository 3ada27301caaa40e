import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AutoConfig, env } from '@huggingface/transformers';
import { xmodalError } from '../errors.js';
import { ADAPTER_WEIGHTS_FILE, AdaptedEncoder, isAdapterFolder, readAdapter } from './adapter.js';
import { BundleEncoder, measureSpace } from './bundle.js';
import { DTYPE_FILE_SUFFIX } from './dtypes.js';
import {
  DTYPES,
  type Dtype,
  type Encoder,
  type EncoderOptions,
  SPACE_KINDS,
  type SpaceKind,
} from './encoder.js';
import { HfEncoder } from './hf-encoder.js';
import { resumingFetch } from './hub-fetch.js';
import { MappedEncoder, readMapAdapter } from './map-adapter.js';
import { familyFor, type ModelConfig } from './registry.js';
import { hubWeights, localWeights } from './weights.js';

export const DEFAULT_MODEL = 'xmodal-mini';

/** CLIP's trained logit scale, which released CLIP-style models reach (clamped there in training). */
export const DEFAULT_LOGIT_SCALE = 100;

/** Models that ship inside the package, by name. */
export const SHIPPED_MODELS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'models');

export interface ModelLocation {
  /** What the user asked for. */
  spec: string;
  /** An absolute folder, or a hub id. */
  source: string;
  local: boolean;
  /** A hub model's pinned revision (`owner/name@revision`): a branch, tag or commit. */
  revision?: string;
}

const HUB_ID = /^[\w.-]+\/[\w.-]+(@[\w.-]+)?$/;

/** Shipped name → local folder → hub id, in that order; a path that does not exist is an error, not a hub id. */
export function locateModel(spec = process.env.XMODAL_MODEL || DEFAULT_MODEL): ModelLocation {
  const shipped = join(SHIPPED_MODELS_DIR, spec);
  if (!spec.includes('/') && existsSync(shipped)) return { spec, source: shipped, local: true };
  const path = resolve(spec.startsWith('~/') ? join(homedir(), spec.slice(2)) : spec);
  if (existsSync(path)) {
    if (!statSync(path).isDirectory())
      throw xmodalError('MODEL_INVALID', `${spec} is a file; a model is a folder`);
    return { spec, source: path, local: true };
  }
  const looksLikePath =
    isAbsolute(spec) || spec.startsWith('.') || spec.startsWith('~') || spec.split('/').length > 2;
  if (looksLikePath || !HUB_ID.test(spec))
    throw xmodalError(
      'MODEL_NOT_FOUND',
      `no model folder at ${spec}, and it is not a hub id like "owner/name"`,
    );
  const [source, revision] = spec.split('@');
  return { spec, source, local: false, revision };
}

/** The hub to download from: Hugging Face, or a mirror speaking its protocol (`HF_ENDPOINT`, as huggingface_hub reads it). */
export function hubUrl(): string {
  return `${(process.env.HF_ENDPOINT || 'https://huggingface.co').replace(/\/+$/, '')}/`;
}

export function defaultCacheDir(): string {
  return process.env.XMODAL_CACHE || join(homedir(), '.cache', 'xmodal', 'models');
}

function isOffline(options: EncoderOptions): boolean {
  return options.offline ?? ['1', 'true', 'yes'].includes((process.env.XMODAL_OFFLINE ?? '').toLowerCase());
}

/** Loads any supported model (a shipped name, a Hugging Face folder, a bundle folder or a hub id). */
export async function loadEncoder(spec?: string, options: EncoderOptions = {}): Promise<Encoder> {
  const location = locateModel(spec);
  const dtype: Dtype = options.dtype ?? 'fp32';
  if (!DTYPES.includes(dtype))
    throw xmodalError('BAD_ARGUMENT', `unknown dtype ${dtype}; use one of ${DTYPES.join(', ')}`);
  const offline = isOffline(options);
  if (location.local) {
    const bundleFile = join(location.source, 'xmodal.json');
    if (existsSync(bundleFile)) return loadBundle(location, bundleFile, options);
    // An adapter folder (xmodal adapt) is a model: its base model with the adapter on top.
    if (isAdapterFolder(location.source)) {
      const map = readMapAdapter(location.source);
      const adapter = map ? undefined : readAdapter(location.source);
      const weights = await localWeights(location.source, [ADAPTER_WEIGHTS_FILE]);
      const base = await loadEncoder(map?.model ?? adapter!.model, { ...options, logitScale: undefined });
      try {
        return map
          ? new MappedEncoder(modelId(location), base, { ...map, weights })
          : new AdaptedEncoder(modelId(location), base, { ...adapter!, weights }, options.logitScale);
      } catch (error) {
        await base.dispose();
        throw error;
      }
    }
  }
  // transformers.js keeps these globally; each load sets them for its own files.
  env.allowLocalModels = true;
  env.allowRemoteModels = !location.local && !offline;
  env.cacheDir = options.cacheDir ?? defaultCacheDir();
  env.remoteHost = hubUrl();
  env.fetch = resumingFetch;
  const loadOptions: Record<string, unknown> = {
    local_files_only: location.local || offline,
    cache_dir: env.cacheDir,
    revision: location.revision ?? 'main',
    progress_callback: options.onProgress
      ? (event: { status: string; file?: string; loaded?: number; total?: number }) => {
          if (event.status === 'progress' && event.file)
            options.onProgress?.({ file: event.file, loaded: event.loaded ?? 0, total: event.total ?? 0 });
        }
      : undefined,
  };
  const sessionOptions: Record<string, unknown> = {};
  if (options.spinThreads === false) {
    const noSpinning = { allow_spinning: '0' };
    sessionOptions.extra = { session: { intra_op: noSpinning, inter_op: noSpinning } };
  }
  if (options.threads !== undefined) {
    sessionOptions.intraOpNumThreads = options.threads;
    sessionOptions.interOpNumThreads = 1;
  }
  if (Object.keys(sessionOptions).length > 0) loadOptions.session_options = sessionOptions;
  const config = await readConfig(location, offline, loadOptions);
  const family = familyFor(config.model_type);
  if (!family)
    throw xmodalError(
      'MODEL_INVALID',
      `${location.spec}: model_type "${config.model_type ?? '(none)'}" is not supported (see \`xmodal models\`)`,
    );
  if (location.local) checkLocalFiles(location.source, family.towers, dtype);
  const digest = () => localWeights(location.source, towerFiles(family.towers, dtype));
  const weights = location.local ? await digest() : hubWeights(location.revision);
  const dim = family.dim(config);
  if (!dim)
    throw xmodalError('MODEL_INVALID', `${location.spec}: config.json does not say the embedding size`);
  const encoder = new HfEncoder({
    id: modelId(location),
    source: location.source,
    family,
    config,
    dim,
    dtype,
    logitScale: options.logitScale ?? logitScaleIn(config) ?? DEFAULT_LOGIT_SCALE,
    weights,
    currentWeights: location.local ? digest : undefined,
    batchSize: options.batchSize ?? 16,
    audioWorkers: options.audioWorkers,
    imageLimits: options.imageLimits,
    loadOptions,
  });
  if (location.local) return encoder;
  // A hub model is downloaded whole now, while the caller shows progress, so that every part is in the cache
  // for --offline later, and a missing file is an error at load, not at the first request.
  try {
    await encoder.loadAll();
  } catch (error) {
    await encoder.dispose();
    throw error;
  }
  return encoder;
}

async function readConfig(
  location: ModelLocation,
  offline: boolean,
  loadOptions: object,
): Promise<ModelConfig> {
  if (location.local) {
    const file = join(location.source, 'config.json');
    if (!existsSync(file))
      throw xmodalError('MODEL_INVALID', `${location.spec}: no config.json in ${location.source}`);
    try {
      return JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw xmodalError('MODEL_INVALID', `${location.spec}: config.json is not valid JSON`, error);
    }
  }
  try {
    const config = await AutoConfig.from_pretrained(location.source, loadOptions);
    return ((config as unknown as { toJSON?: () => ModelConfig }).toJSON?.() ?? config) as ModelConfig;
  } catch (error) {
    if (offline)
      throw xmodalError(
        'OFFLINE',
        `${location.spec} is not in the cache (${env.cacheDir}) and offline mode is on (--offline / XMODAL_OFFLINE=1)`,
        error,
      );
    throw xmodalError(
      'MODEL_NOT_FOUND',
      `cannot fetch ${location.spec} from ${hubUrl()}: ${error instanceof Error ? error.message : String(error)}`,
      error,
    );
  }
}

/** The ONNX file of each tower at `dtype`, relative to the model folder, as transformers.js loads them. */
function towerFiles(towers: object, dtype: Dtype): string[] {
  const suffix = DTYPE_FILE_SUFFIX[dtype];
  const names: Record<string, string> = { text: 'text_model', image: 'vision_model', audio: 'audio_model' };
  return Object.keys(towers).map((modality) => join('onnx', `${names[modality]}${suffix}.onnx`));
}

function checkLocalFiles(folder: string, towers: object, dtype: Dtype): void {
  for (const file of ['tokenizer.json']) {
    if (!existsSync(join(folder, file))) throw xmodalError('MODEL_INVALID', `${folder}: missing ${file}`);
  }
  const modalities = Object.keys(towers);
  towerFiles(towers, dtype).forEach((file, i) => {
    if (!existsSync(join(folder, file)))
      throw xmodalError(
        'MODEL_INVALID',
        `${folder}: no ${dtype} ${modalities[i]} model (onnx/${basename(file)})`,
      );
  });
}

/**
 * The id collections are stamped with, chosen so it also loads the model again: a shipped name, a hub id,
 * or the folder's absolute path.
 */
export function modelId(location: ModelLocation): string {
  if (!location.local) return location.revision ? `${location.source}@${location.revision}` : location.source;
  return location.source === join(SHIPPED_MODELS_DIR, location.spec) ? location.spec : location.source;
}

/** `xmodal.json`: a bundle of model folders (relative to it) and whether they share one vector space. */
export interface BundleManifest {
  name: string;
  /** Model folders relative to the bundle (or hub ids). */
  parts: string[];
  /** Undeclared: measured at load from the parts' text towers (see `measureSpace`). */
  space?: SpaceKind;
  /** How a bridged bundle was joined (`xmodal bind`'s report). */
  bridge?: Record<string, unknown>;
  logit_scale?: number;
}

/**
 * `logit_scale` as a model folder's config.json or a bundle manifest gives it: the scale itself (as
 * xmodal-mini's export writes it), not its log.
 */
function logitScaleIn(config: Record<string, unknown> | undefined): number | undefined {
  const scale = config?.logit_scale;
  return typeof scale === 'number' && Number.isFinite(scale) && scale > 0 ? scale : undefined;
}

function readJsonIfThere(file: string): Record<string, unknown> | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

export const BUNDLE_FILE = 'xmodal.json';

export function readBundleManifest(file: string): BundleManifest {
  let manifest: BundleManifest;
  try {
    manifest = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw xmodalError('MODEL_INVALID', `${file} is not valid JSON`, error);
  }
  if (!Array.isArray(manifest.parts) || manifest.parts.length === 0)
    throw xmodalError('MODEL_INVALID', `${file}: "parts" must list the model folders of the bundle`);
  if (manifest.space !== undefined && !SPACE_KINDS.includes(manifest.space))
    throw xmodalError('MODEL_INVALID', `${file}: "space" must be one of ${SPACE_KINDS.join(', ')}`);
  return manifest;
}

/** What a bundle's part entry loads: a folder relative to the bundle, or else a hub id (`owner/name`). */
export function partSpec(bundleFolder: string, part: string): string {
  const folder = resolve(bundleFolder, part);
  return existsSync(folder) || !HUB_ID.test(part) ? folder : part;
}

/** A part's name in its bundle: its folder's name, numbered when two parts share one. */
export function partNames(manifest: BundleManifest): string[] {
  const names = manifest.parts.map((part) => basename(resolve(part)).replace(/[^A-Za-z0-9_-]/g, '-'));
  return names.map((name, i) => (names.indexOf(name) === i ? name : `${name}-${i + 1}`));
}

async function loadBundle(location: ModelLocation, file: string, options: EncoderOptions): Promise<Encoder> {
  const manifest = readBundleManifest(file);
  const names = partNames(manifest);
  const specs = manifest.parts.map((part) => partSpec(location.source, part));
  const loaded = await Promise.allSettled(
    specs.map((spec) => loadEncoder(spec, { ...options, logitScale: undefined })),
  );
  const parts = loaded.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  try {
    const failed = loaded.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    const space = manifest.space ?? (await measureSpace(parts)).space;
    // The bundle's own scale, else the first part's config that names one.
    const logitScale =
      options.logitScale ??
      logitScaleIn(manifest as unknown as Record<string, unknown>) ??
      specs.map((spec) => logitScaleIn(readJsonIfThere(join(spec, 'config.json')))).find(Boolean) ??
      DEFAULT_LOGIT_SCALE;
    return new BundleEncoder(
      modelId(location),
      parts.map((encoder, i) => ({ name: names[i], encoder })),
      space,
      logitScale,
    );
  } catch (error) {
    await Promise.all(parts.map((part) => part.dispose()));
    throw error;
  }
}
