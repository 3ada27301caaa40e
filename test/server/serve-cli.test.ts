import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT, TINY_CLIP, tempDir } from '../helpers/paths.js';

test('xmodal serve listens, answers, and stops cleanly on SIGTERM', async () => {
  const home = tempDir('xmodal-serve-');
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(ROOT, 'src', 'cli', 'main.ts'),
      '--home',
      home,
      'serve',
      '--port',
      '0',
      '--model',
      TINY_CLIP,
    ],
    { cwd: ROOT, env: { ...process.env, XMODAL_API_KEY: 'k' } },
  );
  try {
    let stderr = '';
    const base = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (chunk) => {
        stderr += chunk;
        const match = /serving .* on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
        if (match) resolve(match[1]);
      });
      child.on('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
      setTimeout(() => reject(new Error(`no address in 30 s: ${stderr}`)), 30_000);
    });
    const health = (await (await fetch(`${base}/health`)).json()) as { model: string };
    assert.equal(health.model, TINY_CLIP);
    const locked = await fetch(`${base}/embed/text`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"text":"x"}',
    });
    assert.equal(locked.status, 401, 'XMODAL_API_KEY from the environment is enforced');
    const exit = new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    assert.equal(await exit, 0);
  } finally {
    child.kill('SIGKILL');
    rmSync(home, { recursive: true, force: true });
  }
});

test('xmodal serve refuses a bad port with a one-line error', async () => {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), 'serve', '--port', 'http'],
    {
      cwd: ROOT,
    },
  );
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.equal(code, 2);
  assert.match(stderr, /--port must be a whole number/);
});
