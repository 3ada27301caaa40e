import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Modality } from '../encoders/encoder.js';
import { xmodalError } from '../errors.js';
import { type ChatEndpoint, type ChatMessage, chat } from './chat.js';
import { groupMoments, hitPlace, momentTime } from './moments.js';
import { type RerankOptions, rerankDocuments } from './rerank.js';
import { documentText, type RetrieveOptions, retrieveDocuments } from './retrieve.js';
import type { OpenCollection } from './workspace.js';

export interface AskOptions extends Omit<RetrieveOptions, 'k'>, RerankOptions {
  /** Documents retrieved and reranked. Default 20. */
  rerankTop?: number;
  /** Documents given to the LLM as numbered sources. Default 5. */
  sources?: number;
  /** Without an endpoint, `ask` stops at the sources. */
  llm?: ChatEndpoint;
  /** Attach the sources' images to the prompt (for vision models). */
  sendImages?: boolean;
}

/** A numbered source as the LLM saw it. */
export interface Source {
  n: number;
  /** The document: a path without extension. */
  document: string;
  /** The best-matching item. */
  id: string;
  uri?: string;
  modalities: Modality[];
  /** Every matched item's file; a video's as `file @ 0:42`, once per moment. */
  files: string[];
  /** Seconds into the video, when the best match is a moment of one. */
  t?: number;
  text?: string;
  score: number;
}

export interface Answer {
  question: string;
  /** The LLM's answer; absent without an LLM. */
  answer?: string;
  /** Sources the answer cites as [n], in order of first citation. */
  citations: Source[];
  sources: Source[];
  /** What was sent to the LLM. */
  messages?: ChatMessage[];
}

export const SYSTEM_PROMPT =
  'Answer the question using only the numbered sources. Sources may be text passages, images or sounds ' +
  '(described by their file names and attached where possible). Cite every source you use as [n]. ' +
  'If the sources do not answer the question, say so.';

const MAX_SOURCE_CHARS = 1500;

/** Retrieval (fused per modality) → reranking → a prompt with numbered sources → an answer citing them. */
export async function ask(
  collection: OpenCollection,
  question: string,
  options: AskOptions = {},
): Promise<Answer> {
  const count = options.sources ?? 5;
  if (!Number.isInteger(count) || count < 1)
    throw xmodalError('BAD_ARGUMENT', `sources must be a positive integer, got ${count}`);
  const retrieved = await retrieveDocuments(collection, question, {
    ...options,
    k: Math.max(options.rerankTop ?? 20, count),
  });
  const ranked = await rerankDocuments(collection, question, retrieved, options);
  const sources: Source[] = ranked.slice(0, count).map((doc, i) => {
    const text = documentText(doc);
    return {
      n: i + 1,
      document: doc.key,
      id: doc.hits[0].id,
      uri: doc.hits[0].uri,
      modalities: [...new Set(doc.hits.map((h) => h.modality))],
      files: [...new Set(groupMoments(doc.hits).map((h) => hitPlace(h)))],
      ...(momentTime(doc.hits[0]) !== undefined ? { t: momentTime(doc.hits[0]) } : {}),
      ...(text ? { text: text.slice(0, MAX_SOURCE_CHARS) } : {}),
      score: doc.rescore ?? doc.score,
    };
  });
  if (!options.llm) return { question, citations: [], sources };
  const messages = await buildMessages(
    question,
    sources,
    options.sendImages ? ranked.slice(0, count) : undefined,
  );
  const answer = await chat(options.llm, messages);
  return { question, answer, citations: citedSources(answer, sources), sources, messages };
}

/** The system prompt and one user message listing the sources, then the question. */
export async function buildMessages(
  question: string,
  sources: readonly Source[],
  withImagesOf?: readonly {
    hits: { modality: Modality; uri?: string; mime?: string; meta?: Record<string, unknown> }[];
  }[],
): Promise<ChatMessage[]> {
  const lines = sources.map((s) => {
    const files = s.files.map((f) => basename(f)).join(', ');
    const head = `[${s.n}] ${s.modalities.join(' + ')}: ${files}`;
    return s.text ? `${head}\n${s.text}` : head;
  });
  const images: { mime: string; base64: string }[] = [];
  // A video's frames are not image files: the video itself is never attached.
  for (const doc of withImagesOf ?? [])
    for (const hit of doc.hits)
      if (hit.modality === 'image' && hit.uri && hit.meta?.video !== true)
        images.push({ mime: hit.mime ?? 'image/png', base64: (await readFile(hit.uri)).toString('base64') });
  return [
    { role: 'system', content: SYSTEM_PROMPT },
    {
      role: 'user',
      content: `Sources:\n${lines.join('\n\n')}\n\nQuestion: ${question}`,
      ...(images.length ? { images } : {}),
    },
  ];
}

/** Sources cited as [n] or [n, m] in the answer, in order of first citation; unknown numbers are ignored. */
export function citedSources(answer: string, sources: readonly Source[]): Source[] {
  const cited: Source[] = [];
  for (const match of answer.matchAll(/\[(\d+(?:\s*,\s*\d+)*)\]/g))
    for (const n of match[1].split(',').map((x) => Number(x.trim()))) {
      const source = sources.find((s) => s.n === n);
      if (source && !cited.includes(source)) cited.push(source);
    }
  return cited;
}
