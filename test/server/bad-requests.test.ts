// Wrong types, empty strings and non-finite numbers in the JSON of the task routes: each is a 4xx in the
// error shape, with a code of the table, never a 500 or a result computed from nonsense.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ERRORS, type ErrorCode } from '../../src/errors.js';
import { type RunningServer, startServer } from './harness.js';

const long = 'a'.repeat(100_001);
const category = (name: string, prompts: unknown, threshold?: unknown) => ({ name, prompts, threshold });
const policyWith = (prompts: unknown) => ({
  unsafe: [category('bad', prompts, 0.5)],
  safe: [category('fine', ['a photo of a park'])],
});

/** [what, path, raw JSON body, codes it may answer]. Raw text, because JSON.stringify cannot write NaN or 1e999. */
const cases: [string, string, string, ErrorCode[]][] = [
  // /v1/embeddings
  ['input a number', '/v1/embeddings', '{"input": 5}', ['BAD_ARGUMENT', 'BAD_INPUT']],
  ['input null', '/v1/embeddings', '{"input": null}', ['BAD_ARGUMENT', 'BAD_INPUT']],
  ['input true', '/v1/embeddings', '{"input": true}', ['BAD_ARGUMENT', 'BAD_INPUT']],
  ['input an empty object', '/v1/embeddings', '{"input": {}}', ['BAD_ARGUMENT', 'BAD_INPUT']],
  ['input an empty list', '/v1/embeddings', '{"input": []}', ['BAD_ARGUMENT', 'BAD_INPUT']],
  ['input [null]', '/v1/embeddings', '{"input": [null]}', ['BAD_ARGUMENT', 'BAD_INPUT']],
  ['input a string and a number', '/v1/embeddings', '{"input": ["a", 3]}', ['BAD_ARGUMENT', 'BAD_INPUT']],
  ['input fractional token ids', '/v1/embeddings', '{"input": [1.5, 2]}', ['BAD_ARGUMENT', 'BAD_INPUT']],
  ['input token-id lists', '/v1/embeddings', '{"input": [[1, 2]]}', ['BAD_ARGUMENT', 'BAD_INPUT']],
  ['input ""', '/v1/embeddings', '{"input": ""}', ['BAD_ARGUMENT', 'BAD_INPUT']],
  ['input [""]', '/v1/embeddings', '{"input": ["ok", ""]}', ['BAD_ARGUMENT', 'BAD_INPUT']],
  ['input blank', '/v1/embeddings', '{"input": " \\n\\t "}', ['BAD_ARGUMENT', 'BAD_INPUT']],
  ['input {"text": ""}', '/v1/embeddings', '{"input": [{"text": ""}]}', ['BAD_ARGUMENT', 'BAD_INPUT']],
  ['input {"text": 5}', '/v1/embeddings', '{"input": [{"text": 5}]}', ['BAD_ARGUMENT', 'BAD_INPUT']],
  [
    'input {"image": junk}',
    '/v1/embeddings',
    '{"input": [{"image": "%%%not base64"}]}',
    ['BAD_ARGUMENT', 'BAD_INPUT', 'UNSUPPORTED_FORMAT'],
  ],
  ['input over 100,000 characters', '/v1/embeddings', `{"input": "${long}"}`, ['INPUT_TOO_LARGE']],
  ['input NaN (not JSON)', '/v1/embeddings', '{"input": NaN}', ['BAD_ARGUMENT', 'BAD_INPUT']],
  [
    'dimensions NaN (not JSON)',
    '/v1/embeddings',
    '{"input": "a", "dimensions": NaN}',
    ['BAD_ARGUMENT', 'BAD_INPUT'],
  ],
  [
    'dimensions "NaN"',
    '/v1/embeddings',
    '{"input": "a", "dimensions": "NaN"}',
    ['BAD_ARGUMENT', 'BAD_INPUT'],
  ],
  ['dimensions -1', '/v1/embeddings', '{"input": "a", "dimensions": -1}', ['BAD_ARGUMENT', 'BAD_INPUT']],
  ['dimensions 0', '/v1/embeddings', '{"input": "a", "dimensions": 0}', ['BAD_ARGUMENT', 'BAD_INPUT']],
  ['dimensions 1.5', '/v1/embeddings', '{"input": "a", "dimensions": 1.5}', ['BAD_ARGUMENT', 'BAD_INPUT']],
  ['dimensions huge', '/v1/embeddings', '{"input": "a", "dimensions": 1e300}', ['BAD_ARGUMENT', 'BAD_INPUT']],
  [
    'dimensions infinite',
    '/v1/embeddings',
    '{"input": "a", "dimensions": 1e999}',
    ['BAD_ARGUMENT', 'BAD_INPUT'],
  ],
  ['dimensions null', '/v1/embeddings', '{"input": "a", "dimensions": null}', ['BAD_ARGUMENT', 'BAD_INPUT']],
  [
    'encoding_format bogus',
    '/v1/embeddings',
    '{"input": "a", "encoding_format": "int4"}',
    ['BAD_ARGUMENT', 'BAD_INPUT'],
  ],
  [
    'encoding_format a number',
    '/v1/embeddings',
    '{"input": "a", "encoding_format": 1}',
    ['BAD_ARGUMENT', 'BAD_INPUT'],
  ],
  [
    'model a number',
    '/v1/embeddings',
    '{"input": "a", "model": 7}',
    ['BAD_ARGUMENT', 'BAD_INPUT', 'MODEL_NOT_FOUND'],
  ],
  ['a body that is a list', '/v1/embeddings', '["a"]', ['BAD_ARGUMENT', 'BAD_INPUT']],
  ['a body that is a string', '/v1/embeddings', '"a"', ['BAD_ARGUMENT', 'BAD_INPUT']],
  // /classify
  ['no labels', '/classify', '{"text": "a dog"}', ['BAD_ARGUMENT', 'BAD_INPUT']],
  ['labels empty', '/classify', '{"text": "a dog", "labels": []}', ['BAD_ARGUMENT', 'BAD_INPUT']],
  ['one label', '/classify', '{"text": "a dog", "labels": ["dog"]}', ['BAD_ARGUMENT', 'BAD_INPUT']],
  ['labels a string', '/classify', '{"text": "a dog", "labels": "dog,cat"}', ['BAD_ARGUMENT', 'BAD_INPUT']],
  ['an empty label', '/classify', '{"text": "a dog", "labels": ["dog", ""]}', ['BAD_ARGUMENT', 'BAD_INPUT']],
  ['a blank label', '/classify', '{"text": "a dog", "labels": ["dog", "  "]}', ['BAD_ARGUMENT', 'BAD_INPUT']],
  ['a number label', '/classify', '{"text": "a dog", "labels": ["dog", 5]}', ['BAD_ARGUMENT', 'BAD_INPUT']],
  ['a null label', '/classify', '{"text": "a dog", "labels": [null, "cat"]}', ['BAD_ARGUMENT', 'BAD_INPUT']],
  [
    '1,001 labels',
    '/classify',
    JSON.stringify({ text: 'a dog', labels: Array.from({ length: 1001 }, (_, i) => `l${i}`) }),
    ['BAD_ARGUMENT', 'BAD_INPUT', 'INPUT_TOO_LARGE'],
  ],
  [
    'a label over the text limit',
    '/classify',
    `{"text": "a dog", "labels": ["dog", "${long}"]}`,
    ['INPUT_TOO_LARGE'],
  ],
  [
    'a blank template',
    '/classify',
    '{"text": "a dog", "labels": ["dog", "cat"], "templates": [" "]}',
    ['BAD_ARGUMENT', 'BAD_INPUT'],
  ],
  ['text ""', '/classify', '{"text": "", "labels": ["dog", "cat"]}', ['BAD_ARGUMENT', 'BAD_INPUT']],
  ['text blank', '/classify', '{"text": "   ", "labels": ["dog", "cat"]}', ['BAD_ARGUMENT', 'BAD_INPUT']],
  ['no input', '/classify', '{"labels": ["dog", "cat"]}', ['BAD_ARGUMENT', 'BAD_INPUT']],
  [
    'text and image',
    '/classify',
    '{"text": "a", "image": "aGk=", "labels": ["dog", "cat"]}',
    ['BAD_ARGUMENT', 'BAD_INPUT'],
  ],
  ['k 0', '/classify', '{"text": "a dog", "labels": ["dog", "cat"], "k": 0}', ['BAD_ARGUMENT', 'BAD_INPUT']],
  [
    'k -1',
    '/classify',
    '{"text": "a dog", "labels": ["dog", "cat"], "k": -1}',
    ['BAD_ARGUMENT', 'BAD_INPUT'],
  ],
  [
    'k 1.5',
    '/classify',
    '{"text": "a dog", "labels": ["dog", "cat"], "k": 1.5}',
    ['BAD_ARGUMENT', 'BAD_INPUT'],
  ],
  [
    'k "NaN"',
    '/classify',
    '{"text": "a dog", "labels": ["dog", "cat"], "k": "NaN"}',
    ['BAD_ARGUMENT', 'BAD_INPUT'],
  ],
  [
    'k infinite',
    '/classify',
    '{"text": "a dog", "labels": ["dog", "cat"], "k": 1e999}',
    ['BAD_ARGUMENT', 'BAD_INPUT'],
  ],
  [
    'k NaN (not JSON)',
    '/classify',
    '{"text": "a dog", "labels": ["dog", "cat"], "k": NaN}',
    ['BAD_ARGUMENT', 'BAD_INPUT'],
  ],
  [
    'lang a number',
    '/classify',
    '{"text": "a dog", "labels": ["dog", "cat"], "lang": 5}',
    ['BAD_ARGUMENT', 'BAD_INPUT'],
  ],
  [
    'lang unknown',
    '/classify',
    '{"text": "a dog", "labels": ["dog", "cat"], "lang": "xx"}',
    ['BAD_ARGUMENT', 'BAD_INPUT'],
  ],
  // /similarity
  ['a ""', '/similarity', '{"a": {"text": ""}, "b": {"text": "b"}}', ['BAD_ARGUMENT', 'BAD_INPUT']],
  ['a blank', '/similarity', '{"a": {"text": "  "}, "b": {"text": "b"}}', ['BAD_ARGUMENT', 'BAD_INPUT']],
  ['a a string', '/similarity', '{"a": "dog", "b": {"text": "b"}}', ['BAD_ARGUMENT', 'BAD_INPUT']],
  ['a a number', '/similarity', '{"a": 1e999, "b": {"text": "b"}}', ['BAD_ARGUMENT', 'BAD_INPUT']],
  ['a {}', '/similarity', '{"a": {}, "b": {"text": "b"}}', ['BAD_ARGUMENT', 'BAD_INPUT']],
  [
    'a {"text": NaN}',
    '/similarity',
    '{"a": {"text": NaN}, "b": {"text": "b"}}',
    ['BAD_ARGUMENT', 'BAD_INPUT'],
  ],
  ['a {"text": 5}', '/similarity', '{"a": {"text": 5}, "b": {"text": "b"}}', ['BAD_ARGUMENT', 'BAD_INPUT']],
  ['no b', '/similarity', '{"a": {"text": "a"}}', ['BAD_ARGUMENT', 'BAD_INPUT']],
  ['b null', '/similarity', '{"a": {"text": "a"}, "b": null}', ['BAD_ARGUMENT', 'BAD_INPUT']],
  [
    'b two inputs',
    '/similarity',
    '{"a": {"text": "a"}, "b": {"text": "b", "image": "aGk="}}',
    ['BAD_ARGUMENT', 'BAD_INPUT'],
  ],
  [
    'b an image that is not one',
    '/similarity',
    '{"a": {"text": "a"}, "b": {"image": "aGVsbG8gd29ybGQ="}}',
    ['BAD_INPUT', 'UNSUPPORTED_FORMAT'],
  ],
  [
    'b over the text limit',
    '/similarity',
    `{"a": {"text": "a"}, "b": {"text": "${long}"}}`,
    ['INPUT_TOO_LARGE'],
  ],
  // /moderate
  ['policy a list', '/moderate', '{"text": "a", "policy": []}', ['BAD_ARGUMENT', 'BAD_INPUT']],
  ['policy without categories', '/moderate', '{"text": "a", "policy": {}}', ['BAD_ARGUMENT', 'BAD_INPUT']],
  [
    'a policy threshold out of range',
    '/moderate',
    JSON.stringify({ text: 'a', policy: { unsafe: [category('bad', ['x'], 2)], safe: [] } }),
    ['BAD_ARGUMENT', 'BAD_INPUT'],
  ],
  [
    'a policy threshold infinite',
    '/moderate',
    '{"text": "a", "policy": {"unsafe": [{"name": "bad", "prompts": ["x"], "threshold": -1e999}], "safe": []}}',
    ['BAD_ARGUMENT', 'BAD_INPUT'],
  ],
  ['a policy prompt ""', '/moderate', JSON.stringify({ text: 'a', policy: policyWith(['']) }), ['BAD_INPUT']],
  [
    'a policy prompt blank',
    '/moderate',
    JSON.stringify({ text: 'a', policy: policyWith([' \n']) }),
    ['BAD_INPUT'],
  ],
  [
    'a policy prompt a number',
    '/moderate',
    JSON.stringify({ text: 'a', policy: policyWith([5]) }),
    ['BAD_INPUT'],
  ],
  [
    'a policy prompt over the text limit',
    '/moderate',
    JSON.stringify({ text: 'a', policy: policyWith([long]) }),
    ['INPUT_TOO_LARGE'],
  ],
  [
    'a policy template over the text limit',
    '/moderate',
    JSON.stringify({ text: 'a', policy: { ...policyWith(['x']), templates: { text: [`${long}{}`] } } }),
    ['INPUT_TOO_LARGE'],
  ],
  [
    'policy templates a string',
    '/moderate',
    JSON.stringify({ text: 'a', policy: { ...policyWith(['x']), templates: '{}' } }),
    ['BAD_ARGUMENT', 'BAD_INPUT'],
  ],
  [
    'a policy template a number',
    '/moderate',
    JSON.stringify({ text: 'a', policy: { ...policyWith(['x']), templates: { text: [5] } } }),
    ['BAD_ARGUMENT', 'BAD_INPUT'],
  ],
  [
    'policy lang a number',
    '/moderate',
    JSON.stringify({ text: 'a', policy: { ...policyWith(['x']), lang: 5 } }),
    ['BAD_ARGUMENT', 'BAD_INPUT'],
  ],
  [
    'a policy of more prompts than inputs a request may hold',
    '/moderate',
    JSON.stringify({ text: 'a', policy: policyWith(Array.from({ length: 2049 }, (_, i) => `p${i}`)) }),
    ['INPUT_TOO_LARGE'],
  ],
  ['moderate text ""', '/moderate', '{"text": ""}', ['BAD_ARGUMENT', 'BAD_INPUT']],
];

describe('bad JSON values in /v1/embeddings, /classify, /similarity and /moderate', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  for (const [what, path, body, codes] of cases) {
    test(`${path}: ${what} is a 4xx of the table`, async () => {
      const result = await server.call('POST', path, body);
      const shown = `${result.status} ${JSON.stringify(result.body).slice(0, 300)}`;
      assert.ok(result.status >= 400 && result.status < 500, shown);
      const code = result.body?.error?.code as ErrorCode;
      assert.ok(codes.includes(code), `${shown}: wanted one of ${codes.join(', ')}`);
      assert.equal(ERRORS[code].http, result.status, shown);
      assert.equal(typeof result.body.error.message, 'string', shown);
      assert.ok(result.body.error.message.length > 0, shown);
    });
  }

  test('the same routes answer good bodies (the cases above fail for their own reason)', async () => {
    const good: [string, unknown][] = [
      ['/v1/embeddings', { input: ['a', 'b'], encoding_format: 'base64' }],
      ['/classify', { text: 'a dog', labels: ['dog', 'cat'], k: 1, templates: ['{}'] }],
      ['/similarity', { a: { text: 'a' }, b: { text: 'b' } }],
      ['/moderate', { text: 'a', policy: policyWith(['x']) }],
    ];
    for (const [path, body] of good) {
      const result = await server.call('POST', path, body);
      assert.equal(result.status, 200, `${path}: ${JSON.stringify(result.body).slice(0, 300)}`);
    }
  });
});
