import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { AutoModelForSequenceClassification, AutoTokenizer, env } from '@huggingface/transformers';
import type { Modality } from '../encoders/encoder.js';
import { xmodalError } from '../errors.js';
import { dot } from '../vectors.js';
import { postJson } from './http-json.js';
import { promptDirections, templatesFor } from './prompts.js';
import { documentText, type RetrievedDocument, RRF_K } from './retrieve.js';
import type { OpenCollection } from './workspace.js';

/** Scores (query, passage) pairs together, e.g. a cross-encoder behind an HTTP rerank endpoint. */
export interface TextReranker {
  /** One relevance score per passage, in passage order; higher is better. */
  rerank(query: string, passages: readonly string[]): Promise<number[]>;
}

export interface RerankOptions {
  /** Rescore with the encoder: the question through each item modality's prompt templates. Default true. */
  rescore?: boolean;
  textReranker?: TextReranker;
  lang?: string;
}

export interface RerankedDocument extends RetrievedDocument {
  /**
   * Encoder rescoring: Σ over the document's modalities of 1/(60 + rank), ranking the candidates of each
   * modality by their best item's similarity to the templated question.
   */
  rescore?: number;
  /** The text reranker's score of the document's text. */
  textScore?: number;
}

/**
 * Reorders retrieved documents. Encoder rescoring asks the question the way each modality is described
 * (an image of …, the sound of …), ranks the candidates within each modality and fuses the ranks. A text reranker then reads each document's text with the question and
 * reorders the documents that have text among the places they held; documents without text keep theirs.
 */
export async function rerankDocuments(
  collection: OpenCollection,
  question: string,
  documents: readonly RetrievedDocument[],
  options: RerankOptions = {},
): Promise<RerankedDocument[]> {
  const docs: RerankedDocument[] = documents.map((d) => ({ ...d }));
  if (docs.length === 0) return docs;
  if (options.rescore !== false) await rescoreWithEncoder(collection, question, docs, options.lang);
  if (options.textReranker) {
    const withText = docs.filter((d) => documentText(d));
    if (withText.length) {
      const scores = await options.textReranker.rerank(
        question,
        withText.map((d) => documentText(d)),
      );
      if (scores.length !== withText.length || !scores.every(Number.isFinite))
        throw xmodalError(
          'UPSTREAM_ERROR',
          `the reranker returned ${scores.length} scores for ${withText.length} passages`,
        );
      withText.forEach((d, i) => {
        d.textScore = scores[i];
      });
    }
  }
  const base = (d: RerankedDocument) => d.rescore ?? d.score;
  const ranked = [...docs].sort((a, b) => base(b) - base(a));
  const read = ranked.filter((d) => d.textScore !== undefined).sort((a, b) => b.textScore! - a.textScore!);
  let next = 0;
  return ranked.map((d) => (d.textScore === undefined ? d : read[next++]));
}

async function rescoreWithEncoder(
  collection: OpenCollection,
  question: string,
  docs: RerankedDocument[],
  lang?: string,
): Promise<void> {
  const modalities = [...new Set(docs.flatMap((d) => d.hits.map((h) => h.modality)))];
  const directions = new Map<Modality, Float32Array>();
  for (const modality of modalities) {
    const [direction] = await promptDirections(
      collection.encoder,
      [[question]],
      templatesFor(modality, { lang }),
    );
    directions.set(modality, direction);
  }
  const best = new Map<RerankedDocument, Partial<Record<Modality, number>>>();
  for (const doc of docs) {
    const own: Partial<Record<Modality, number>> = {};
    for (const hit of doc.hits) {
      const item = await collection.store.get(hit.id);
      if (!item) continue;
      own[hit.modality] = Math.max(
        own[hit.modality] ?? -Infinity,
        dot(directions.get(hit.modality)!, item.vector),
      );
    }
    best.set(doc, own);
  }
  // Similarities of different modalities are not comparable (the modality gap puts text-to-text far above
  // text-to-image): rank the documents within each modality and fuse the ranks, as retrieval does.
  for (const doc of docs) doc.rescore = 0;
  for (const modality of modalities) {
    const scored = docs
      .filter((d) => best.get(d)![modality] !== undefined)
      .sort((a, b) => best.get(b)![modality]! - best.get(a)![modality]!);
    scored.forEach((d, rank) => {
      d.rescore! += 1 / (RRF_K + rank + 1);
    });
  }
}

/**
 * A rerank endpoint: POST `{model, query, documents, top_n}`; answers `{results: [{index, relevance_score}]}`
 * (Jina, Cohere, vLLM, llama.cpp, LocalAI) or a bare `[{index, score}]` (Hugging Face TEI).
 */
export class HttpReranker implements TextReranker {
  constructor(
    private readonly url: string,
    private readonly model?: string,
    private readonly apiKey?: string,
  ) {}

  async rerank(query: string, passages: readonly string[]): Promise<number[]> {
    const body = await postJson(
      this.url,
      {
        model: this.model,
        query,
        documents: passages,
        texts: passages,
        top_n: passages.length,
        return_documents: false,
      },
      this.apiKey,
    );
    const results = (Array.isArray(body) ? body : (body as { results?: unknown }).results) as
      | { index?: number; relevance_score?: number; score?: number }[]
      | undefined;
    if (!Array.isArray(results))
      throw xmodalError('UPSTREAM_ERROR', `${this.url}: the rerank answer has no "results" list`);
    const scores = new Array<number>(passages.length).fill(Number.NaN);
    for (const r of results) {
      const score = r.relevance_score ?? r.score;
      if (typeof r.index === 'number' && typeof score === 'number') scores[r.index] = score;
    }
    return scores;
  }
}

/**
 * A local cross-encoder (a Hugging Face folder with `onnx/model.onnx`, e.g. an ms-marco MiniLM export) run
 * by transformers.js: query and passage are read together; the score is the last logit.
 */
export class CrossEncoderReranker implements TextReranker {
  private readonly folder: string;
  // biome-ignore lint/suspicious/noExplicitAny: transformers.js tokenizers and models are untyped JS.
  private loaded?: Promise<{ tokenizer: any; model: any }>;

  constructor(folder: string) {
    this.folder = resolve(folder);
    if (!existsSync(resolve(this.folder, 'onnx', 'model.onnx')))
      throw xmodalError('MODEL_NOT_FOUND', `${folder}: no cross-encoder here (onnx/model.onnx is missing)`);
  }

  private load() {
    this.loaded ??= (async () => {
      env.allowLocalModels = true;
      const options = { local_files_only: true, dtype: 'fp32', device: 'cpu' } as const;
      try {
        return {
          tokenizer: await AutoTokenizer.from_pretrained(this.folder, options),
          model: await AutoModelForSequenceClassification.from_pretrained(this.folder, options),
        };
      } catch (error) {
        throw xmodalError(
          'MODEL_INVALID',
          `${this.folder}: cannot load the cross-encoder (${String(error).split('\n')[0]})`,
          error,
        );
      }
    })();
    return this.loaded;
  }

  async rerank(query: string, passages: readonly string[]): Promise<number[]> {
    if (passages.length === 0) return [];
    const { tokenizer, model } = await this.load();
    const inputs = tokenizer(
      passages.map(() => query),
      { text_pair: [...passages], padding: true, truncation: true },
    );
    const { logits } = await model(inputs);
    const [rows, columns] = logits.dims as number[];
    const data = logits.data as Float32Array;
    return Array.from({ length: rows }, (_, i) => data[i * columns + columns - 1]);
  }

  async dispose(): Promise<void> {
    const loaded = await this.loaded?.catch(() => undefined);
    await loaded?.model.dispose?.();
  }
}
