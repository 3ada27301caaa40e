// The rules the CLI and the server share live once, below both: these pin them where they live.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { COLLECTION_NAME_PATTERN, checkCollectionName } from '../../src/store/validate.js';
import { chatEndpointFrom } from '../../src/tasks/chat.js';
import { checkK, hitJson, MAX_K } from '../../src/tasks/search.js';
import { homeDir, storeLocation, uploadsRoot } from '../../src/tasks/workspace.js';

describe('rules shared by the CLI and the server', () => {
  test('k: a positive integer up to MAX_K, named as the caller spells it', () => {
    assert.equal(checkK(1), 1);
    assert.equal(checkK(MAX_K), MAX_K);
    for (const bad of [0, -1, 2.5, MAX_K + 1, Number.NaN, '3'])
      assert.throws(() => checkK(bad, '-k'), {
        code: 'BAD_ARGUMENT',
        message: /^-k must be a positive integer/,
      });
  });

  test('collection names: one rule (1-48 characters) for the store and the server schema', () => {
    const pattern = new RegExp(COLLECTION_NAME_PATTERN);
    for (const name of ['a', 'A-b_9', 'x'.repeat(48)]) {
      assert.equal(checkCollectionName(name), name);
      assert.ok(pattern.test(name));
    }
    for (const name of ['', '-a', 'a/b', '../x', 'x'.repeat(49)]) {
      assert.throws(() => checkCollectionName(name), { code: 'BAD_ARGUMENT' });
      assert.ok(!pattern.test(name));
    }
  });

  test('home: --home, else XMODAL_HOME; collections and uploads beside each other in it', () => {
    assert.equal(homeDir({ home: '/tmp/h' }), '/tmp/h');
    assert.equal(storeLocation({ home: '/tmp/h' }), join('/tmp/h', 'collections'));
    assert.equal(uploadsRoot({ home: '/tmp/h' }), join('/tmp/h', 'uploads'));
    assert.equal(storeLocation({ home: '/tmp/h', store: 'postgres://x/y' }), 'postgres://x/y');
  });

  test('LLM settings: given values over the environment; none without both a URL and a model', () => {
    const env = { XMODAL_LLM_URL: 'http://127.0.0.1:9/v1', XMODAL_LLM_MODEL: 'm', XMODAL_LLM_API_KEY: 'k' };
    assert.deepEqual(chatEndpointFrom({}, env), { url: env.XMODAL_LLM_URL, model: 'm', apiKey: 'k' });
    assert.deepEqual(chatEndpointFrom({ model: 'other', api: 'ollama' }, env), {
      url: env.XMODAL_LLM_URL,
      model: 'other',
      api: 'ollama',
      apiKey: 'k',
    });
    assert.equal(chatEndpointFrom({}, { XMODAL_LLM_URL: 'http://127.0.0.1:9' }), undefined);
  });

  test('a hit as JSON: the item without its vector, and the score', () => {
    const hit = { id: 'a', modality: 'image' as const, uri: '/x.png', mime: 'image/png', score: 0.5 };
    assert.deepEqual(JSON.parse(JSON.stringify(hitJson(hit))), hit);
    assert.deepEqual(
      Object.keys(JSON.parse(JSON.stringify(hitJson({ id: 'b', modality: 'text', score: 1 })))),
      ['id', 'modality', 'score'],
    );
  });
});
