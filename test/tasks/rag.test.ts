import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Modality } from '../../src/encoders/encoder.js';
import { ingest } from '../../src/tasks/ingest.js';
import { promptDirections, TEMPLATES } from '../../src/tasks/prompts.js';
import { ask, buildMessages, citedSources, type Source } from '../../src/tasks/rag.js';
import { CrossEncoderReranker, HttpReranker, rerankDocuments } from '../../src/tasks/rerank.js';
import { fuse, retrieveDocuments } from '../../src/tasks/retrieve.js';
import { type OpenCollection, openCollection } from '../../src/tasks/workspace.js';
import { dot } from '../../src/vectors.js';
import { type FakeLlm, startFakeLlm } from '../helpers/llm-server.js';
import { MINI, MINI_MISSING } from '../helpers/mini.js';
import { openMojiNames, renderOpenMoji } from '../helpers/openmoji.js';
import { AUDIO, FIXTURES, IMAGES, TINY_BUNDLE, tempDir } from '../helpers/paths.js';

describe('fusion arithmetic', () => {
  test('reciprocal-rank fusion sums 1/(60 + rank) over modalities; average means the similarities', () => {
    const doc = { ranks: { text: 1, image: 3 }, similarity: { text: 0.4, image: 0.2 } };
    assert.equal(fuse(doc, 'rrf'), 1 / 61 + 1 / 63);
    assert.equal(fuse(doc, 'rrf', 10), 1 / 11 + 1 / 13);
    assert.ok(Math.abs(fuse(doc, 'average') - 0.3) < 1e-12);
    // A document ranked second in both lists beats one ranked first in only one.
    assert.ok(
      fuse({ ranks: { text: 2, image: 2 }, similarity: {} }, 'rrf') >
        fuse({ ranks: { text: 1 }, similarity: {} }, 'rrf'),
    );
  });

  test('citations: [n] and [n, m], first citation first, unknown numbers ignored', () => {
    const sources = [1, 2, 3].map(
      (n) => ({ n, document: `d${n}`, id: `d${n}`, modalities: [], files: [], score: 0 }) as Source,
    );
    assert.deepEqual(
      citedSources('See [3] and [1, 3]; also [9].', sources).map((s) => s.n),
      [3, 1],
    );
  });
});

describe('retrieval, reranking and answers (fixture model, local LLM server)', () => {
  const home = tempDir();
  const data = tempDir('xmodal-rag-');
  let collection: OpenCollection;
  let llm: FakeLlm;
  before(async () => {
    copyFileSync(join(IMAGES, 'photo.png'), join(data, 'dog.png'));
    writeFileSync(join(data, 'dog.txt'), 'A brown dog runs across the park after a ball.\n');
    copyFileSync(join(AUDIO, 'sine.ogg'), join(data, 'tone.ogg'));
    writeFileSync(join(data, 'tone.txt'), 'A calibration tone of one kilohertz, used to test speakers.\n');
    writeFileSync(join(data, 'recipe.txt'), 'Bake the bread for forty minutes until the crust is golden.\n');
    copyFileSync(join(IMAGES, 'photo.jpg'), join(data, 'street.jpg'));
    collection = await openCollection({ home }, 'rag', { model: TINY_BUNDLE, create: true });
    await ingest(collection, { paths: [data] });
    llm = await startFakeLlm(() => 'The dog is in the park [2], see also [1].');
  });
  after(async () => {
    await collection.close();
    await llm.close();
    rmSync(home, { recursive: true, force: true });
    rmSync(data, { recursive: true, force: true });
  });

  test('items sharing a path without extension are one document; its score is the fused ranks', async () => {
    const docs = await retrieveDocuments(collection, 'a dog in the park');
    assert.deepEqual(docs.map((d) => d.key.split('/').pop()).sort(), ['dog', 'recipe', 'street', 'tone']);
    const dog = docs.find((d) => d.key.endsWith('/dog'))!;
    assert.deepEqual(Object.keys(dog.ranks).sort(), ['image', 'text']);
    assert.equal(dog.score, fuse(dog, 'rrf'));
    for (let i = 1; i < docs.length; i++) assert.ok(docs[i - 1].score >= docs[i].score);
    const averaged = await retrieveDocuments(collection, 'a dog in the park', { fusion: 'average' });
    const dogAverage = averaged.find((d) => d.key.endsWith('/dog'))!;
    assert.ok(Math.abs(dogAverage.score - (dog.similarity.text! + dog.similarity.image!) / 2) < 1e-9);
  });

  test('a rerank endpoint reorders documents with text by reading it', async () => {
    const docs = await retrieveDocuments(collection, 'bread crust');
    const reranker = new HttpReranker(`${llm.url}/v1/rerank`, 'test-reranker');
    const reranked = await rerankDocuments(collection, 'bread crust', docs, {
      rescore: false,
      textReranker: reranker,
    });
    const read = reranked.filter((d) => d.textScore !== undefined);
    assert.ok(read[0].key.endsWith('/recipe'), read.map((d) => d.key).join(' '));
    for (let i = 1; i < read.length; i++) assert.ok(read[i - 1].textScore! >= read[i].textScore!);
    // The image-only document keeps the place retrieval gave it.
    const street = (list: { key: string }[]) => list.findIndex((d) => d.key.endsWith('/street'));
    assert.equal(street(reranked), street(docs));
    const request = llm.received.at(-1)!;
    assert.equal(request.path, '/v1/rerank');
    assert.equal(request.body.model, 'test-reranker');
    assert.equal(request.body.query, 'bread crust');
    assert.equal((request.body.documents as string[]).length, 3, 'only documents with text are sent');
    assert.equal(reranked.find((d) => d.key.endsWith('/street'))!.textScore, undefined);
  });

  test('a local cross-encoder reads the question with each text', async () => {
    // The fixture cross-encoder scores how many words the question and a passage share.
    const reranker = new CrossEncoderReranker(join(FIXTURES, 'models', 'tiny-cross-encoder'));
    try {
      assert.deepEqual(
        await reranker.rerank('how long does the bread bake', [
          'A brown dog runs.',
          'Bake the bread.',
          'the',
        ]),
        [0, 3, 1],
      );
      const docs = await retrieveDocuments(collection, 'how long does the bread bake');
      const reranked = await rerankDocuments(collection, 'how long does the bread bake', docs, {
        rescore: false,
        textReranker: reranker,
      });
      assert.ok(reranked.filter((d) => d.textScore !== undefined)[0].key.endsWith('/recipe'));
    } finally {
      await reranker.dispose();
    }
    assert.throws(() => new CrossEncoderReranker(FIXTURES), /no cross-encoder here/);
  });

  test('encoder rescoring: the templated question ranks each modality; the ranks are fused', async () => {
    const docs = await retrieveDocuments(collection, 'a dog');
    const rescored = await rerankDocuments(collection, 'a dog', docs);
    for (let i = 1; i < rescored.length; i++) assert.ok(rescored[i - 1].rescore! >= rescored[i].rescore!);
    // By hand: best similarity per document and modality to the template ensemble, ranked per modality.
    const best = new Map<string, Partial<Record<Modality, number>>>();
    for (const modality of ['text', 'image', 'audio'] as const) {
      const [direction] = await promptDirections(collection.encoder, [['a dog']], TEMPLATES.en[modality]);
      for (const doc of docs)
        for (const hit of doc.hits.filter((h) => h.modality === modality)) {
          const s = dot(direction, (await collection.store.get(hit.id))!.vector);
          const own = best.get(doc.key) ?? {};
          own[modality] = Math.max(own[modality] ?? -Infinity, s);
          best.set(doc.key, own);
        }
    }
    const fused = new Map<string, number>();
    for (const modality of ['text', 'image', 'audio'] as const) {
      const keys = docs.map((d) => d.key).filter((k) => best.get(k)?.[modality] !== undefined);
      keys.sort((a, b) => best.get(b)![modality]! - best.get(a)![modality]!);
      keys.forEach((k, rank) => {
        fused.set(k, (fused.get(k) ?? 0) + 1 / (60 + rank + 1));
      });
    }
    for (const doc of rescored) assert.ok(Math.abs(doc.rescore! - fused.get(doc.key)!) < 1e-12, doc.key);
  });

  test('ask: the OpenAI-compatible server gets numbered sources and the question; citations map back', async () => {
    const answer = await ask(collection, 'Where is the dog?', {
      llm: { url: `${llm.url}/v1`, model: 'test-model', apiKey: 'sk-test' },
      sources: 3,
    });
    const request = llm.received.at(-1)!;
    assert.equal(request.path, '/v1/chat/completions');
    assert.equal(request.headers.authorization, 'Bearer sk-test');
    assert.equal(request.body.model, 'test-model');
    const [system, user] = request.body.messages as { role: string; content: string }[];
    assert.equal(system.role, 'system');
    assert.match(system.content, /Cite every source you use as \[n\]/);
    assert.match(user.content, /^Sources:\n\[1\] /);
    assert.match(user.content, /\[3\] /);
    assert.doesNotMatch(user.content, /\[4\] /);
    assert.match(user.content, /\n\nQuestion: Where is the dog\?$/);
    for (const source of answer.sources) {
      for (const file of source.files) assert.ok(user.content.includes(file.split('/').pop()!));
      if (source.text) assert.ok(user.content.includes(source.text));
    }
    assert.equal(answer.answer, 'The dog is in the park [2], see also [1].');
    assert.deepEqual(
      answer.citations.map((c) => c.n),
      [2, 1],
    );
    assert.equal(answer.citations[0], answer.sources[1]);
  });

  test('ask through Ollama, with the images attached for a vision model', async () => {
    await ask(collection, 'What does the picture show?', {
      llm: { url: llm.url.replace(/:\d+$/, (p) => p), model: 'llava', api: 'ollama' },
      sources: 4,
      sendImages: true,
    });
    const request = llm.received.at(-1)!;
    assert.equal(request.path, '/api/chat');
    assert.equal(request.body.stream, false);
    const user = (request.body.messages as { role: string; images?: string[] }[])[1];
    assert.equal(user.images?.length, 2);
    assert.ok(
      Buffer.from(user.images![0], 'base64').subarray(1, 4).toString() === 'PNG' ||
        user.images![0].startsWith('/9j/'),
    );
  });

  test('without an LLM, ask returns the sources; an LLM error is UPSTREAM_ERROR', async () => {
    const sourcesOnly = await ask(collection, 'tone', { sources: 2 });
    assert.equal(sourcesOnly.answer, undefined);
    assert.equal(sourcesOnly.sources.length, 2);
    const failing = await startFakeLlm(() => '', 500);
    try {
      await assert.rejects(ask(collection, 'tone', { llm: { url: `${failing.url}/v1`, model: 'm' } }), {
        code: 'UPSTREAM_ERROR',
        message: /answered 500: .*overloaded/,
      });
    } finally {
      await failing.close();
    }
    await assert.rejects(ask(collection, 'tone', { llm: { url: 'http://127.0.0.1:9/v1', model: 'm' } }), {
      code: 'UPSTREAM_ERROR',
      message: /cannot reach http:\/\/127\.0\.0\.1:9\/v1\/chat\/completions/,
    });
  });

  test('the prompt lists a document with all its files', async () => {
    const messages = await buildMessages('q', [
      {
        n: 1,
        document: '/d/dog',
        id: '/d/dog.png',
        modalities: ['image', 'text'],
        files: ['/d/dog.png', '/d/dog.txt'],
        text: 'A dog.',
        score: 1,
      },
    ]);
    assert.equal(messages[1].content, 'Sources:\n[1] image + text: dog.png, dog.txt\nA dog.\n\nQuestion: q');
  });
});

describe('RAG with xmodal-mini (meaning)', { skip: MINI_MISSING }, () => {
  const home = tempDir();
  const data = tempDir('xmodal-rag-mini-');
  let collection: OpenCollection;
  let llm: FakeLlm;
  before(async () => {
    mkdirSync(data, { recursive: true });
    const names = [...openMojiNames().filter((_, i) => i % 97 === 0), 'dog', 'musical-keyboard', 'red-apple'];
    for (const name of new Set(names)) await renderOpenMoji(name, data, 96);
    writeFileSync(join(data, 'bread.txt'), 'Bake the bread for forty minutes.\n');
    collection = await openCollection({ home }, 'rag', { model: MINI, create: true });
    await ingest(collection, { paths: [data] });
    // An LLM that reads the sources it is given and cites the one that shows a dog.
    llm = await startFakeLlm((prompt) => {
      const n = /\[(\d+)\] image: dog\.png/.exec(prompt)?.[1];
      return n ? `A dog is shown in [${n}].` : 'None of the sources shows a dog.';
    });
  });
  after(async () => {
    await collection?.close();
    await llm?.close();
    rmSync(home, { recursive: true, force: true });
    rmSync(data, { recursive: true, force: true });
  });

  test('asking for a dog cites the dog emoji, which the LLM server received', async () => {
    const answer = await ask(collection, 'dog', { llm: { url: `${llm.url}/v1`, model: 'm' } });
    console.log(
      `# sources: ${answer.sources.map((s) => `${s.files.map((f) => f.split('/').pop()).join('+')} ${s.score.toFixed(3)}`).join(', ')}`,
    );
    const rank = answer.sources.findIndex((s) => s.uri === join(data, 'dog.png'));
    assert.ok(rank >= 0, 'dog.png is among the sources the LLM was given');
    assert.equal(answer.citations.length, 1);
    assert.equal(answer.citations[0].uri, join(data, 'dog.png'));
    const user = (llm.received.at(-1)!.body.messages as { content: string }[])[1].content;
    assert.match(user, new RegExp(`\\[${rank + 1}\\] image: dog\\.png`));
  });
});
