import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BundleEncoder, measureSpace } from '../../src/encoders/bundle.js';
import { loadEncoder } from '../../src/encoders/load.js';
import { listCollections } from '../../src/store/open.js';
import type { EvalReport } from '../../src/tasks/eval.js';
import { ingest } from '../../src/tasks/ingest.js';
import { searchCollection } from '../../src/tasks/search.js';
import { type OpenCollection, openCollection, storeLocation } from '../../src/tasks/workspace.js';
import { runCli } from '../helpers/cli.js';
import { MINI, MINI_MISSING } from '../helpers/mini.js';
import { openMojiNames, openMojiText } from '../helpers/openmoji.js';
import { FIXTURES, tempDir } from '../helpers/paths.js';
import { separateMini } from '../helpers/separate-mini.js';

const MANIFEST = join(FIXTURES, 'heldout', 'manifest.jsonl');
const manifestItems = readFileSync(MANIFEST, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((line) => JSON.parse(line) as { id: string; modality: string; path?: string; text?: string });

/** Texts to bind on: OpenMoji's names (a dependency), minus every text of the dev manifest. */
function corpusFile(dir: string): string {
  const dev = new Set(manifestItems.flatMap((i) => (i.text ? [i.text.toLowerCase()] : [])));
  const texts = [...new Set(openMojiNames().map(openMojiText))].filter((t) => !dev.has(t.toLowerCase()));
  const file = join(dir, 'corpus.txt');
  writeFileSync(file, `${texts.join('\n')}\n`);
  return file;
}

const direction = (report: EvalReport, query: string, target: string) =>
  report.retrieval.find((r) => r.query === query && r.target === target);

async function evalJson(model: string): Promise<EvalReport> {
  const result = await runCli(['eval', '--model', model, '--manifest', MANIFEST, '--json']);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout);
}

/** `xmodal bind` on the bundle's CLAP part towards its CLIP part, over the test corpus, 3 epochs at most. */
function bindCli(model: string, dir: string, out: string, ...extra: string[]) {
  return runCli([
    'bind',
    '--model',
    model,
    '--from',
    'clap',
    '--to',
    'clip',
    '--texts',
    corpusFile(dir),
    '--out',
    out,
    '--epochs',
    '3',
    ...extra,
  ]);
}

/** xmodal-mini with its CLAP part moved out of the shared space: the case of a real CLIP beside a real CLAP. */
describe('separate, bridged and shared bundles (xmodal-mini behind a rotation)', {
  skip: MINI_MISSING,
}, () => {
  const dir = tempDir('xmodal-bind-');
  const rotated = separateMini(dir, 'rotation');
  let original: EvalReport;

  before(async () => {
    original = await evalJson(MINI);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('an undeclared bundle is measured at load: the rotated one is separate, xmodal-mini shared', async () => {
    const bundle = await loadEncoder(rotated);
    const mini = await loadEncoder(MINI);
    try {
      assert.ok(bundle instanceof BundleEncoder && mini instanceof BundleEncoder);
      assert.equal(bundle.space, 'separate');
      assert.deepEqual(
        bundle.spaces?.map((s) => [s.name, s.encoder.modalities]),
        [
          ['clip', ['text', 'image']],
          ['clap', ['text', 'audio']],
        ],
      );
      // The rotated bundle's text towers disagree; xmodal-mini's (declared shared) agree, as they are one tower.
      const measured = await measureSpace(bundle.spaces!.map((s) => s.encoder));
      assert.equal(measured.space, 'separate');
      assert.ok(measured.minCosine < 0.5, String(measured.minCosine));
      assert.equal(mini.space, 'shared');
      assert.equal(mini.spaces, undefined);
      // Its own embed calls would hand out vectors of two spaces: refused, with the way out in the message.
      await assert.rejects(bundle.embedText(['a dog']), { code: 'SEPARATE_SPACES', message: /xmodal bind/ });
      await assert.rejects(bundle.embedAudio([join(FIXTURES, 'audio', 'sine.flac')]), {
        code: 'SEPARATE_SPACES',
      });
    } finally {
      await bundle.dispose();
      await mini.dispose();
    }
  });

  describe('a collection on the separate bundle', () => {
    const home = tempDir('xmodal-bind-home-');
    const data = join(dir, 'media');
    let separate: OpenCollection;
    let shared: OpenCollection;

    before(async () => {
      mkdirSync(data);
      const media = manifestItems.filter((i) => i.path).filter((_, n) => n % 6 === 0);
      for (const item of media)
        copyFileSync(join(FIXTURES, 'heldout', item.path!), join(data, basename(item.path!)));
      writeFileSync(join(data, 'note.txt'), 'a trumpet and a violin');
      separate = await openCollection({ home }, 'separate', { model: rotated, create: true });
      shared = await openCollection({ home }, 'shared', { model: MINI, create: true });
      for (const collection of [separate, shared]) {
        const report = await ingest(collection, { paths: [data] });
        assert.equal(report.failed.length, 0, JSON.stringify(report.failed));
      }
    });
    after(async () => {
      await separate?.close();
      await shared?.close();
      rmSync(home, { recursive: true, force: true });
    });

    test('holds one sub-collection per space and counts each item once', async () => {
      const names = (await listCollections(storeLocation({ home }))).map((c) => c.name).sort();
      assert.deepEqual(names, ['separate', 'separate__clap', 'shared']);
      assert.equal(await separate.store.count(), await shared.store.count());
      for (const modality of ['text', 'image', 'audio'] as const)
        assert.equal(
          await separate.store.count({ modality }),
          await shared.store.count({ modality }),
          modality,
        );
      const ids = async (c: OpenCollection) => {
        const all: string[] = [];
        for await (const record of c.store.iterate()) all.push(record.id);
        return all;
      };
      assert.deepEqual(await ids(separate), await ids(shared));
    });

    test('text → audio through the spaces ranks as the original xmodal-mini, with the same cosines', async () => {
      for (const query of ['a violin', 'a dog', 'piano music']) {
        const ask = (c: OpenCollection) =>
          searchCollection(c, {
            parts: [{ kind: 'text', value: query }],
            k: 20,
            filter: { modality: 'audio' },
          });
        const [mine, theirs] = [await ask(separate), await ask(shared)];
        assert.ok(mine.length > 3);
        assert.deepEqual(
          mine.map((h) => h.id),
          theirs.map((h) => h.id),
          query,
        );
        mine.forEach((hit, i) => {
          assert.equal(hit.space, 'clap');
          assert.ok(Math.abs(hit.score - theirs[i].score) < 1e-4, `${hit.score} vs ${theirs[i].score}`);
        });
      }
    });

    test('an unfiltered text query fuses both spaces, each score labelled with its space', async () => {
      const hits = await searchCollection(separate, { parts: [{ kind: 'text', value: 'a violin' }], k: 50 });
      const spaces = new Set(hits.map((h) => `${h.space}:${h.modality}`));
      assert.ok(spaces.has('clip:image') && spaces.has('clap:audio'), [...spaces].join(' '));
      assert.ok(!spaces.has('clip:audio') && !spaces.has('clap:image'));
      assert.equal(new Set(hits.map((h) => h.id)).size, hits.length);
    });

    test('image → audio and image + audio queries are refused: no cross-space similarity', async () => {
      const image = manifestItems.find((i) => i.modality === 'image')!;
      const audio = manifestItems.find((i) => i.modality === 'audio')!;
      const imagePart = { kind: 'image' as const, value: join(FIXTURES, 'heldout', image.path!) };
      await assert.rejects(
        searchCollection(separate, { parts: [imagePart], filter: { modality: 'audio' } }),
        { code: 'SEPARATE_SPACES', message: /xmodal bind/ },
      );
      await assert.rejects(
        searchCollection(separate, {
          parts: [imagePart, { kind: 'audio', value: join(FIXTURES, 'heldout', audio.path!) }],
        }),
        { code: 'SEPARATE_SPACES' },
      );
      // An image query without a filter stays in its own space.
      const hits = await searchCollection(separate, { parts: [imagePart], k: 50 });
      assert.ok(hits.length > 0 && hits.every((h) => h.space === 'clip' && h.modality !== 'audio'));
      // The CLI says so in one line and exits non-zero.
      const cli = await runCli(
        ['search', '--collection', 'separate', '--image', imagePart.value, '--modality', 'audio'],
        { XMODAL_HOME: home },
      );
      assert.equal(cli.code, 5, cli.stderr);
      assert.match(cli.stderr, /^xmodal: collection "separate" holds separate vector spaces/);
    });
  });

  test('xmodal eval on the separate bundle measures each space and no direction across them', async () => {
    const report = await evalJson(rotated);
    assert.deepEqual(report.spaces, { clip: ['text', 'image'], clap: ['text', 'audio'] });
    assert.equal(direction(report, 'image', 'audio'), undefined);
    assert.equal(direction(report, 'audio', 'image'), undefined);
    for (const [q, t] of [
      ['text', 'image'],
      ['text', 'audio'],
      ['audio', 'text'],
    ])
      assert.deepEqual(direction(report, q, t), direction(original, q, t), `${q} → ${t}`);
  });

  test('xmodal bind on text alone joins the spaces again: held-out words and audio → image come back', async (t) => {
    const out = join(dir, 'bridged');
    const result = await bindCli(rotated, dir, out, '--json');
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout);
    t.diagnostic(JSON.stringify(report.heldout));
    assert.ok(report.texts.heldout >= 100, JSON.stringify(report.texts));
    assert.ok(report.heldout.unmapped['recall@1'] < 0.1, 'the spaces really were apart');
    assert.ok(report.heldout.map['recall@1'] >= 0.9, JSON.stringify(report.heldout));
    assert.ok(report.heldout.procrustes['recall@1'] >= 0.9, JSON.stringify(report.heldout));

    const manifest = JSON.parse(readFileSync(join(out, 'xmodal.json'), 'utf8'));
    assert.equal(manifest.space, 'bridged');
    assert.equal(manifest.bridge.heldout.map['recall@1'], report.heldout.map['recall@1']);

    const bridged = await evalJson(out);
    assert.equal(bridged.spaces, undefined);
    const before = direction(original, 'audio', 'image')!;
    const now = direction(bridged, 'audio', 'image')!;
    assert.ok(now, 'audio → image is measured again');
    assert.ok(
      Math.abs(now['recall@10'] - before['recall@10']) <= 0.05 + 1e-9,
      `audio → image R@10 ${now['recall@10']} vs ${before['recall@10']}`,
    );
    assert.ok(direction(bridged, 'image', 'audio'));
  });
});

describe('xmodal bind on a harder separation (non-orthogonal map plus a nonlinear term)', {
  skip: MINI_MISSING,
}, () => {
  const dir = tempDir('xmodal-bind-hard-');
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a linear map from least squares brings held-out words and audio → image back; Procrustes beside it', async () => {
    const distorted = separateMini(dir, 'distorted');
    const bundle = await loadEncoder(distorted);
    try {
      assert.equal((bundle as BundleEncoder).space, 'separate');
    } finally {
      await bundle.dispose();
    }
    const out = join(dir, 'bridged');
    const result = await bindCli(distorted, dir, out, '--map', 'linear');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /held-out text → text \(clap mapped → clip\)/);
    const recall1 = (line: string) =>
      Number(new RegExp(`${line}\\s+R@1 ([\\d.]+)%`).exec(result.stdout)?.[1]);
    assert.ok(recall1('no map') < 10, result.stdout);
    assert.ok(recall1('procrustes') >= 0, result.stdout);
    assert.ok(recall1('linear') >= 90, result.stdout);
    const [original, bridged] = [await evalJson(MINI), await evalJson(out)];
    const before = direction(original, 'audio', 'image')!['recall@10'];
    const now = direction(bridged, 'audio', 'image')!['recall@10'];
    assert.ok(Math.abs(now - before) <= 0.05 + 1e-9, `audio → image R@10 ${now} vs ${before}`);
  });
});
