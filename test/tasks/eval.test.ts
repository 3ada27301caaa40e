import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { type EmbeddedItem, evaluateEmbeddings, readManifest } from '../../src/tasks/eval.js';
import { runCli } from '../helpers/cli.js';
import { AUDIO, IMAGES, TINY_BUNDLE, tempDir } from '../helpers/paths.js';

const at = (degrees: number) =>
  Float32Array.of(Math.cos((degrees * Math.PI) / 180), Math.sin((degrees * Math.PI) / 180));
const item = (
  id: string,
  modality: EmbeddedItem['modality'],
  label: string,
  degrees: number,
): EmbeddedItem => ({
  id,
  modality,
  label,
  vector: at(degrees),
});

describe('xmodal eval', () => {
  // Texts: A at 0°, B at 90°. Images: a1 at 10° (clearly A), a2 at 80° (an A that looks like B), b1 at 95°.
  const items = [
    item('ta', 'text', 'A', 0),
    item('tb', 'text', 'B', 90),
    item('a1', 'image', 'A', 10),
    item('a2', 'image', 'A', 80),
    item('b1', 'image', 'B', 95),
  ];

  test('recall, median rank, zero-shot accuracy and modality gap match the geometry', () => {
    const report = evaluateEmbeddings(items);
    const textToImage = report.retrieval.find((r) => r.query === 'text' && r.target === 'image')!;
    // A's nearest image is a1 (an A); B's nearest is b1 (a B).
    assert.deepEqual(
      [textToImage.queries, textToImage.candidates, textToImage['recall@1'], textToImage.median_rank],
      [2, 3, 1, 1],
    );
    const imageToText = report.retrieval.find((r) => r.query === 'image' && r.target === 'text')!;
    // a2 finds B first, its own label second.
    assert.equal(imageToText['recall@1'], 2 / 3);
    assert.equal(imageToText['recall@5'], 1);
    assert.equal(imageToText.median_rank, 1);
    assert.deepEqual(report.zero_shot, [{ modality: 'image', items: 3, labels: 2, accuracy: 2 / 3 }]);
    const imageCentroid = [10, 80, 95].map(at).reduce((c, v) => [c[0] + v[0] / 3, c[1] + v[1] / 3], [0, 0]);
    const expectedGap = Math.hypot(imageCentroid[0] - 0.5, imageCentroid[1] - 0.5);
    assert.ok(Math.abs(report.modality_gap['image-text'] - expectedGap) < 1e-6);
  });

  test('a label with several texts is classified by their mean', () => {
    // Two texts for B at 60° and 120° average to 90°; an image at 85° is a B.
    const report = evaluateEmbeddings([
      item('ta', 'text', 'A', 0),
      item('tb1', 'text', 'B', 60),
      item('tb2', 'text', 'B', 120),
      item('img', 'image', 'B', 85),
      item('img2', 'image', 'A', 40),
    ]);
    assert.equal(report.zero_shot[0].accuracy, 1);
  });

  test('bad manifests are refused with the line that is wrong', async () => {
    const dir = tempDir();
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(
      bad,
      '{"id":"a","modality":"text","text":"x","label":"A"}\n{"id":"b","modality":"image","label":"A"}\n',
    );
    await assert.rejects(readManifest(bad), /bad\.jsonl:2: a image item needs "path"/);
    writeFileSync(bad, 'not json\n');
    await assert.rejects(readManifest(bad), { code: 'BAD_INPUT' });
    await assert.rejects(readManifest(join(dir, 'missing.jsonl')), { code: 'FILE_NOT_FOUND' });
  });

  test('the CLI prints the documented JSON shape over every modality pair', async () => {
    const dir = tempDir();
    const manifest = join(dir, 'dev.jsonl');
    const lines = [
      { id: 't1', modality: 'text', text: 'a photo', label: 'photo', lang: 'en' },
      { id: 't2', modality: 'text', text: 'a tone', label: 'tone' },
      { id: 'i1', modality: 'image', path: join(IMAGES, 'photo.png'), label: 'photo' },
      { id: 'i2', modality: 'image', path: join(IMAGES, 'photo.jpg'), label: 'photo' },
      { id: 'a1', modality: 'audio', path: join(AUDIO, 'sine.flac'), label: 'tone' },
    ];
    writeFileSync(manifest, lines.map((l) => JSON.stringify(l)).join('\n'));
    const result = await runCli(['eval', '--model', TINY_BUNDLE, '--manifest', manifest, '--json']);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout);
    assert.deepEqual(Object.keys(report).sort(), [
      'manifest',
      'modality_gap',
      'model',
      'retrieval',
      'zero_shot',
    ]);
    assert.deepEqual(
      report.retrieval.map((r: { query: string; target: string }) => `${r.query}>${r.target}`),
      ['text>image', 'text>audio', 'image>text', 'audio>text'],
    );
    const first = report.retrieval[0];
    assert.deepEqual(Object.keys(first).sort(), [
      'candidates',
      'median_rank',
      'queries',
      'query',
      'recall@1',
      'recall@10',
      'recall@5',
      'target',
    ]);
    assert.equal(first.candidates, 2);
    assert.deepEqual(Object.keys(report.modality_gap).sort(), ['audio-text', 'image-audio', 'image-text']);
    const table = await runCli(['eval', '--model', TINY_BUNDLE, '--manifest', manifest]);
    assert.match(table.stdout, /text → image\s+1\s+2/);
  });
});
