// Every program in examples/ run as a user runs it (`npx tsx examples/...`), importing the package by its name,
// against the shipped xmodal-mini model and, for RAG, the local LLM stand-in.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { finished } from '../helpers/child.js';
import { startFakeLlm } from '../helpers/llm-server.js';
import { renderOpenMoji } from '../helpers/openmoji.js';
import { ROOT, tempDir } from '../helpers/paths.js';

const EXAMPLES = join(ROOT, 'examples');
const ICONS = join(ROOT, 'test', 'ui', 'fixtures');

function start(example: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', join(EXAMPLES, example), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
  });
}

/** Runs an example to its end; it must succeed. */
async function runExample(example: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const { code, stdout, stderr } = await finished(start(example, args, env));
  if (code !== 0) throw new Error(`${example} exited ${code}: ${stderr}`);
  return stdout;
}

describe('examples/', () => {
  let dir: string;
  let media: string;
  before(async () => {
    dir = tempDir('xmodal-examples-');
    media = join(dir, 'media');
    mkdirSync(media);
    for (const name of readdirSync(ICONS).filter((f) => f.endsWith('.png')))
      copyFileSync(join(ICONS, name), join(media, name));
    writeFileSync(join(media, 'rex.txt'), 'Rex is our dog. Rex loves chasing the red ball in the garden.');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('index-and-search: words find the picture, "like" finds its neighbours, a rerun is unchanged', async () => {
    const env = { XMODAL_HOME: join(dir, 'home-search') };
    const out = await runExample('index-and-search.ts', [media, 'a guitar'], env);
    const files = readdirSync(media).length;
    assert.match(out, new RegExp(`^indexed ${files}, unchanged 0, failed 0$`, 'm'));
    assert.match(out, /^best picture: .*\/guitar\.png$/m);
    assert.match(out, /^like it: (?!.*guitar)\S+\.png, \S+\.png, \S+\.png$/m); // the item itself is left out
    const again = await runExample('index-and-search.ts', [media, 'a guitar'], env);
    assert.match(again, new RegExp(`^indexed 0, unchanged ${files}, failed 0$`, 'm'));
  });

  test('classify-moderate: each file gets its label; the dagger is held for review, the rest published', async () => {
    const dagger = await renderOpenMoji('dagger', dir);
    const out = await runExample('classify-moderate.ts', [
      join(media, 'bird.png'),
      join(media, 'guitar.png'),
      dagger,
    ]);
    const lines = out.trim().split('\n');
    assert.equal(lines.length, 3);
    assert.match(lines[0], /bird\.png: bird \d+% → publish$/);
    assert.match(lines[1], /guitar\.png: guitar \d+% → publish$/);
    assert.match(lines[2], /dagger\.png: dagger \d+% → review \(weapons\)$/);
  });

  test('express-server: the UI, the API and /v1/embeddings answer under /xmodal beside the host route', async () => {
    const child = start('express-server.ts', ['0'], { XMODAL_HOME: join(dir, 'home-express') });
    try {
      const base = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout?.on('data', (d) => {
          out += d;
          const match = /listening on (http:\/\/127\.0\.0\.1:\d+)\//.exec(out);
          if (match) resolve(match[1]);
        });
        child.on('close', (code) => reject(new Error(`express example exited ${code}`)));
      });
      assert.match(await (await fetch(`${base}/`)).text(), /href="\/xmodal\/"/);
      const page = await fetch(`${base}/xmodal/`);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<script src="ui\/app\.js"/);
      assert.equal((await fetch(`${base}/xmodal/ui/app.js`)).status, 200);
      const embeddings = await fetch(`${base}/xmodal/v1/embeddings`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ input: ['a dog', 'a cat'] }),
      });
      assert.equal(embeddings.status, 200);
      const body = (await embeddings.json()) as { data: { embedding: number[] }[] };
      assert.equal(body.data.length, 2);
      const form = new FormData();
      form.append('file', new Blob([new Uint8Array(Buffer.from('a note about a red guitar'))]), 'note.txt');
      const indexed = await fetch(`${base}/xmodal/collections/default/index`, { method: 'POST', body: form });
      assert.equal(indexed.status, 200, await indexed.clone().text());
      const missing = await fetch(`${base}/xmodal/no-such-route`);
      assert.equal(missing.status, 404);
      assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'NOT_FOUND');
    } finally {
      const exited = new Promise((resolve) => child.on('close', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  });

  test('rag-local-llm: the LLM reads the note and the answer cites it', async () => {
    const llm = await startFakeLlm((prompt) => {
      const source = /\[(\d+)\][^\n]*rex\.txt/.exec(prompt);
      return source ? `Rex loves chasing the red ball [${source[1]}].` : 'I do not know.';
    });
    try {
      const out = await runExample('rag-local-llm.ts', [media, 'What does Rex love?'], {
        XMODAL_HOME: join(dir, 'home-rag'),
        XMODAL_LLM_URL: `${llm.url}/v1`,
        XMODAL_LLM_MODEL: 'test-model',
      });
      const [answer, citation] = out.trim().split('\n');
      assert.match(answer, /^Rex loves chasing the red ball \[\d\]\.$/);
      assert.match(citation, /^ {2}\[\d\] .*rex\.txt$/);
      assert.equal(llm.received.length, 1);
      assert.equal(llm.received[0].body.model, 'test-model');
      assert.match(JSON.stringify(llm.received[0].body.messages), /Rex is our dog/);
    } finally {
      await llm.close();
    }
  });
});
