import type { Modality } from '../encoders/encoder.js';
import { xmodalError } from '../errors.js';
import type { Filter, SearchHit } from '../store/store.js';
import { documentKey } from './quality.js';
import { queryVector } from './search.js';
import type { OpenCollection } from './workspace.js';

/** How the per-modality rankings of documents become one. */
export type Fusion = 'rrf' | 'average';

/** A document: the items sharing a path without extension (`dog.png` + `dog.txt`), with what matched. */
export interface RetrievedDocument {
  key: string;
  /** Its items that matched the question, best first. */
  hits: SearchHit[];
  /** Best cosine similarity per modality. */
  similarity: Partial<Record<Modality, number>>;
  /** 1-based rank of the document among documents with that modality. */
  ranks: Partial<Record<Modality, number>>;
  /** The fused score: higher is better. */
  score: number;
}

export interface RetrieveOptions {
  /** Documents returned. Default 20. */
  k?: number;
  /** Items fetched per modality before grouping. Default 50. */
  candidates?: number;
  /** `rrf` (default): Σ 1/(rrfK + rank) over modalities; `average`: mean of the best similarities. */
  fusion?: Fusion;
  rrfK?: number;
  filter?: Filter;
}

export const RRF_K = 60;

/**
 * Finds the documents that answer a question: the question's embedding searched per modality (so text
 * chunks and images each get their own ranking), items grouped into documents, rankings fused.
 */
export async function retrieveDocuments(
  collection: OpenCollection,
  question: string,
  options: RetrieveOptions = {},
): Promise<RetrievedDocument[]> {
  const { k = 20, candidates = 50, fusion = 'rrf', rrfK = RRF_K } = options;
  if (!question.trim()) throw xmodalError('BAD_ARGUMENT', 'empty question');
  if (!['rrf', 'average'].includes(fusion))
    throw xmodalError('BAD_ARGUMENT', `fusion must be rrf or average, got ${fusion}`);
  const vector = await queryVector(collection, [{ kind: 'text', value: question }]);
  const documents = new Map<string, RetrievedDocument>();
  for (const modality of collection.encoder.modalities) {
    const hits = await collection.store.search(vector, {
      k: candidates,
      filter: { ...options.filter, modality },
    });
    let rank = 0;
    for (const hit of hits) {
      const key = documentKey(hit);
      let doc = documents.get(key);
      if (!doc) {
        doc = { key, hits: [], similarity: {}, ranks: {}, score: 0 };
        documents.set(key, doc);
      }
      doc.hits.push(hit);
      // Hits come best first: the first of a document in this modality sets its rank and similarity.
      if (doc.ranks[modality] === undefined) {
        doc.ranks[modality] = ++rank;
        doc.similarity[modality] = hit.score;
      }
    }
  }
  for (const doc of documents.values()) {
    doc.hits.sort((a, b) => b.score - a.score);
    doc.score = fuse(doc, fusion, rrfK);
  }
  return [...documents.values()].sort((a, b) => b.score - a.score || (a.key < b.key ? -1 : 1)).slice(0, k);
}

export function fuse(
  doc: Pick<RetrievedDocument, 'ranks' | 'similarity'>,
  fusion: Fusion,
  rrfK = RRF_K,
): number {
  if (fusion === 'rrf') return Object.values(doc.ranks).reduce((s, rank) => s + 1 / (rrfK + rank), 0);
  const similarities = Object.values(doc.similarity);
  return similarities.reduce((s, x) => s + x, 0) / similarities.length;
}

/** The document's text: its matched text chunks in order, or nothing. */
export function documentText(doc: RetrievedDocument): string {
  return doc.hits
    .filter((h) => h.modality === 'text' && typeof h.meta?.text === 'string')
    .sort((a, b) => Number(a.meta?.chunk ?? 0) - Number(b.meta?.chunk ?? 0))
    .map((h) => h.meta!.text as string)
    .join('\n');
}
