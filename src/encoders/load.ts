import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AutoConfig, env } from '@huggingface/transformers';
import { xmodalError } from '../errors.js';
import { AdaptedEncoder, isAdapterFolder, readAdapter } from './adapter.js';
import { BundleEncoder } from './bundle.js';
import { DTYPE_FILE_SUFFIX } from './dtypes.js';
import { DTYPES, type Dtype, type Encoder, type EncoderOptions } from './encoder.js';
import { HfEncoder } from './hf-encoder.js';
import { familyFor, type ModelConfig } from './registry.js';

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
}

const HUB_ID = /^[\w.-]+\/[\w.-]+$/;

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
  return { spec, source: spec, local: false };
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
      const adapter = readAdapter(location.source);
      const base = await loadEncoder(adapter.model, { ...options, logitScale: undefined });
      try {
        return new AdaptedEncoder(modelId(location), base, adapter, options.logitScale);
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
  const loadOptions: Record<string, unknown> = {
    local_files_only: location.local || offline,
    cache_dir: env.cacheDir,
    progress_callback: options.onProgress
      ? (event: { status: string; file?: string; loaded?: number; total?: number }) => {
          if (event.status === 'progress' && event.file)
            options.onProgress?.({ file: event.file, loaded: event.loaded ?? 0, total: event.total ?? 0 });
        }
      : undefined,
  };
  if (options.spinThreads === false) {
    const noSpinning = { allow_spinning: '0' };
    loadOptions.session_options = { extra: { session: { intra_op: noSpinning, inter_op: noSpinning } } };
  }
  const config = await readConfig(location, offline, loadOptions);
  const family = familyFor(config.model_type);
  if (!family)
    throw xmodalError(
      'MODEL_INVALID',
      `${location.spec}: model_type "${config.model_type ?? '(none)'}" is not supported (see \`xmodal models\`)`,
    );
  if (location.local) checkLocalFiles(location.source, family.towers, dtype);
  const dim = family.dim(config);
  if (!dim)
    throw xmodalError('MODEL_INVALID', `${location.spec}: config.json does not say the embedding size`);
  return new HfEncoder({
    id: modelId(location),
    source: location.source,
    family,
    config,
    dim,
    dtype,
    logitScale: options.logitScale ?? logitScaleIn(config) ?? DEFAULT_LOGIT_SCALE,
    batchSize: options.batchSize ?? 16,
    audioWorkers: options.audioWorkers,
    imageLimits: options.imageLimits,
    loadOptions,
  });
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
        `${location.spec} is not in the cache (${defaultCacheDir()}) and offline mode is on (--offline / XMODAL_OFFLINE=1)`,
        error,
      );
    throw xmodalError(
      'MODEL_NOT_FOUND',
      `cannot fetch ${location.spec} from the hub: ${String(error)}`,
      error,
    );
  }
}

function checkLocalFiles(folder: string, towers: object, dtype: Dtype): void {
  for (const file of ['tokenizer.json']) {
    if (!existsSync(join(folder, file))) throw xmodalError('MODEL_INVALID', `${folder}: missing ${file}`);
  }
  const suffix = DTYPE_FILE_SUFFIX[dtype];
  const names: Record<string, string> = { text: 'text_model', image: 'vision_model', audio: 'audio_model' };
  for (const modality of Object.keys(towers)) {
    const file = join(folder, 'onnx', `${names[modality]}${suffix}.onnx`);
    if (!existsSync(file))
      throw xmodalError('MODEL_INVALID', `${folder}: no ${dtype} ${modality} model (onnx/${basename(file)})`);
  }
}

/**
 * The id collections are stamped with, chosen so it also loads the model again: a shipped name, a hub id,
 * or the folder's absolute path.
 */
export function modelId(location: ModelLocation): string {
  if (!location.local) return location.source;
  return location.source === join(SHIPPED_MODELS_DIR, location.spec) ? location.spec : location.source;
}

interface BundleManifest {
  name: string;
  parts: string[];
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

async function loadBundle(location: ModelLocation, file: string, options: EncoderOptions): Promise<Encoder> {
  let manifest: BundleManifest;
  try {
    manifest = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw xmodalError('MODEL_INVALID', `${file} is not valid JSON`, error);
  }
  if (!Array.isArray(manifest.parts) || manifest.parts.length === 0)
    throw xmodalError('MODEL_INVALID', `${file}: "parts" must list the model folders of the bundle`);
  const folders = manifest.parts.map((part) => resolve(location.source, part));
  const parts = await Promise.all(
    folders.map((folder) => loadEncoder(folder, { ...options, logitScale: undefined })),
  );
  // The bundle's own scale, else the first part's config that names one.
  const logitScale =
    options.logitScale ??
    logitScaleIn(manifest as unknown as Record<string, unknown>) ??
    folders.map((folder) => logitScaleIn(readJsonIfThere(join(folder, 'config.json')))).find(Boolean) ??
    DEFAULT_LOGIT_SCALE;
  return new BundleEncoder(modelId(location), parts, logitScale);
}
