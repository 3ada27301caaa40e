import type { Encoder, Modality, ModalityInputs } from '../encoders/encoder.js';
import { WrappedEncoder } from '../encoders/wrapped-encoder.js';
import { MODALITIES } from '../types.js';

export interface BatchingOptions {
  /** Most rows in one model call. */
  maxBatch?: number;
  /** How long the first waiting call holds the batch open for others, in milliseconds. */
  maxWaitMs?: number;
  /** Told after every model call, e.g. for metrics. */
  onBatch?: (event: { modality: Modality; rows: number; calls: number; seconds: number }) => void;
}

interface Waiting {
  inputs: readonly unknown[];
  resolve: (vectors: Float32Array[]) => void;
  reject: (error: unknown) => void;
}

type Run = (inputs: readonly unknown[]) => Promise<Float32Array[]>;

/**
 * Gathers concurrent calls of one modality and runs them as one model call: a batch starts when it holds
 * `maxBatch` rows, when the first call has waited `maxWaitMs`, or, while the model is busy, as soon as the
 * running batch ends. Calls stay whole (a call larger than `maxBatch` runs alone) and each gets exactly
 * its own rows back; when a gathered batch fails, its calls are retried one by one so that one bad input
 * fails only the request that sent it.
 */
class ModalityQueue {
  private waiting: Waiting[] = [];
  private rows = 0;
  private busy = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly modality: Modality,
    private readonly run: Run,
    private readonly options: Required<Omit<BatchingOptions, 'onBatch'>> & Pick<BatchingOptions, 'onBatch'>,
  ) {}

  submit(inputs: readonly unknown[]): Promise<Float32Array[]> {
    if (inputs.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.waiting.push({ inputs, resolve, reject });
      this.rows += inputs.length;
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.busy || this.waiting.length === 0) return;
    if (this.rows >= this.options.maxBatch || this.options.maxWaitMs <= 0) {
      this.start();
      return;
    }
    this.timer ??= setTimeout(() => this.start(), this.options.maxWaitMs);
  }

  private take(): Waiting[] {
    const batch: Waiting[] = [];
    let rows = 0;
    while (this.waiting.length > 0) {
      const next = this.waiting[0];
      if (batch.length > 0 && rows + next.inputs.length > this.options.maxBatch) break;
      batch.push(next);
      rows += next.inputs.length;
      this.waiting.shift();
    }
    this.rows -= rows;
    return batch;
  }

  private start(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.busy) return;
    const batch = this.take();
    if (batch.length === 0) return;
    this.busy = true;
    this.runBatch(batch).finally(() => {
      this.busy = false;
      // Calls that arrived meanwhile have waited a whole model call already: run them now.
      if (this.waiting.length > 0) this.start();
    });
  }

  private async runBatch(batch: Waiting[]): Promise<void> {
    const started = performance.now();
    const inputs = batch.flatMap((w) => w.inputs);
    try {
      const vectors = await this.run(inputs);
      this.report(inputs.length, batch.length, started);
      let next = 0;
      for (const w of batch) {
        w.resolve(vectors.slice(next, next + w.inputs.length));
        next += w.inputs.length;
      }
    } catch (error) {
      if (batch.length === 1) {
        batch[0].reject(error);
        return;
      }
      for (const w of batch) {
        try {
          w.resolve(await this.run(w.inputs));
        } catch (own) {
          w.reject(own);
        }
      }
    }
  }

  private report(rows: number, calls: number, started: number): void {
    this.options.onBatch?.({
      modality: this.modality,
      rows,
      calls,
      seconds: (performance.now() - started) / 1000,
    });
  }
}

/** An Encoder that micro-batches concurrent calls to the one it wraps (see ModalityQueue). */
export class BatchingEncoder extends WrappedEncoder {
  private readonly queues: Record<Modality, ModalityQueue>;

  constructor(inner: Encoder, options: BatchingOptions = {}) {
    super(inner);
    const settings = {
      maxBatch: options.maxBatch ?? 32,
      maxWaitMs: options.maxWaitMs ?? 4,
      onBatch: options.onBatch,
    };
    this.queues = Object.fromEntries(
      MODALITIES.map((modality) => [
        modality,
        new ModalityQueue(
          modality,
          (inputs) => inner.embed(modality, inputs as readonly ModalityInputs[typeof modality][]),
          settings,
        ),
      ]),
    ) as Record<Modality, ModalityQueue>;
  }

  embed<M extends Modality>(modality: M, inputs: readonly ModalityInputs[M][]): Promise<Float32Array[]> {
    return this.queues[modality].submit(inputs);
  }
}
