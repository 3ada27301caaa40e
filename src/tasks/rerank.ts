import type { Modality } from '../encoders/encoder.js';
import { dot } from '../encoders/vectors.js';
import { xmodalError } from '../errors.js';
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
  /** Weight of the text reranker's ranking against the encoder's in the fusion. Default 2: it reads both texts. */
  textWeight?: number;
  lang?: string;
}

export interface RerankedDocument extends RetrievedDocument {
  /** Encoder rescoring: mean over modalities of the best item's similarity to the templated question. */
  rescore?: number;
  /** The text reranker's score of the document's text. */
  textScore?: number;
}

/**
 * Reorders retrieved documents. Encoder rescoring asks the question the way each modality is described
 * (an image of …, the sound of …); a text reranker reads the document's text with the question. With both,
 * the two rankings are fused by weighted reciprocal rank (a document without text keeps its rescoring rank
 * in both).
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
  const baseRank = rankBy(docs, base);
  if (!options.textReranker) return [...docs].sort((a, b) => base(b) - base(a));
  const textRank = rankBy(
    docs.filter((d) => d.textScore !== undefined),
    (d) => d.textScore!,
  );
  const weight = options.textWeight ?? 2;
  const fused = (d: RerankedDocument) =>
    1 / (RRF_K + baseRank.get(d)!) + weight / (RRF_K + (textRank.get(d) ?? baseRank.get(d)!));
  return [...docs].sort((a, b) => fused(b) - fused(a) || base(b) - base(a));
}

function rankBy<T>(items: readonly T[], score: (item: T) => number): Map<T, number> {
  return new Map([...items].sort((a, b) => score(b) - score(a)).map((item, i) => [item, i + 1]));
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
  for (const doc of docs) {
    const best: Partial<Record<Modality, number>> = {};
    for (const hit of doc.hits) {
      const item = await collection.store.get(hit.id);
      if (!item) continue;
      const s = dot(directions.get(hit.modality)!, item.vector);
      best[hit.modality] = Math.max(best[hit.modality] ?? -Infinity, s);
    }
    const values = Object.values(best);
    doc.rescore = values.length ? values.reduce((a, b) => a + b, 0) / values.length : -Infinity;
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
