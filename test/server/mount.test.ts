// The HTTP API mounted inside other apps: the Fastify plugin under a prefix in a host app, and the plain Node
// handler in a bare http.createServer. Both serve the UI and /v1/embeddings there, leaving the host alone.
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { createHandler, type XmodalHandler, xmodalPlugin } from '../../src/server/app.js';
import { IMAGES, TINY_CLIP, tempDir } from '../helpers/paths.js';
import { cosine, type Json } from './harness.js';

async function get(url: string, init?: RequestInit): Promise<{ status: number; type: string; text: string }> {
  const response = await fetch(url, { redirect: 'manual', ...init });
  return {
    status: response.status,
    type: response.headers.get('content-type') ?? '',
    text: await response.text(),
  };
}

async function postJson(url: string, body: unknown): Promise<{ status: number; body: Json }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

/** What a browser does with the page: follow the slash redirect, then load every file it links relatively. */
async function loadUi(mountUrl: string): Promise<void> {
  const bare = await get(mountUrl);
  assert.equal(bare.status, 302);
  const page = await get(`${mountUrl}/`);
  assert.equal(page.status, 200);
  assert.match(page.type, /text\/html/);
  const links = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => new URL(m[1], `${mountUrl}/`));
  assert.ok(links.some((l) => l.pathname.endsWith('/ui/app.js')));
  for (const link of links) {
    const file = await get(link.href);
    assert.equal(file.status, 200, `${link.pathname} from the page at ${mountUrl}/`);
  }
  // The script sends its API calls one folder above itself: the mount point.
  const apiBase = new URL('../', new URL('ui/app.js', `${mountUrl}/`));
  const collections = await get(new URL('collections', apiBase).href);
  assert.equal(collections.status, 200);
  assert.deepEqual(JSON.parse(collections.text).default, 'default');
}

/** /v1/embeddings under the mount equals the encoder's own /embed/text there. */
async function checkEmbeddings(mountUrl: string): Promise<void> {
  const openai = await postJson(`${mountUrl}/v1/embeddings`, {
    input: ['a dog', 'a cat'],
    model: 'tiny-clip',
  });
  assert.equal(openai.status, 200, JSON.stringify(openai.body));
  assert.equal(openai.body.data.length, 2);
  const direct = await postJson(`${mountUrl}/embed/text`, { text: ['a dog', 'a cat'] });
  assert.ok(cosine(openai.body.data[0].embedding, direct.body.embeddings[0]) > 0.99999);
  assert.ok(cosine(openai.body.data[1].embedding, direct.body.embeddings[1]) > 0.99999);
}

/** Upload, search, and fetch the hit's content through the link the server hands out. */
async function checkIndexSearchContent(origin: string, mount: string): Promise<void> {
  const png = readFileSync(join(IMAGES, 'photo.png'));
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(png)]), 'photo.png');
  const indexed = await fetch(`${origin}${mount}/collections/default/index`, { method: 'POST', body: form });
  assert.equal(indexed.status, 200, await indexed.clone().text());
  const found = await postJson(`${origin}${mount}/search`, { image: png.toString('base64'), k: 1 });
  assert.equal(found.status, 200, JSON.stringify(found.body));
  const content: string = found.body.hits[0].content;
  assert.ok(content.startsWith(`${mount}/items/`), content);
  const file = await fetch(origin + content);
  assert.equal(file.status, 200);
  assert.deepEqual(Buffer.from(await file.arrayBuffer()), png);
}

describe('the Fastify plugin under a prefix in a host app', () => {
  let host: FastifyInstance;
  let origin: string;
  let home: string;
  before(async () => {
    home = tempDir('xmodal-mount-');
    // A host with Fastify's defaults (type coercion on, short path parameters) and routes of its own.
    host = Fastify({ routerOptions: { maxParamLength: 2048 } });
    host.get('/', async () => ({ host: true }));
    host.post('/echo', async (request) => ({ echoed: request.body }));
    await host.register(xmodalPlugin, { prefix: '/xmodal', home, model: TINY_CLIP });
    await host.listen({ port: 0, host: '127.0.0.1' });
    origin = `http://127.0.0.1:${(host.server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await host.close();
    rmSync(home, { recursive: true, force: true });
  });

  test('the UI loads under the prefix and reaches the API there', () => loadUi(`${origin}/xmodal`));

  test('/v1/embeddings works under the prefix', () => checkEmbeddings(`${origin}/xmodal`));

  test('indexing, search and content links carry the prefix', () =>
    checkIndexSearchContent(origin, '/xmodal'));

  test("the host keeps its own routes, 404s and body parsing; xmodal's validation stays strict", async () => {
    assert.deepEqual(JSON.parse((await get(`${origin}/`)).text), { host: true });
    assert.deepEqual((await postJson(`${origin}/echo`, { a: 1 })).body, { echoed: { a: 1 } });
    const hostMissing = await get(`${origin}/nothing-here`);
    assert.equal(hostMissing.status, 404);
    assert.equal(JSON.parse(hostMissing.text).error, 'Not Found'); // Fastify's shape, not xmodal's
    const ours = await get(`${origin}/xmodal/nothing-here`);
    assert.equal(ours.status, 404);
    assert.equal(JSON.parse(ours.text).error.code, 'NOT_FOUND');
    // The host coerces types by default; xmodal's routes still refuse a string where a number belongs.
    const coerced = await postJson(`${origin}/xmodal/search`, { text: 'a dog', k: '3' });
    assert.equal(coerced.status, 400);
    assert.equal(coerced.body.error.code, 'BAD_ARGUMENT');
  });

  test('the OpenAPI document and docs are served under the prefix', async () => {
    const spec = JSON.parse((await get(`${origin}/xmodal/openapi.json`)).text);
    assert.ok(Object.keys(spec.paths).some((p) => p.endsWith('/v1/embeddings')));
    assert.equal((await get(`${origin}/xmodal/docs/`)).status, 200);
  });
});

describe('the Node handler in a bare http.createServer', () => {
  let server: Server;
  let handler: XmodalHandler;
  let origin: string;
  let home: string;
  before(async () => {
    home = tempDir('xmodal-mount-');
    handler = await createHandler({ prefix: '/search-api', home, model: TINY_CLIP, apiKey: 'secret' });
    server = createServer((request, response) => {
      if (request.url === '/') response.end('the host page');
      else handler(request, response);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    await handler.close();
    rmSync(home, { recursive: true, force: true });
  });

  test('the UI files are public under the prefix; the API asks for the key there', async () => {
    assert.equal((await get(`${origin}/`)).text, 'the host page');
    const page = await get(`${origin}/search-api/`);
    assert.equal(page.status, 200);
    assert.equal((await get(`${origin}/search-api/ui/app.js`)).status, 200);
    const refused = await postJson(`${origin}/search-api/v1/embeddings`, { input: 'a dog' });
    assert.equal(refused.status, 401);
    assert.equal(refused.body.error.code, 'UNAUTHORIZED');
  });

  test('/v1/embeddings works under the prefix with the key', async () => {
    const response = await fetch(`${origin}/search-api/v1/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer secret' },
      body: JSON.stringify({ input: ['a dog'] }),
    });
    assert.equal(response.status, 200);
    const body = (await response.json()) as Json;
    assert.equal(body.data[0].embedding.length, 32);
  });

  test('requests outside the prefix go to next() when one is given', async () => {
    const seen: string[] = [];
    const next = () => seen.push('next');
    const fake = { url: '/elsewhere', method: 'GET', headers: {} };
    handler(fake as never, {} as never, next);
    assert.deepEqual(seen, ['next']);
  });
});

describe('the Node handler at the root', () => {
  test('serves the UI and /v1/embeddings with no prefix', async () => {
    const home = tempDir('xmodal-mount-');
    const handler = await createHandler({ home, model: TINY_CLIP });
    const server = createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const page = await get(`${origin}/`);
      assert.equal(page.status, 200);
      assert.match(page.type, /text\/html/);
      await checkEmbeddings(origin);
      await checkIndexSearchContent(origin, '');
    } finally {
      await new Promise((resolve) => server.close(resolve));
      await handler.close();
      rmSync(home, { recursive: true, force: true });
    }
  });
});
