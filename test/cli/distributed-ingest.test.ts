// Ingest over a real queue (BullMQ on redis-server) by several `xmodal worker` processes into one shared store.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeMixedFiles } from '../../bench/mixed-files.js';
import {
  dropCollection,
  queueStatus as libraryQueueStatus,
  queueIndex,
  startIngestWorker,
} from '../../src/index.js';
import { findVideoTools } from '../../src/media/video.js';
import { openQueue, type QueueStatus, queueStatus } from '../../src/queue/ingest-queue.js';
import { listCollections, openStore } from '../../src/store/open.js';
import type { ItemRecord } from '../../src/store/store.js';
import { expandPaths } from '../../src/tasks/expand-paths.js';
import { chunkText } from '../../src/tasks/text-chunks.js';
import { errorLines, runCli, startCli } from '../helpers/cli.js';
import { expectCliError } from '../helpers/expect-cli-error.js';
import { MINI, MINI_MISSING } from '../helpers/mini.js';
import { changeWeights, copyModel } from '../helpers/model-copy.js';
import { IMAGES, TINY_BUNDLE, TINY_CLIP, TINY_SIGLIP, tempDir } from '../helpers/paths.js';
import { NO_FFMPEG } from '../helpers/video.js';
import type { ChildServer } from '../servers/child-server.js';
import { warnSkipped } from '../servers/python-venv.js';
import { type RedisServer, redisUnavailable, startRedis } from '../servers/redis.js';
import { type SharedStore, startSharedStore } from '../servers/shared-store.js';

const noRedis = redisUnavailable();

function startWorker(args: string[]): Promise<ChildServer> {
  return startCli(['worker', ...args], /worker ready/, { XMODAL_OFFLINE: '1' });
}

async function waitFor(
  url: string,
  done: (status: QueueStatus) => boolean,
  timeoutMs: number,
): Promise<QueueStatus> {
  const queue = openQueue(url);
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = await queueStatus(queue, url);
      if (done(status)) return status;
      if (Date.now() > deadline)
        throw new Error(`queue not done in ${timeoutMs / 1000} s: ${JSON.stringify(status)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await queue.close();
  }
}

describe('distributed ingest: xmodal index --queue, xmodal worker, xmodal queue status', {
  skip: noRedis && warnSkipped('distributed ingest', noRedis),
}, () => {
  let redis: RedisServer;
  let store: SharedStore;
  let dir: string;
  const workers: ChildServer[] = [];

  before(async () => {
    dir = tempDir('xmodal-queue-');
    [redis, store] = await Promise.all([startRedis(), startSharedStore()]);
  });
  after(async () => {
    for (const worker of workers) worker.child.kill('SIGKILL');
    await Promise.all(workers.map((w) => w.exited));
    await redis?.stop();
    await store?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('3 workers, one killed with -9 mid-run: 300 files of every modality end up in the store exactly once, the poison file in the failed list', async () => {
    const data = join(dir, 'data');
    await makeMixedFiles(data, 300);
    const { files } = await expandPaths([data]);
    const poison = join(data, 'poison.jpg');
    copyFileSync(join(IMAGES, 'truncated.jpg'), poison);
    const workerArgs = ['--queue', redis.url, '--store', store.url, '--visibility-timeout', '4'];
    workers.push(...(await Promise.all([0, 1, 2].map(() => startWorker(workerArgs)))));

    const queued = await runCli([
      '--store',
      store.url,
      'index',
      join(dir, 'data'),
      '--queue',
      redis.url,
      '-c',
      'shared',
      '-m',
      TINY_BUNDLE,
      '--job-size',
      '4',
      '--json',
    ]);
    assert.equal(queued.code, 0, queued.stderr);
    const report = JSON.parse(queued.stdout);
    assert.equal(report.files, 301);
    assert.equal(report.jobs, 76);

    // Kill the first worker while work is left, right after it finished a job.
    const victim = workers[0];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the first worker took no job in 120 s')), 120_000);
      const poll = setInterval(() => {
        if (victim.output().includes('job ')) {
          clearInterval(poll);
          clearTimeout(timer);
          resolve();
        }
      }, 20);
    });
    victim.child.kill('SIGKILL');
    const midRun = await waitFor(redis.url, () => true, 10_000);
    assert.ok(midRun.pending.files + midRun.running.files > 0, 'killed before the end of the run');

    const status = await waitFor(
      redis.url,
      (s) => s.pending.jobs === 0 && s.running.jobs === 0 && s.failed.jobs > 0,
      300_000,
    );
    assert.deepEqual(
      status.failures.map((f) => f.files),
      [[poison]],
    );
    assert.match(status.failures[0].reason, /cannot decode image/);
    assert.equal(status.failures[0].attempts, 3);
    assert.equal(status.done.files, 300);

    const info = (await listCollections(store.url)).find((c) => c.name === 'shared');
    assert.ok(info, 'collection "shared" exists');
    const opened = await openStore(store.url, {
      collection: 'shared',
      dim: info.dim,
      encoderId: info.encoderId,
    });
    try {
      // Every file once: all its items (one, or one per text chunk) under one content hash, and nothing else.
      const byUri = new Map<string, ItemRecord[]>();
      for await (const record of opened.iterate()) {
        byUri.set(record.uri ?? '', [...(byUri.get(record.uri ?? '') ?? []), record]);
      }
      assert.deepEqual([...byUri.keys()].sort(), [...files].sort(), 'every file, and nothing else');
      for (const [uri, records] of byUri) {
        const expected = uri.endsWith('.txt') ? chunkText(readFileSync(uri, 'utf8')).length : 1;
        assert.equal(records.length, expected, `items of ${uri}`);
        assert.equal(new Set(records.map((r) => r.contentHash)).size, 1, `one version of ${uri}`);
      }
      assert.equal(await opened.count({ modality: 'audio' }), 60);
    } finally {
      await opened.close();
    }

    const cli = await runCli(['queue', 'status', '--queue', redis.url, '--json']);
    assert.equal(cli.code, 0, cli.stderr);
    const printed = JSON.parse(cli.stdout);
    assert.equal(printed.done.files, 300);
    assert.equal(printed.failed.files, 1);
    const text = await runCli(['queue', 'status', '--queue', redis.url]);
    assert.match(text.stdout, /done 300 files, pending 0, running 0, failed 1/);
    assert.match(text.stdout, /failed: .*poison\.jpg: /);

    // The survivors finish what they hold and exit cleanly.
    for (const worker of workers.slice(1)) worker.child.kill('SIGTERM');
    assert.deepEqual(await Promise.all(workers.slice(1).map((w) => w.exited)), [0, 0]);
  });

  it('a worker refuses a collection whose model it does not have; the job fails with the reason', async () => {
    const queueUrl = `${redis.url}/1`;
    const file = join(dir, 'refused.txt');
    writeFileSync(file, 'a note for a model this worker lacks\n');
    const worker = await startWorker(['--queue', queueUrl, '--store', store.url, '--model', TINY_CLIP]);
    workers.push(worker);
    const queued = await runCli([
      '--store',
      store.url,
      'index',
      file,
      '--queue',
      queueUrl,
      '-c',
      'refused',
      '-m',
      TINY_BUNDLE,
    ]);
    assert.equal(queued.code, 0, queued.stderr);
    const status = await waitFor(queueUrl, (s) => s.failed.jobs > 0, 120_000);
    assert.match(status.failures[0].reason, /refuses model .*tiny-bundle: it serves only .*tiny-clip/);
    assert.equal(status.done.jobs, 0);
  });

  it('a worker whose copy of the model has other weights than the collection was indexed with refuses the job', {
    skip: MINI_MISSING,
  }, async () => {
    const queueUrl = `${redis.url}/5`;
    const model = copyModel(MINI);
    try {
      const report = await queueIndex('reweighted', join(IMAGES, 'photo.png'), {
        store: store.url,
        queue: queueUrl,
        model,
      });
      assert.equal(report.jobs, 1);
      // Retrained in place after the collection was made: same folder, so the same model id.
      changeWeights(join(model, 'clip'), 'vision_model');
      const worker = await startIngestWorker(queueUrl, { store: store.url, threads: 1 });
      try {
        const status = await waitFor(queueUrl, (s) => s.failed.jobs > 0, 120_000);
        assert.match(
          status.failures[0].reason,
          /refuses model .+: collection "reweighted" was indexed with other weights of .+; re-index it into a new collection, or drop it \(xmodal collections drop reweighted --yes\)/,
        );
        assert.equal(status.done.jobs, 0);
      } finally {
        await worker.close();
      }
      const info = (await listCollections(store.url)).find((c) => c.name === 'reweighted');
      assert.ok(info?.encoder?.weights);
      const opened = await openStore(store.url, {
        collection: 'reweighted',
        dim: info.dim,
        encoderId: info.encoderId,
      });
      try {
        assert.equal(await opened.count(), 0, 'no vector of the other weights was written');
      } finally {
        await opened.close();
      }
    } finally {
      rmSync(model, { recursive: true, force: true });
    }
  });

  it('the library: queueIndex, startIngestWorker and queueStatus do what index --queue, worker and queue status do', async () => {
    const queueUrl = `${redis.url}/2`;
    const folder = join(dir, 'library');
    mkdirSync(folder);
    for (const name of ['photo.png', 'photo.jpg', 'photo.webp'])
      copyFileSync(join(IMAGES, name), join(folder, name));
    writeFileSync(join(folder, 'note.txt'), 'a note about a dog\n');
    const report = await queueIndex('library', folder, {
      store: store.url,
      queue: queueUrl,
      model: TINY_CLIP,
      jobSize: 2,
    });
    assert.deepEqual([report.files, report.jobs, report.skipped], [4, 2, []]);
    const worker = await startIngestWorker(queueUrl, { store: store.url, threads: 1 });
    try {
      const status = await waitFor(queueUrl, (s) => s.pending.jobs === 0 && s.running.jobs === 0, 120_000);
      assert.deepEqual([status.done.files, status.failed.files], [4, 0]);
    } finally {
      await worker.close();
    }
    const mine = await libraryQueueStatus(queueUrl);
    const printed = JSON.parse((await runCli(['queue', 'status', '--queue', queueUrl, '--json'])).stdout);
    for (const key of ['queue', 'done', 'pending', 'running', 'failed', 'failures'] as const)
      assert.deepEqual(mine[key], printed[key], key);
    const info = (await listCollections(store.url)).find((c) => c.name === 'library');
    assert.equal(info?.encoderId, report.encoderId);
    const opened = await openStore(store.url, {
      collection: 'library',
      dim: info.dim,
      encoderId: info.encoderId,
    });
    try {
      assert.equal(await opened.count(), 4);
    } finally {
      await opened.close();
    }
  });

  it('queue status counts every job once while workers move them on', async () => {
    const queueUrl = `${redis.url}/4`;
    const folder = join(dir, 'counted');
    mkdirSync(folder);
    for (let i = 0; i < 120; i++) writeFileSync(join(folder, `note-${i}.txt`), `note number ${i}\n`);
    const report = await queueIndex('counted', folder, {
      store: store.url,
      queue: queueUrl,
      model: TINY_CLIP,
      jobSize: 1,
    });
    assert.equal(report.jobs, 120);
    const worker = await startIngestWorker(queueUrl, { store: store.url, threads: 1, concurrency: 4 });
    try {
      let polls = 0;
      for (;;) {
        const s = await libraryQueueStatus(queueUrl);
        polls++;
        const seen = s.pending.jobs + s.running.jobs + s.done.jobs + s.failed.jobs;
        assert.equal(seen, 120, `poll ${polls}: ${JSON.stringify(s)}`);
        if (s.done.jobs === 120) break;
      }
      assert.ok(polls > 1, 'polled while the worker ran');
    } finally {
      await worker.close();
    }
  });

  it('a queued video is indexed by a worker with the sampling asked at index --queue', {
    skip: NO_FFMPEG,
  }, async () => {
    const queueUrl = `${redis.url}/3`;
    const video = join(dir, 'queued.mp4');
    const { ffmpeg } = findVideoTools()!;
    execFileSync(ffmpeg, [
      ...['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=s=160x120:d=6:r=10', '-f', 'lavfi', '-i', 'sine=d=6'],
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', '-shortest', video],
    ]);
    const queued = await runCli([
      ...['--store', store.url, 'index', video, '--queue', queueUrl, '-c', 'videos', '-m', TINY_BUNDLE],
      ...['--frame-every', '1', '--scene-threshold', '0', '--json'],
    ]);
    assert.equal(queued.code, 0, queued.stderr);
    const worker = await startIngestWorker(queueUrl, { store: store.url, threads: 1 });
    try {
      const status = await waitFor(queueUrl, (s) => s.pending.jobs === 0 && s.running.jobs === 0, 120_000);
      assert.deepEqual([status.done.files, status.failed.files], [1, 0], JSON.stringify(status.failures));
    } finally {
      await worker.close();
    }
    const info = (await listCollections(store.url)).find((c) => c.name === 'videos');
    assert.ok(info);
    const opened = await openStore(store.url, {
      collection: 'videos',
      dim: info.dim,
      encoderId: info.encoderId,
    });
    try {
      const times = { image: [] as number[], audio: [] as number[] };
      for await (const record of opened.iterate()) {
        assert.equal(record.uri, video);
        assert.equal(record.meta?.video, true);
        times[record.modality as 'image' | 'audio'].push(Number(record.meta?.t));
      }
      // --frame-every 1 reached the worker: a frame each second (the default would give one every 2 s).
      assert.equal(times.image.length, 6, `frames at ${times.image}`);
      assert.equal(times.audio.length, 3, `sound windows at ${times.audio}`);
    } finally {
      await opened.close();
    }
  });

  it('files queued for a collection that is then dropped are not indexed: the collection stays gone', async () => {
    const queueUrl = `${redis.url}/6`;
    const report = await queueIndex('gone', [join(IMAGES, 'photo.png'), join(IMAGES, 'photo.jpg')], {
      store: store.url,
      queue: queueUrl,
      model: TINY_CLIP,
      jobSize: 1,
    });
    assert.equal(report.jobs, 2);
    assert.equal(await dropCollection('gone', { store: store.url }), true);
    const worker = await startIngestWorker(queueUrl, { store: store.url, threads: 1 });
    try {
      const status = await waitFor(queueUrl, (s) => s.pending.jobs === 0 && s.running.jobs === 0, 120_000);
      assert.deepEqual([status.done.jobs, status.failed.jobs], [0, 2]);
      for (const failure of status.failures) {
        assert.match(
          failure.reason,
          /collection "gone" is not in the store \(dropped after its files were queued\)/,
        );
        assert.equal(failure.attempts, 1, 'not retried: it cannot succeed later');
      }
    } finally {
      await worker.close();
    }
    assert.ok(!(await listCollections(store.url)).some((c) => c.name === 'gone'), 'not made again');
  });

  it('a worker indexes into a collection dropped and made anew with another model, and keeps few collections open', async () => {
    const queueUrl = `${redis.url}/7`;
    const worker = await startIngestWorker(queueUrl, { store: store.url, threads: 1, openCollections: 2 });
    const indexed = async (collection: string, file: string, model: string) => {
      const before = await libraryQueueStatus(queueUrl);
      const report = await queueIndex(collection, join(IMAGES, file), {
        store: store.url,
        queue: queueUrl,
        model,
      });
      const status = await waitFor(
        queueUrl,
        (s) => s.done.jobs + s.failed.jobs > before.done.jobs + before.failed.jobs,
        120_000,
      );
      assert.deepEqual(status.failures, []);
      return report.encoderId;
    };
    try {
      const first = await indexed('remade', 'photo.png', TINY_CLIP);
      assert.equal(await dropCollection('remade', { store: store.url }), true);
      const second = await indexed('remade', 'photo.jpg', TINY_SIGLIP);
      assert.notEqual(first, second);
      const info = (await listCollections(store.url)).find((c) => c.name === 'remade');
      assert.equal(info?.encoderId, second);
      const opened = await openStore(store.url, {
        collection: 'remade',
        dim: info!.dim,
        encoderId: info!.encoderId,
      });
      try {
        assert.deepEqual((await opened.get(join(IMAGES, 'photo.jpg')))?.uri, join(IMAGES, 'photo.jpg'));
        assert.equal(await opened.count(), 1);
      } finally {
        await opened.close();
      }
      for (const name of ['kept-1', 'kept-2', 'kept-3']) await indexed(name, 'photo.webp', TINY_CLIP);
      assert.equal(worker.openCollections, 2, 'the least recently used were closed');
    } finally {
      await worker.close();
    }
  });

  it('--queue with the embedded store is a clear error', async () => {
    const home = join(dir, 'home');
    const result = await runCli(['--home', home, 'index', IMAGES, '--queue', redis.url, '-m', TINY_CLIP]);
    assert.equal(result.code, 2);
    const lines = errorLines(result);
    assert.equal(lines.length, 1);
    assert.match(lines[0], /--queue needs a store every worker can reach .* embedded store/);
  });
});

describe('a queue nobody answers', () => {
  it('queue status, index --queue and the library say so and stop, instead of retrying for ever', {
    timeout: 60_000,
  }, async () => {
    // A port that was just free: nothing listens there.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    const url = `redis://127.0.0.1:${port}`;
    const refused = new RegExp(
      `cannot reach the queue at redis://127\\.0\\.0\\.1:${port}: connect ECONNREFUSED`,
    );
    await expectCliError(['queue', 'status', '--queue', url], 9, refused);
    await expectCliError(
      ['--store', 'postgres://nobody@127.0.0.1:1/db', 'index', IMAGES, '--queue', url, '-m', TINY_CLIP],
      9,
      refused,
    );
    await assert.rejects(libraryQueueStatus(url), { code: 'UPSTREAM_ERROR', message: refused });
  });
});
