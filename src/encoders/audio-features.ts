import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ERRORS, type ErrorCode, xmodalError } from '../errors.js';
import { type AudioInput, loadAudio, rmsLevel, splitIntoWindows, trimToSound } from '../media/audio.js';

export interface WindowFeatures {
  data: Float32Array;
  dims: number[];
  /** How much this window counts in the clip's embedding: its RMS level relative to the loudest window's. */
  weight: number;
}

export interface FeatureRequest {
  id: number;
  input: AudioInput;
}

export type FeatureReply =
  | { id: number; windows: WindowFeatures[] }
  | { id: number; error: { code?: string; message: string } };

/** Level under a clip's peak below which its edges count as silence. */
const SILENCE_BELOW_PEAK_DB = 50;

/**
 * The windows a clip is embedded from, cut the way the model's training clips were: a clip's first window starts
 * 20 ms before its sound (as xmodal-mini's instrument slots; up to 100 ms of leading silence, as its spoken words
 * have, is left alone), a long clip ends 50 ms after its sound, and a short one ends with at least 50 ms of
 * silence, as the trained words do, before the extractor's repeat-padding plays it again.
 */
export function clipWindows(clip: Float32Array, sampleRate: number, windowLength: number): Float32Array[] {
  const ms = (n: number) => Math.round((n * sampleRate) / 1000);
  const sound = trimToSound(clip, {
    belowPeakDb: SILENCE_BELOW_PEAK_DB,
    lead: ms(20),
    maxLead: ms(100),
    tail: ms(50),
    minLength: windowLength,
  });
  return splitIntoWindows(sound, windowLength);
}

/**
 * Every window of one clip as the model's input features (the CLAP extractor takes one waveform per call), each
 * weighted by its level: a pause or a fading tail counts for little in the clip's mean, silence for nothing.
 */
export async function clipFeatures(
  // biome-ignore lint/suspicious/noExplicitAny: transformers.js feature extractors are untyped JS.
  extractor: any,
  input: AudioInput,
): Promise<WindowFeatures[]> {
  const sampleRate: number = extractor.config.sampling_rate;
  const windowLength: number =
    extractor.config.nb_max_samples ?? Math.round(extractor.config.max_length_s * sampleRate);
  const windows = clipWindows(await loadAudio(input, sampleRate), sampleRate, windowLength);
  const levels = windows.map(rmsLevel);
  const loudest = Math.max(...levels);
  const out: WindowFeatures[] = [];
  for (const [i, window] of windows.entries()) {
    const tensor = (await extractor(window)).input_features;
    // A silent clip has no loudest window: its windows count alike.
    const weight = loudest > 0 ? levels[i] / loudest : 1;
    out.push({ data: tensor.data as Float32Array, dims: tensor.dims as number[], weight });
  }
  return out;
}

// The worker file has the same extension as this one: .js when built, .ts when run from source through tsx,
// whose loader Node 20 does not apply to a worker's entry file, so such a worker registers it first.
const EXTENSION = extname(fileURLToPath(import.meta.url));
const WORKER_URL = new URL(`./audio-feature-worker${EXTENSION}`, import.meta.url);

function startWorker(workerData: unknown): Worker {
  if (EXTENSION !== '.ts') return new Worker(WORKER_URL, { workerData });
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(WORKER_URL.href)}); })`;
  return new Worker(bootstrap, { eval: true, workerData });
}

interface Slot {
  worker: Worker;
  pending: Map<number, { resolve: (w: WindowFeatures[]) => void; reject: (e: Error) => void }>;
}

/**
 * A few worker threads that prepare audio clips in parallel. Audio preparation is plain JavaScript
 * (decoders, resampler, spectrogram), so without workers it would run on the model's thread one clip at a time.
 */
export class AudioFeaturePool {
  private readonly slots: Slot[] = [];
  private nextId = 0;

  constructor(
    private readonly source: string,
    private readonly loadOptions: Record<string, unknown>,
    private readonly size = Math.max(1, Math.min(4, availableParallelism())),
  ) {}

  private slot(): Slot {
    if (this.slots.length < this.size) {
      const worker = startWorker({ source: this.source, loadOptions: this.loadOptions });
      const slot: Slot = { worker, pending: new Map() };
      worker.on('message', (reply: FeatureReply) => {
        const waiter = slot.pending.get(reply.id);
        slot.pending.delete(reply.id);
        if (slot.pending.size === 0) worker.unref();
        if (!waiter) return;
        if ('error' in reply) {
          const code = (
            reply.error.code && reply.error.code in ERRORS ? reply.error.code : 'BAD_INPUT'
          ) as ErrorCode;
          waiter.reject(xmodalError(code, reply.error.message));
        } else waiter.resolve(reply.windows);
      });
      worker.on('error', (error) => {
        for (const waiter of slot.pending.values())
          waiter.reject(xmodalError('INTERNAL', `audio worker failed: ${error.message}`));
        slot.pending.clear();
        this.slots.splice(this.slots.indexOf(slot), 1);
      });
      this.slots.push(slot);
      return slot;
    }
    return this.slots.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
  }

  features(input: AudioInput): Promise<WindowFeatures[]> {
    const slot = this.slot();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.worker.ref();
      slot.worker.postMessage({ id, input } satisfies FeatureRequest);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.splice(0).map((slot) => slot.worker.terminate()));
  }
}
