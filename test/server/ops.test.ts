import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type RunningServer, startServer } from './harness.js';

describe('health, metrics, docs, API key, CORS', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ apiKey: 'sesame' });
  });
  after(() => server.close());

  const auth = { authorization: 'Bearer sesame' };

  test('GET /health is open and says what is served', async () => {
    const health = await server.call('GET', '/health');
    assert.equal(health.status, 200);
    assert.equal(health.body.status, 'ok');
    assert.equal(health.body.dim, 32);
    assert.deepEqual(health.body.modalities, ['text', 'image']);
  });

  test('with a key set, the API refuses requests without it, or with a wrong one', async () => {
    const none = await server.call('POST', '/embed/text', { text: 'x' });
    const wrong = await server.call('POST', '/embed/text', { text: 'x' }, { authorization: 'Bearer nope' });
    const reads = await server.call('GET', '/collections');
    const right = await server.call('POST', '/embed/text', { text: 'x' }, auth);
    assert.equal(none.status, 401);
    assert.equal(none.body.error.code, 'UNAUTHORIZED');
    assert.equal(wrong.status, 401);
    assert.equal(reads.status, 401);
    assert.equal(right.status, 200);
  });

  test('GET /metrics is Prometheus text with request and batch counters', async () => {
    await server.call('POST', '/embed/text', { text: ['a', 'b'] }, auth);
    const response = await fetch(`${server.base}/metrics`, { headers: auth });
    const text = await response.text();
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
    assert.match(text, /xmodal_http_requests_total\{method="POST",route="\/embed\/text",status="200"\} \d+/);
    assert.match(text, /xmodal_embed_batch_rows_count\{modality="text"\} \d+/);
    assert.match(text, /process_resident_memory_bytes \d+/);
  });

  test('the OpenAPI document lists every endpoint and /docs serves the explorer', async () => {
    const doc = await server.call('GET', '/openapi.json');
    assert.equal(doc.status, 200);
    assert.equal(doc.body.openapi.slice(0, 2), '3.');
    for (const path of [
      '/embed/text',
      '/embed/image',
      '/embed/audio',
      '/similarity',
      '/search',
      '/items/{id}',
      '/items/{id}/content',
      '/collections',
      '/collections/{name}/index',
      '/collections/{name}/stats',
      '/v1/embeddings',
      '/health',
      '/metrics',
    ])
      assert.ok(doc.body.paths[path], path);
    const docs = await fetch(`${server.base}/docs/`);
    assert.equal(docs.status, 200);
    assert.match(await docs.text(), /swagger/i);
  });

  test('the UI page loads without a key; unknown routes are 404 in our error shape', async () => {
    const page = await fetch(`${server.base}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<script src="ui\/app\.js"/);
    const missing = await server.call('GET', '/nope', undefined, auth);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'NOT_FOUND');
    assert.equal((await fetch(`${server.base}/ui/..%2Fpackage.json`)).status, 404);
  });

  test('CORS is off unless origins are given', async () => {
    const closed = await fetch(`${server.base}/health`, { headers: { origin: 'https://example.com' } });
    assert.equal(closed.headers.get('access-control-allow-origin'), null);
    const open = await startServer({ corsOrigins: ['https://example.com'] });
    try {
      const allowed = await fetch(`${open.base}/health`, { headers: { origin: 'https://example.com' } });
      assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://example.com');
    } finally {
      await open.close();
    }
  });
});
