// A server on a database store never tells its clients the database's password.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { shownLocation } from '../../src/store/open.js';
import { tempDir } from '../helpers/paths.js';
import { startPgliteServer } from '../store/pglite-server.js';
import { type RunningServer, startServer } from './harness.js';

describe('a server on --store postgres://user:password@…', () => {
  const home = tempDir();
  let pg: Awaited<ReturnType<typeof startPgliteServer>>;
  let server: RunningServer;
  before(async () => {
    pg = await startPgliteServer();
    server = await startServer({ workspace: { home, store: pg.url } });
  });
  after(async () => {
    await server.close();
    await pg.stop();
    rmSync(home, { recursive: true, force: true });
  });

  test('answers a search of a missing collection with 404 NOT_FOUND, the password hidden', async () => {
    const searched = await server.call('POST', '/search', { collection: 'nothing', text: 'a photo' });
    assert.equal(searched.status, 404, JSON.stringify(searched.body));
    assert.equal(searched.body.error.code, 'NOT_FOUND');
    assert.match(
      searched.body.error.message,
      /^no collection "nothing" in postgres:\/\/…@127\.0\.0\.1:\d+\/postgres;/,
    );
    assert.ok(!searched.body.error.message.includes('postgres:postgres'), searched.body.error.message);
  });
});

test('store locations are shown without a password or token, folders as they are', () => {
  assert.equal(shownLocation('milvus://root:secret@db:19530'), 'milvus://…@db:19530');
  assert.equal(
    shownLocation('milvus+https://x.zillizcloud.com?db=a&token=secret&x=1'),
    'milvus+https://x.zillizcloud.com?db=a&token=…&x=1',
  );
  assert.equal(
    shownLocation('postgresql://u:secret@db/x?sslmode=require'),
    'postgresql://…@db/x?sslmode=require',
  );
  assert.equal(shownLocation('/home/me/.xmodal/collections'), '/home/me/.xmodal/collections');
});

test('a Milvus address that is not a URL is refused without echoing its token', async () => {
  const { milvusClient } = await import('../../src/store/milvus/backend.js');
  assert.throws(
    () => milvusClient('milvus+https://db:19530:9?token=secret-key'),
    (error: Error & { code?: string }) =>
      error.code === 'BAD_ARGUMENT' &&
      !error.message.includes('secret-key') &&
      /Milvus URL/.test(error.message),
  );
});
