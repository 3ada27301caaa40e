import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import type { Modality } from '../../src/encoders/encoder.js';
import { ingest } from '../../src/tasks/ingest.js';
import { collectionQuality, documentKey, documentPairs, measureVectors } from '../../src/tasks/quality.js';
import { projectTo2d, scatterSvg, writePlot } from '../../src/tasks/quality-plot.js';
import { type OpenCollection, openCollection } from '../../src/tasks/workspace.js';
import { AUDIO, IMAGES, TINY_BUNDLE, tempDir } from '../helpers/paths.js';

const close = (actual: number | null, expected: number, what: string) =>
  assert.ok(actual !== null && Math.abs(actual - expected) < 1e-4, `${what}: ${actual} ≠ ${expected}`);

describe('quality metrics on a tiny set, computed by hand', () => {
  // Two documents, each a text and an image: A = (1,0) + (0.8,0.6), B = (−1,0) + (−0.8,0.6).
  const vectors = [
    [1, 0],
    [0.8, 0.6],
    [-1, 0],
    [-0.8, 0.6],
  ].map((v) => Float32Array.from(v));
  const modalities: Modality[] = ['text', 'image', 'text', 'image'];
  // cos: 01 0.8, 02 −1, 03 −0.8, 12 −0.8, 13 −0.28, 23 0.8;  ‖x−y‖² = 2 − 2cos: 0.4, 4, 3.6, 3.6, 2.56, 0.4.
  const measured = measureVectors(vectors, modalities, [
    [0, 1],
    [2, 3],
  ]);

  test('mean pairwise cosine distance, alignment and uniformity', async () => {
    const metrics = await measured;
    close(metrics.meanPairwiseDistance, (0.2 + 2 + 1.8 + 1.8 + 1.28 + 0.2) / 6, 'mean distance');
    close(metrics.alignment, (0.4 + 0.4) / 2, 'alignment');
    const gauss = [0.4, 4, 3.6, 3.6, 2.56, 0.4].map((d2) => Math.exp(-2 * d2));
    close(metrics.uniformity, Math.log(gauss.reduce((a, b) => a + b) / 6), 'uniformity');
    assert.equal(metrics.positivePairs, 2);
  });

  test('k-means finds the two documents; silhouette matches the formula', async () => {
    const metrics = await measured;
    assert.equal(metrics.clusters.k, 2);
    assert.deepEqual(metrics.clusters.sizes, [2, 2]);
    // Euclidean: within a document √0.4; point 0 to the other cluster 2 and √3.6, point 1: √3.6 and 1.6.
    const s0 = 1 - Math.sqrt(0.4) / ((2 + Math.sqrt(3.6)) / 2);
    const s1 = 1 - Math.sqrt(0.4) / ((Math.sqrt(3.6) + 1.6) / 2);
    close(metrics.clusters.silhouette, (s0 + s1) / 2, 'silhouette');
  });

  test('modality gap: the distance between the text and image centroids', async () => {
    const metrics = await measured;
    // text centroid (0, 0), image centroid (0, 0.6).
    assert.deepEqual(metrics.modalityGap[0].modalities, ['text', 'image']);
    close(metrics.modalityGap[0].distance, 0.6, 'gap');
  });

  test('documents are files sharing a path without extension; pairs cross modalities', () => {
    assert.equal(documentKey({ id: '/d/dog.txt#0', uri: '/d/dog.txt' }), '/d/dog');
    assert.equal(documentKey({ id: '/d/dog.png' }), '/d/dog');
    const records = [
      { id: '/d/dog.png', uri: '/d/dog.png', modality: 'image' as const },
      { id: '/d/dog.txt#0', uri: '/d/dog.txt', modality: 'text' as const },
      { id: '/d/dog.txt#1', uri: '/d/dog.txt', modality: 'text' as const },
      { id: '/d/cat.png', uri: '/d/cat.png', modality: 'image' as const },
    ];
    assert.deepEqual(documentPairs(records), [
      [0, 1],
      [0, 2],
    ]);
  });

  test('too few items or a bad k are refused', async () => {
    await assert.rejects(measureVectors(vectors.slice(0, 2), modalities, []), /at least 3 items/);
    await assert.rejects(
      measureVectors(vectors, modalities, [], { k: 4 }),
      /k must be an integer from 2 to 3/,
    );
  });
});

describe('quality of a real collection (fixture model)', () => {
  const home = tempDir();
  const data = tempDir('xmodal-quality-');
  let collection: OpenCollection;
  before(async () => {
    copyFileSync(join(IMAGES, 'photo.png'), join(data, 'photo.png'));
    writeFileSync(join(data, 'photo.txt'), 'A photo of a red and blue test pattern.\n');
    copyFileSync(join(IMAGES, 'photo.jpg'), join(data, 'other.jpg'));
    copyFileSync(join(AUDIO, 'sine.ogg'), join(data, 'tone.ogg'));
    writeFileSync(join(data, 'tone.txt'), 'A pure sine tone at one kilohertz.\n');
    collection = await openCollection({ home }, 'q', { model: TINY_BUNDLE, create: true });
    await ingest(collection, { paths: [data] });
  });
  after(async () => {
    await collection.close();
    rmSync(home, { recursive: true, force: true });
    rmSync(data, { recursive: true, force: true });
  });

  test('counts per modality, document pairs, and every metric', async () => {
    const report = await collectionQuality(collection);
    assert.deepEqual(report.counts, { text: 2, image: 2, audio: 1 });
    assert.equal(report.n, 5);
    assert.equal(report.positivePairs, 2);
    assert.equal(report.modalityGap.length, 3);
    assert.ok(report.meanPairwiseDistance > 0 && report.meanPairwiseDistance <= 2);
    assert.ok(report.uniformity <= 0);
  });

  test('the projection plot shows one titled point per item, as SVG or PNG', async () => {
    const { records, vectors } = await collectionQuality(collection);
    const points = projectTo2d(vectors);
    assert.equal(points.length, 5);
    const svg = scatterSvg(points, records, 'q');
    assert.equal(svg.match(/<circle [^>]*><title>/g)?.length, 5);
    assert.match(svg, /<title>tone\.ogg<\/title>/);
    const png = join(data, 'plot.png');
    await writePlot(png, svg);
    assert.equal((await sharp(readFileSync(png)).metadata()).format, 'png');
    await assert.rejects(writePlot(join(data, 'plot.gif'), svg), /must end in \.svg or \.png/);
  });
});
