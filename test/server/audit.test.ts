import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { l2normalize } from '../../src/encoders/vectors.js';
import type { Item } from '../../src/store/store.js';
import { openCollection } from '../../src/tasks/workspace.js';
import { TINY_CLIP } from '../helpers/paths.js';
import { type RunningServer, startServer } from './harness.js';

const DIM = 32;

function item(id: string, score: number, axis: number, meta: Record<string, string>): Item {
  const vector = new Float32Array(DIM);
  vector[0] = score;
  vector[axis] = Math.sqrt(1 - score * score);
  return { id, vector: l2normalize(vector), modality: 'image', meta };
}

describe('fairness over HTTP: /search "fair", /collections/:name/audit, /metrics', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer();
    // A collection made before the server opens it: ten items of each group at (almost) equal relevance.
    const collection = await openCollection({ home: server.home }, 'people', {
      model: TINY_CLIP,
      create: true,
    });
    await collection.store.upsert([
      item('query', 1, 1, {}),
      ...Array.from({ length: 10 }, (_, i) => item(`w${i}`, 0.9, 2 + i, { 'group.gender': 'woman' })),
      ...Array.from({ length: 10 }, (_, i) => item(`m${i}`, 0.899, 12 + i, { 'group.gender': 'man' })),
    ]);
    await collection.close();
  });
  after(() => server.close());

  test('"fair" re-ranks the hits and reports the split and its relevance cost', async () => {
    const plain = await server.call('POST', '/search', { collection: 'people', like: 'query', k: 10 });
    assert.equal(plain.status, 200);
    assert.ok(plain.body.hits.every((h: { id: string }) => h.id.startsWith('w')));
    assert.equal(plain.body.fair, undefined);
    const fair = await server.call('POST', '/search', {
      collection: 'people',
      like: 'query',
      k: 10,
      fair: 'gender',
    });
    assert.equal(fair.status, 200, JSON.stringify(fair.body));
    assert.deepEqual(fair.body.fair.before, { man: 0, woman: 10 });
    assert.deepEqual(fair.body.fair.after, { man: 5, woman: 5 });
    assert.equal(fair.body.hits.filter((h: { id: string }) => h.id.startsWith('m')).length, 5);
    assert.ok(fair.body.fair.relevance.after < fair.body.fair.relevance.before);
    const refused = await server.call('POST', '/search', {
      collection: 'people',
      like: 'query',
      fair: 'height',
    });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error.code, 'BAD_ARGUMENT');
  });

  test('the audit is computed once, cached with its time, exported to /metrics, and refreshed on demand', async () => {
    const first = await server.call('GET', '/collections/people/audit');
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.cached, false);
    assert.ok(!Number.isNaN(Date.parse(first.body.computed_at)));
    const byName = Object.fromEntries(first.body.attributes.map((a: { name: string }) => [a.name, a]));
    assert.deepEqual(Object.keys(byName).sort(), ['gender', 'skin_tone']);
    // Gender exposure is measured on the collection's labelled items; skin tone has none there.
    assert.equal(byName.gender.exposure.pool, 'collection');
    assert.equal(byName.skin_tone.exposure.pool, 'probes');
    assert.equal(byName.skin_tone.association.length, 12);

    const second = await server.call('GET', '/collections/people/audit');
    assert.equal(second.body.cached, true);
    assert.equal(second.body.computed_at, first.body.computed_at);

    const metrics = await server.call('GET', '/metrics');
    for (const attribute of ['skin_tone', 'gender']) {
      const skew = new RegExp(
        `xmodal_audit_max_skew\\{collection="people",attribute="${attribute}"\\} (\\S+)`,
      );
      const gap = new RegExp(
        `xmodal_audit_zero_shot_gap\\{collection="people",attribute="${attribute}"\\} (\\S+)`,
      );
      assert.equal(Number(skew.exec(metrics.body)?.[1]), byName[attribute].exposure.max_skew);
      assert.equal(Number(gap.exec(metrics.body)?.[1]), byName[attribute].zero_shot.max_gap);
    }

    const refreshed = await server.call('GET', '/collections/people/audit?refresh=true');
    assert.equal(refreshed.body.cached, false, JSON.stringify(refreshed.body));
    const missing = await server.call('GET', '/collections/nothing/audit');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'NOT_FOUND');
  });
});
