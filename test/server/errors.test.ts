import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { type Json, type RunningServer, startServer } from './harness.js';

/** Sends raw bytes and reads until the server closes the connection: what a client on the wire would see. */
function rawRequest(port: number, head: string, body = ''): Promise<{ status: number; body: Json }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
    });
    socket.on('error', reject);
    socket.on('close', () => {
      const [headers, ...rest] = received.split('\r\n\r\n');
      const status = Number(headers.split(' ')[1]);
      const text = rest.join('\r\n\r\n');
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {}
      resolve({ status, body: parsed });
    });
    socket.write(head + body);
  });
}

const part = (boundary: string, payload: string) =>
  `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n` +
  `Content-Type: image/png\r\n\r\n${payload}\r\n`;

describe('one error shape for malformed requests, bad URLs and timeouts', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  const malformed: [string, string, string][] = [
    ['a junk body', 'multipart/form-data; boundary=XYZ', 'this is not multipart at all'],
    ['no boundary', 'multipart/form-data', `${part('XYZ', 'abc')}--XYZ--\r\n`],
    ['a mismatched boundary', 'multipart/form-data; boundary=ABC', `${part('XYZ', 'abc')}--XYZ--\r\n`],
    ['a truncated part', 'multipart/form-data; boundary=XYZ', part('XYZ', 'abc').slice(0, -10)],
    ['no closing boundary', 'multipart/form-data; boundary=XYZ', part('XYZ', 'abc')],
    [
      'a part without headers',
      'multipart/form-data; boundary=XYZ',
      '--XYZ\r\nnot a header line\r\n\r\nabc\r\n--XYZ--\r\n',
    ],
    ['an empty body', 'multipart/form-data; boundary=XYZ', ''],
  ];
  for (const path of ['/embed/image', '/collections/malformed/index']) {
    for (const [name, type, body] of malformed) {
      test(`${path}: multipart with ${name} is 400 in our error shape`, async () => {
        const result = await server.call('POST', path, body, { 'content-type': type });
        assert.equal(result.status, 400, JSON.stringify(result.body));
        assert.match(result.body.error.code, /^BAD_(INPUT|ARGUMENT)$/);
        assert.ok(result.body.error.message.length > 0);
      });
    }
  }

  test('a URL that is not valid percent-encoding is 400 BAD_INPUT, not Fastify`s own shape', async () => {
    for (const url of ['/items/%E0%A4%A', '/ui/%E0%A4%A', '/collections/%E0%A4%A/stats']) {
      const result = await server.call('GET', url);
      assert.equal(result.status, 400, url);
      assert.deepEqual(Object.keys(result.body), ['error']);
      assert.equal(result.body.error.code, 'BAD_INPUT', url);
      assert.match(result.body.error.message, /not a valid URL/);
    }
  });

  test('a request that does not arrive within the request limit is 408 in our error shape', async () => {
    const slow = await startServer({ limits: { requestTimeoutMs: 1500 } });
    try {
      const { port } = slow.app.server.address() as { port: number };
      // Headers announce a body that never comes; the server must answer 408 and close, not wait forever.
      const started = Date.now();
      const result = await rawRequest(
        port,
        'POST /embed/text HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n',
        '{"text":',
      );
      const waited = Date.now() - started;
      assert.equal(result.status, 408);
      assert.equal(result.body.error.code, 'REQUEST_TIMEOUT');
      assert.match(result.body.error.message, /1\.5 s/);
      // Node checks request deadlines every 30 s by default: the limit must fire near itself, not up to 30 s late.
      assert.ok(waited >= 1500, `answered after ${waited} ms, before the limit`);
      assert.ok(waited < 10_000, `answered after ${waited} ms`);
    } finally {
      await slow.close();
    }
  });
});
