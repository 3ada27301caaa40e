// The web UI in Chromium with xmodal mounted under a prefix of a host Fastify app: `npm run test:ui`.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Browser } from 'playwright-core';
import { xmodalPlugin } from '../../src/server/app.js';
import { launchChromium, NO_CHROMIUM } from '../helpers/chromium.js';
import { ROOT, TINY_CLIP, tempDir } from '../helpers/paths.js';

const ICONS = join(ROOT, 'test', 'ui', 'fixtures');
const PNGS = readdirSync(ICONS).filter((f) => f.endsWith('.png'));

describe('web UI under a prefix', { skip: NO_CHROMIUM }, () => {
  let host: FastifyInstance;
  let browser: Browser;
  let origin: string;
  let home: string;
  before(async () => {
    home = tempDir('xmodal-ui-mount-');
    host = Fastify({ routerOptions: { maxParamLength: 2048 } });
    host.get('/', async () => 'the host app');
    await host.register(xmodalPlugin, { prefix: '/tools/xmodal', home, model: TINY_CLIP });
    await host.listen({ port: 0, host: '127.0.0.1' });
    origin = `http://127.0.0.1:${(host.server.address() as AddressInfo).port}`;
    const form = new FormData();
    for (const name of PNGS)
      form.append('file', new Blob([new Uint8Array(readFileSync(join(ICONS, name)))]), name);
    const indexed = await fetch(`${origin}/tools/xmodal/collections/default/index`, {
      method: 'POST',
      body: form,
    });
    assert.equal(indexed.status, 200, await indexed.text());
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await host?.close();
    rmSync(home, { recursive: true, force: true });
  });

  test('the page loads from the prefix without a trailing slash, searches, and shows thumbnails', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    const outside: string[] = [];
    page.on('request', (request) => {
      const { protocol, pathname } = new URL(request.url());
      if (protocol === 'http:' && !pathname.startsWith('/tools/xmodal/')) outside.push(pathname);
    });
    await page.goto(`${origin}/tools/xmodal`);
    await page.waitForFunction(() => /\d+ items/.test(document.getElementById('stats')?.textContent ?? ''));
    await page.fill('#query', 'a guitar');
    await page.press('#query', 'Enter');
    await page.waitForFunction(() => {
      const img = document.querySelector('#results .result:first-child img') as HTMLImageElement | null;
      return img?.complete && img.naturalWidth === 128;
    });
    assert.equal(await page.$$eval('#results .result', (cards) => cards.length), PNGS.length);
    assert.deepEqual(errors, []);
    // Only the redirect from the bare prefix may leave it (to add the slash); nothing else escapes the mount.
    assert.deepEqual(outside, ['/tools/xmodal']);
  });
});
