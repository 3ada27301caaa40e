import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { keepUpload } from '../../src/tasks/uploads.js';
import { IMAGES, tempDir } from '../helpers/paths.js';
import { embeddedModalities, type Json, type RunningServer, startServer } from './harness.js';

const MiB = 1024 * 1024;

/** A multipart body of `count` files of `size` bytes each (PNG header + padding: an image to the sniffers). */
function formOf(count: number, size: number, name = (i: number) => `f${i}.png`): FormData {
  const png = readFileSync(join(IMAGES, 'photo.png'));
  const form = new FormData();
  for (let i = 0; i < count; i++) {
    const bytes = new Uint8Array(size);
    bytes.set(png.subarray(0, Math.min(png.length, size)));
    form.append('file', new Blob([bytes]), name(i));
  }
  return form;
}

/** The same body sent chunked, without a content-length: the server cannot refuse it up front. */
async function chunkedBody(form: FormData): Promise<{ body: ReadableStream; type: string }> {
  const request = new Request('http://127.0.0.1/', { method: 'POST', body: form });
  const bytes = new Uint8Array(await request.arrayBuffer());
  const body = new ReadableStream({
    start(controller) {
      for (let at = 0; at < bytes.length; at += 256 * 1024)
        controller.enqueue(bytes.subarray(at, at + 256 * 1024));
      controller.close();
    },
  });
  return { body, type: request.headers.get('content-type')! };
}

async function post(server: RunningServer, path: string, body: FormData | ReadableStream, type?: string) {
  const response = await fetch(server.base + path, {
    method: 'POST',
    body,
    headers: type ? { 'content-type': type } : undefined,
    // @ts-expect-error: undici's option for a streamed request body
    duplex: 'half',
  });
  return { status: response.status, body: (await response.json()) as Json };
}

describe('--max-upload-mb caps the whole multipart request', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ limits: { bodyBytes: 4 * MiB, fileBytes: 4 * MiB } });
  });
  after(() => server.close());

  for (const path of ['/embed/image', '/collections/totals/index']) {
    test(`${path}: many files each under the limit but over it together are 413, and nothing is kept`, async () => {
      const declared = await post(server, path, formOf(8, 0.9 * MiB));
      assert.equal(declared.status, 413, JSON.stringify(declared.body));
      assert.equal(declared.body.error.code, 'INPUT_TOO_LARGE');
      assert.match(declared.body.error.message, /4 MiB/);
      const { body, type } = await chunkedBody(formOf(8, 0.9 * MiB));
      const streamed = await post(server, path, body, type);
      assert.equal(streamed.status, 413, JSON.stringify(streamed.body));
      assert.equal(streamed.body.error.code, 'INPUT_TOO_LARGE');
      const stats = await server.call('GET', '/collections/totals/stats');
      assert.equal(stats.status, 404, 'the refused uploads created no collection');
      const uploads = join(server.home, 'uploads', 'totals');
      assert.deepEqual(existsSync(uploads) ? readdirSync(uploads) : [], []);
    });
  }

  test('a request under the total still goes through', async () => {
    const ok = await post(server, '/embed/image', formOf(3, 0.9 * MiB));
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.embeddings.length, 3);
  });
});

describe('uploads never overwrite each other', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  const picture = (color: string) =>
    sharp({ create: { width: 16, height: 16, channels: 3, background: color } })
      .png()
      .toBuffer();

  async function upload(collection: string, files: [string, Buffer][]) {
    const form = new FormData();
    for (const [name, bytes] of files) form.append('file', new Blob([new Uint8Array(bytes)]), name);
    return post(server, `/collections/${collection}/index`, form);
  }

  const kept = (collection: string) =>
    readdirSync(join(server.home, 'uploads', collection)).map((f) =>
      readFileSync(join(server.home, 'uploads', collection, f)),
    );

  test('two different files with one name in one request are two items', async () => {
    const [red, blue] = [await picture('#f00'), await picture('#00f')];
    const result = await upload('same-request', [
      ['photo.png', red],
      ['photo.png', blue],
    ]);
    assert.equal(result.status, 200, JSON.stringify(result.body));
    assert.equal(result.body.files, 2);
    assert.equal(result.body.indexed, 2);
    const files = kept('same-request');
    assert.equal(files.length, 2);
    assert.ok(files.some((c) => c.equals(red)) && files.some((c) => c.equals(blue)));
  });

  test('a later upload of another file with the same name adds an item, keeping the first', async () => {
    const [green, yellow] = [await picture('#0f0'), await picture('#ff0')];
    await upload('later', [['a/beach.png', green]]);
    const second = await upload('later', [['b/beach.png', yellow]]);
    assert.equal(second.body.indexed, 1, JSON.stringify(second.body));
    const stats = await server.call('GET', '/collections/later/stats');
    assert.equal(stats.body.items, 2);
    const files = kept('later');
    assert.equal(files.length, 2);
    assert.ok(files.some((c) => c.equals(green)) && files.some((c) => c.equals(yellow)));
  });

  test('the very same file kept by concurrent requests is one file, never a half-written one beside it', async () => {
    // A request that finds the name taken compares bytes: it must never see the other's file half-written.
    const bytes = new Uint8Array(await picture('#f0f'));
    for (let round = 0; round < 100; round++) {
      const folder = tempDir('xmodal-keep-');
      try {
        const paths = await Promise.all(
          Array.from({ length: 8 }, (_, i) => keepUpload(folder, { filename: 'same.png', bytes }, i)),
        );
        assert.deepEqual(new Set(paths), new Set([join(folder, 'same.png')]), `round ${round}`);
        assert.deepEqual(readdirSync(folder), ['same.png'], `round ${round}`);
      } finally {
        rmSync(folder, { recursive: true, force: true });
      }
    }
  });

  test('uploading the very same file again is recognised, not duplicated', async () => {
    const green = await picture('#0f0');
    await upload('again', [['beach.png', green]]);
    const again = await upload('again', [['beach.png', green]]);
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.equal(again.body.unchanged, 1);
    const stats = await server.call('GET', '/collections/again/stats');
    assert.equal(stats.body.items, 1);
    assert.equal(kept('again').length, 1);
  });
});

describe('every multipart limit answers INPUT_TOO_LARGE with a message naming the limit', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  for (const path of ['/embed/image', '/collections/many/index']) {
    test(`${path}: 65 files, one more than the default 64, are refused before anything is embedded or kept`, async () => {
      const result = await post(server, path, formOf(65, 256));
      assert.equal(result.status, 413, JSON.stringify(result.body));
      assert.deepEqual(result.body, {
        error: { code: 'INPUT_TOO_LARGE', message: 'at most 64 files in one request' },
      });
      assert.equal(await embeddedModalities(server), 0, 'nothing was embedded');
      assert.equal((await server.call('GET', '/collections/many/stats')).status, 404);
      const uploads = join(server.home, 'uploads', 'many');
      assert.deepEqual(existsSync(uploads) ? readdirSync(uploads) : [], []);
    });
  }

  test('a server started with another file limit names its own', async () => {
    const few = await startServer({ limits: { files: 3 } });
    try {
      const over = await post(few, '/embed/image', formOf(4, 256));
      assert.equal(over.status, 413, JSON.stringify(over.body));
      assert.equal(over.body.error.message, 'at most 3 files in one request');
      const most = await post(few, '/embed/image', formOf(3, 2048));
      assert.equal(most.status, 200, JSON.stringify(most.body));
    } finally {
      await few.close();
    }
  });

  test('a file over the per-file limit names the file and the limit', async () => {
    const small = await startServer({ limits: { fileBytes: 1 * MiB } });
    try {
      const result = await post(
        small,
        '/embed/image',
        formOf(1, 1.5 * MiB, () => 'big.png'),
      );
      assert.equal(result.status, 413, JSON.stringify(result.body));
      assert.equal(result.body.error.code, 'INPUT_TOO_LARGE');
      assert.match(result.body.error.message, /^big\.png is over the 1 MiB limit per file/);
    } finally {
      await small.close();
    }
  });

  test('more form fields than the limit are refused with the number', async () => {
    const form = formOf(1, 1024);
    for (let i = 0; i < 33; i++) form.append('tags', `tag${i}`);
    const result = await post(server, '/collections/fields/index', form);
    assert.equal(result.status, 413, JSON.stringify(result.body));
    assert.deepEqual(result.body, {
      error: { code: 'INPUT_TOO_LARGE', message: 'at most 32 form fields in one request' },
    });
    assert.equal((await server.call('GET', '/collections/fields/stats')).status, 404);
  });

  test('a form field over the size limit is refused, not cut short and used', async () => {
    const form = formOf(1, 1024);
    form.append('tags', 'x'.repeat(64 * 1024 + 1));
    const result = await post(server, '/collections/long-tag/index', form);
    assert.equal(result.status, 413, JSON.stringify(result.body));
    assert.deepEqual(result.body, {
      error: { code: 'INPUT_TOO_LARGE', message: 'form field "tags" is over the 64 KiB limit per field' },
    });
    assert.equal((await server.call('GET', '/collections/long-tag/stats')).status, 404);
  });
});
