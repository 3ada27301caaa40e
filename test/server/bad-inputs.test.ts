import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ERRORS, type ErrorCode } from '../../src/errors.js';
import { type BadInput, makeBadInputs } from '../helpers/bad-inputs.js';
import { spawnBuiltCli, startCli } from '../helpers/cli.js';
import { AUDIO, IMAGES, ROOT, TINY_BUNDLE, tempDir } from '../helpers/paths.js';
import type { ChildServer } from '../servers/child-server.js';
import type { Json } from './harness.js';

const MB = 1024 * 1024;
/** The growth any input of at most 1 MB may cause, over the same command on a good input. */
const GROWTH_LIMIT = 200 * MB;
/**
 * The hang guard: each input's request, or each input's whole CLI run (Node start and model load included; the
 * CLI runs compiled, as it ships).
 */
const PER_INPUT_MS = 10_000;
/** The hang guard of one run over the whole corpus folder (every input in one CLI run or one request). */
const WHOLE_CORPUS_MS = 60_000;
/** Loading the model and starting the audio workers, before any input is timed. */
const WARM_UP_MS = 120_000;
const PEAK_RSS = join(ROOT, 'test', 'helpers', 'peak-rss.mjs');

function allowed(input: BadInput, code: string): boolean {
  return input.expect.includes(code as ErrorCode);
}

function finiteVector(values: unknown): boolean {
  return (
    Array.isArray(values) &&
    values.length > 0 &&
    values.every((x) => typeof x === 'number' && Number.isFinite(x))
  );
}

/** The slowest CLI run and server request of one input so far, for the log (the guards do the checking). */
const slowest = { cli: { what: '', ms: 0 }, server: { what: '', ms: 0 } };
function timed(kind: 'cli' | 'server', what: string, started: number): void {
  const ms = performance.now() - started;
  if (ms > slowest[kind].ms) slowest[kind] = { what, ms };
}

/** Runs one CLI command, returning its exit code, output and peak RSS. */
async function cli(args: string[], home: string, timeoutMs = PER_INPUT_MS) {
  const rssFile = join(home, `rss-${Math.random().toString(36).slice(2)}`);
  const started = performance.now();
  const result = await spawnBuiltCli(
    [...args, '--model', TINY_BUNDLE],
    { XMODAL_HOME: home, XMODAL_PEAK_RSS_FILE: rssFile, NODE_OPTIONS: `--import=${PEAK_RSS}` },
    timeoutMs,
  );
  if (timeoutMs === PER_INPUT_MS) timed('cli', args.join(' '), started);
  const peak = Number(readFileSync(rssFile, 'utf8'));
  return { ...result, peak };
}

function isRegularFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Peak resident memory of a running process (VmHWM), in bytes. */
function peakOf(child: ChildProcess): number {
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

describe('the bad-input corpus through the CLI and the server', () => {
  const folder = tempDir('xmodal-bad-');
  const home = tempDir('xmodal-bad-home-');
  const inputs = makeBadInputs(join(folder, 'corpus'));
  let server: ChildServer;
  let base: string;

  before(async () => {
    server = await startCli(
      [
        '--home',
        home,
        'serve',
        '--port',
        '0',
        '--model',
        TINY_BUNDLE,
        '--index-root',
        join(folder, 'corpus'),
      ],
      /serving .* on (http:\/\/127\.0\.0\.1:\d+)/,
    );
    base = server.ready[1];
  });
  after(async () => {
    await server.stop();
    rmSync(folder, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  });

  test('every file of the corpus is at most 1 MB', () => {
    for (const input of inputs)
      if (isRegularFile(input.path)) assert.ok(statSync(input.path).size <= MB, input.name);
  });

  test('CLI: a documented exit code and one-line reason, or a correct result; bounded memory', async () => {
    const goodVideo = inputs.find((i) => i.as === 'video' && i.expect.includes('ok'));
    const baseline = {
      image: (await cli(['embed', '--image', join(IMAGES, 'photo.png'), '--json'], home)).peak,
      audio: (await cli(['embed', '--audio', join(AUDIO, 'sine-s16.wav'), '--json'], home)).peak,
      video: goodVideo
        ? (await cli(['index', goodVideo.path, '--collection', 'baseline', '--json'], home)).peak
        : 0,
    };
    const growth: Record<string, number> = {};
    for (const input of inputs) {
      if (input.as === 'listing') continue;
      const args =
        input.as === 'path' || input.as === 'video'
          ? ['index', input.path, '--json']
          : ['embed', `--${input.as}`, input.path, '--json'];
      const result = await cli(args, home);
      const what = `${input.name}: exit ${result.code}, ${result.stderr.trim()} ${result.stdout.slice(0, 300)}`;
      assert.notEqual(result.code, null, `${input.name} did not finish in time`);
      if (input.as === 'video' && result.code !== 0) {
        // A file index could not take: exit 3, and the report names the file's code.
        assert.equal(result.code, 3, what);
        const failed = JSON.parse(result.stdout).failed;
        assert.equal(failed.length, 1, what);
        assert.ok(allowed(input, failed[0].code), what);
      } else if (result.code === 0) {
        assert.ok(allowed(input, 'ok'), what);
        const out = JSON.parse(result.stdout);
        if (input.as === 'path' || input.as === 'video') assert.ok(out.indexed >= 1, what);
        else assert.ok(finiteVector(out.embeddings[0].embedding), what);
      } else {
        const codes = input.expect.filter((c): c is ErrorCode => c !== 'ok');
        assert.ok(
          codes.some((c) => ERRORS[c].exit === result.code),
          what,
        );
        const lines = result.stderr
          .split('\n')
          .filter((l) => l.trim() && !l.includes('Unknown project config'));
        assert.equal(lines.length, 1, what);
      }
      if (input.as !== 'path') {
        growth[input.name] = result.peak - baseline[input.as];
        assert.ok(
          growth[input.name] < GROWTH_LIMIT,
          `${input.name}: +${(growth[input.name] / MB).toFixed(0)} MB`,
        );
      }
    }
    const worst = Object.entries(growth).sort((a, b) => b[1] - a[1])[0];
    console.log(
      `CLI peak RSS: baseline image ${(baseline.image / MB).toFixed(0)} MB, audio ${(baseline.audio / MB).toFixed(0)} MB; worst growth ${worst[0]} +${(worst[1] / MB).toFixed(0)} MB; slowest run ${(slowest.cli.ms / 1000).toFixed(1)} s (${slowest.cli.what})`,
    );
  });

  /** Good files under odd names (dashes, newlines, glob and shell characters, 255 bytes): indexed as named. */
  const oddNames = inputs.filter((i) => i.as === 'image' && i.expect.length === 1 && i.expect[0] === 'ok');

  /** A report of indexing the whole corpus folder: every bad file named with its reason, no good one. */
  function checkFolderReport(report: { failed: { path: string; reason: string }[] }): void {
    const failed = new Map(report.failed.map((f) => [f.path, f.reason]));
    for (const input of inputs) {
      // A folder inside the corpus is walked, not reported.
      if (input.path.startsWith('/dev/') || input.as === 'path' || isFolder(input.path)) continue;
      if (input.indexable || oddNames.includes(input))
        assert.ok(!failed.has(input.path), `${JSON.stringify(input.name)} is indexed`);
      else if (!input.expect.includes('ok'))
        assert.ok(failed.has(input.path), `${JSON.stringify(input.name)} is reported`);
    }
    for (const input of inputs.filter((i) => i.as === 'listing'))
      assert.equal(failed.get(input.path), 'file name is not valid UTF-8', input.name);
    assert.ok(oddNames.length >= 8, `${oddNames.length} odd names`);
  }

  test('CLI: indexing the whole corpus folder skips and reports the bad files', async () => {
    const result = await cli(['index', join(folder, 'corpus'), '--json'], home, WHOLE_CORPUS_MS);
    assert.equal(result.code, 3, result.stderr);
    checkFolderReport(JSON.parse(result.stdout));
  });

  const call = async (
    path: string,
    init: RequestInit,
    timeoutMs = PER_INPUT_MS,
  ): Promise<{ status: number; body: Json }> => {
    const started = performance.now();
    const response = await fetch(base + path, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    const body = await response.json();
    if (timeoutMs === PER_INPUT_MS) timed('server', path, started);
    return { status: response.status, body };
  };
  const upload = (input: BadInput, field = 'file') => {
    const form = new FormData();
    form.append(field, new Blob([readFileSync(input.path)]), input.name);
    return form;
  };

  test('server: a documented error or a correct result, never a 500 or a hang; bounded memory', async () => {
    await call(
      '/embed/image',
      {
        method: 'POST',
        body: upload({ name: 'p.png', path: join(IMAGES, 'photo.png') } as BadInput),
      },
      WARM_UP_MS,
    );
    // Warm up every audio worker (one per core, at most 4) before the baseline.
    const clips = new FormData();
    for (let i = 0; i < 4; i++)
      clips.append('file', new Blob([readFileSync(join(AUDIO, 'sine-s16.wav'))]), `s${i}.wav`);
    await call('/embed/audio', { method: 'POST', body: clips }, WARM_UP_MS);
    await call(
      '/collections/bad/index',
      {
        method: 'POST',
        body: upload({ name: 'p.png', path: join(IMAGES, 'photo.png') } as BadInput),
      },
      WARM_UP_MS,
    );
    const baseline = peakOf(server.child);
    for (const input of inputs) {
      if (input.as === 'listing') continue;
      if ((input.as === 'image' || input.as === 'audio') && isRegularFile(input.path)) {
        const embedded = await call(`/embed/${input.as}`, { method: 'POST', body: upload(input) });
        const what = `${input.name}: /embed/${input.as} ${embedded.status} ${JSON.stringify(embedded.body).slice(0, 200)}`;
        if (embedded.status === 200) {
          assert.ok(allowed(input, 'ok'), what);
          assert.ok(finiteVector(embedded.body.embeddings[0]), what);
        } else {
          assert.ok(allowed(input, embedded.body.error?.code), what);
          assert.equal(embedded.status, ERRORS[embedded.body.error.code as ErrorCode].http, what);
        }
        const indexed = await call('/collections/bad/index', { method: 'POST', body: upload(input) });
        assert.equal(indexed.status, 200, `${input.name}: upload index ${JSON.stringify(indexed.body)}`);
      }
      if (input.as === 'video') {
        const indexed = await call('/collections/bad/index', { method: 'POST', body: upload(input) });
        const what = `${input.name}: upload index ${JSON.stringify(indexed.body).slice(0, 300)}`;
        assert.equal(indexed.status, 200, what);
        for (const f of indexed.body.failed) assert.ok(allowed(input, f.code), what);
        if (!input.expect.includes('ok')) assert.equal(indexed.body.failed.length, 1, what);
      }
      // A folder given by path is walked (here: nothing in it), a device is outside the root.
      if (!input.path.startsWith('/dev/') && !isFolder(input.path)) {
        const byPath = await call('/collections/bad/index', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ paths: [input.path] }),
        });
        const what = `${input.name}: index by path ${byPath.status} ${JSON.stringify(byPath.body).slice(0, 300)}`;
        assert.equal(byPath.status, 200, what);
        assert.equal(
          byPath.body.indexed + byPath.body.unchanged + byPath.body.failed.length >= 1,
          true,
          what,
        );
        if (input.indexable) assert.equal(byPath.body.failed.length, 0, what);
        else if (!input.expect.includes('ok')) assert.equal(byPath.body.failed.length, 1, what);
        if (input.as === 'video') for (const f of byPath.body.failed) assert.ok(allowed(input, f.code), what);
      }
      const growth = peakOf(server.child) - baseline;
      assert.ok(growth < GROWTH_LIMIT, `${input.name}: server +${(growth / MB).toFixed(0)} MB`);
    }
    console.log(
      `server peak RSS: ${(baseline / MB).toFixed(0)} MB after warm-up, ${(peakOf(server.child) / MB).toFixed(0)} MB after the corpus; slowest request ${(slowest.server.ms / 1000).toFixed(1)} s (${slowest.server.what})`,
    );
  });

  test('server: indexing the whole corpus folder by path skips and reports the bad files; odd names kept', async () => {
    const report = await call(
      '/collections/folder/index',
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ paths: [join(folder, 'corpus')] }),
      },
      WHOLE_CORPUS_MS,
    );
    assert.equal(report.status, 200, JSON.stringify(report.body).slice(0, 300));
    checkFolderReport(report.body);
    for (const input of oddNames) {
      const id = encodeURIComponent(input.path);
      const item = await call(`/items/${id}?collection=folder`, {});
      assert.equal(item.status, 200, `${JSON.stringify(input.name)}: ${JSON.stringify(item.body)}`);
      assert.equal(item.body.uri, input.path);
      const content = await fetch(`${base}/items/${id}/content?collection=folder`);
      assert.deepEqual(Buffer.from(await content.arrayBuffer()), readFileSync(input.path), input.name);
    }
  });
});
