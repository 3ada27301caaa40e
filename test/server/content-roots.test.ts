import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { IMAGES, tempDir } from '../helpers/paths.js';
import { type RunningServer, startServer } from './harness.js';

describe('GET /items/:id/content checks the real path when it serves', () => {
  const data = tempDir('xmodal-content-roots-');
  const root = join(data, 'root');
  const elsewhere = join(data, 'elsewhere');
  const secret = 'the password is swordfish\n';
  let server: RunningServer;

  before(async () => {
    mkdirSync(root);
    mkdirSync(elsewhere);
    writeFileSync(join(elsewhere, 'secret.txt'), secret);
    server = await startServer({ indexRoots: [root] });
  });
  after(async () => {
    await server.close();
    rmSync(data, { recursive: true, force: true });
  });

  /** The content of the item indexed from this path, found as a user would: through a search hit. */
  const content = async (uri: string, headers: Record<string, string> = {}) => {
    const hits = await server.call('POST', '/search', { text: 'anything', collection: 'c', k: 100 });
    const hit = hits.body.hits.find((h: { uri: string }) => h.uri === uri);
    assert.ok(hit, `an item of ${uri}`);
    return fetch(server.base + hit.content, { headers });
  };

  test('a file indexed inside the roots and later replaced by a link to a file outside is refused', async () => {
    const notes = join(root, 'notes.txt');
    writeFileSync(notes, 'Dogs love long walks.\n');
    const indexed = await server.call('POST', '/collections/c/index', { paths: [notes] });
    assert.equal(indexed.status, 200, JSON.stringify(indexed.body));
    assert.equal(indexed.body.indexed, 1);
    const before = await content(notes);
    assert.equal(before.status, 200);
    assert.equal(await before.text(), 'Dogs love long walks.\n');

    unlinkSync(notes);
    symlinkSync(join(elsewhere, 'secret.txt'), notes);
    for (const headers of [{}, { range: 'bytes=0-9' }] as Record<string, string>[]) {
      const after = await content(notes, headers);
      const body = await after.text();
      assert.equal(after.status, 404, body);
      assert.ok(!body.includes('swordfish'));
      assert.equal(JSON.parse(body).error.code, 'FILE_NOT_FOUND');
    }
  });

  test('an uploaded file replaced by a link to a file outside the uploads folder is refused', async () => {
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(readFileSync(join(IMAGES, 'photo.jpg')))]), 'photo.jpg');
    const indexed = await fetch(`${server.base}/collections/c/index`, { method: 'POST', body: form });
    assert.equal(indexed.status, 200, await indexed.text());
    const hits = await server.call('POST', '/search', { text: 'photo', collection: 'c', k: 100 });
    const photo = hits.body.hits.find((h: { id: string }) => h.id.endsWith('photo.jpg'));
    const served = await fetch(server.base + photo.content);
    assert.equal(served.status, 200);
    const part = await fetch(server.base + photo.content, { headers: { range: 'bytes=2-5' } });
    assert.equal(part.status, 206);
    assert.deepEqual(
      new Uint8Array(await part.arrayBuffer()),
      new Uint8Array(readFileSync(join(IMAGES, 'photo.jpg')).subarray(2, 6)),
    );

    unlinkSync(photo.uri);
    symlinkSync(join(elsewhere, 'secret.txt'), photo.uri);
    const after = await fetch(server.base + photo.content);
    const body = await after.text();
    assert.equal(after.status, 404, body);
    assert.ok(!body.includes('swordfish'));
  });

  test('a link inside the roots to a file inside the roots is still served, with ranges', async () => {
    const real = join(root, 'real.txt');
    const link = join(root, 'link.txt');
    writeFileSync(real, 'Cats sleep all day long.\n');
    symlinkSync(real, link);
    const indexed = await server.call('POST', '/collections/c/index', { paths: [link] });
    assert.equal(indexed.status, 200, JSON.stringify(indexed.body));
    const whole = await content(link);
    assert.equal(whole.status, 200);
    assert.equal(await whole.text(), 'Cats sleep all day long.\n');
    const part = await content(link, { range: 'bytes=5-9' });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), 'bytes 5-9/25');
    assert.equal(await part.text(), 'sleep');
    const past = await content(link, { range: 'bytes=100-' });
    assert.equal(past.status, 416);
  });
});
