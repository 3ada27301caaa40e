import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type FakeLlm, startFakeLlm } from '../helpers/llm-server.js';
import { AUDIO, IMAGES, TINY_BUNDLE } from '../helpers/paths.js';
import { dataUrl, type RunningServer, startServer } from './harness.js';

describe('task endpoints: classify, moderate, ask, quality', () => {
  let server: RunningServer;
  let llm: FakeLlm;
  const png = dataUrl('image/png', readFileSync(join(IMAGES, 'photo.png')));
  before(async () => {
    llm = await startFakeLlm((prompt) => `It is in [1]. (${prompt.length} chars)`);
    process.env.XMODAL_LLM_URL = `${llm.url}/v1`;
    process.env.XMODAL_LLM_MODEL = 'test-model';
    server = await startServer({ model: TINY_BUNDLE });
    const form = new FormData();
    form.append('file', new Blob([readFileSync(join(IMAGES, 'photo.png'))]), 'dog.png');
    form.append('file', new Blob([Buffer.from('A brown dog runs across the park.')]), 'dog.txt');
    form.append('file', new Blob([readFileSync(join(AUDIO, 'sine.ogg'))]), 'tone.ogg');
    const indexed = await fetch(`${server.base}/collections/docs/index`, { method: 'POST', body: form });
    assert.equal(indexed.status, 200, await indexed.text());
  });
  after(async () => {
    delete process.env.XMODAL_LLM_URL;
    delete process.env.XMODAL_LLM_MODEL;
    await server.close();
    await llm.close();
  });

  test('POST /classify: labels best first with probabilities', async () => {
    const { status, body } = await server.call('POST', '/classify', {
      image: png,
      labels: ['dog', 'cat', 'car'],
      k: 2,
    });
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.labels.length, 2);
    assert.ok(body.labels[0].score >= body.labels[1].score);
  });

  test('POST /moderate: the shipped policy by default, or the one sent', async () => {
    const byDefault = await server.call('POST', '/moderate', { image: png });
    assert.equal(byDefault.status, 200, JSON.stringify(byDefault.body));
    assert.equal(typeof byDefault.body.safe, 'boolean');
    const policy = {
      unsafe: [{ name: 'weapons', prompts: ['pistol'], threshold: 0 }],
      safe: [{ name: 'animals', prompts: ['dog'] }],
    };
    const own = await server.call('POST', '/moderate', { image: png, policy });
    assert.equal(own.body.safe, false);
    assert.equal(own.body.flagged[0].category, 'weapons');
    const broken = await server.call('POST', '/moderate', { text: 'x', policy: { unsafe: [] } });
    assert.equal(broken.status, 400);
    assert.equal(broken.body.error.code, 'BAD_INPUT');
  });

  test("POST /ask: the server's LLM answers with citations; the client cannot name an LLM", async () => {
    const { status, body } = await server.call('POST', '/ask', {
      question: 'Where is the dog?',
      collection: 'docs',
      sources: 2,
    });
    assert.equal(status, 200, JSON.stringify(body));
    assert.match(body.answer, /^It is in \[1\]\./);
    assert.deepEqual(body.citations[0], body.sources[0]);
    assert.equal(llm.received.at(-1)!.body.model, 'test-model');
    const pushy = await server.call('POST', '/ask', {
      question: 'q',
      collection: 'docs',
      llm: { url: 'http://evil' },
    });
    assert.equal(pushy.status, 400);
  });

  test('GET /collections/:name/quality: the metrics, without vectors', async () => {
    const { status, body } = await server.call('GET', '/collections/docs/quality?k=2');
    assert.equal(status, 200, JSON.stringify(body));
    assert.deepEqual(body.counts, { text: 1, image: 1, audio: 1 });
    assert.equal(body.clusters.k, 2);
    assert.equal(body.vectors, undefined);
    const missing = await server.call('GET', '/collections/nope/quality');
    assert.equal(missing.status, 404);
  });
});
