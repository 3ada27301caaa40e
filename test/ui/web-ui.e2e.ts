// The web UI in Debian's Chromium (playwright-core), against a real server: `npm run test:ui`.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, NO_CHROMIUM } from '../helpers/chromium.js';
import { AUDIO, IMAGES, ROOT, TINY_CLAP, TINY_CLIP } from '../helpers/paths.js';
import { type RunningServer, startServer } from '../server/harness.js';

const ARTIFACTS = join(ROOT, 'test-artifacts');
const ICONS = join(ROOT, 'test', 'ui', 'fixtures');
const XMODAL_MINI = join(ROOT, 'models', 'xmodal-mini');

/** Screenshots land in test-artifacts/, which ignores itself. */
function artifact(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  writeFileSync(join(ARTIFACTS, '.gitignore'), '*\n');
  return join(ARTIFACTS, name);
}

async function indexFiles(server: RunningServer, paths: string[], collection = 'default'): Promise<void> {
  const form = new FormData();
  for (const path of paths)
    form.append('file', new Blob([new Uint8Array(readFileSync(path))]), path.split('/').at(-1));
  const response = await fetch(`${server.base}/collections/${collection}/index`, {
    method: 'POST',
    body: form,
  });
  assert.equal(response.status, 200, await response.text());
}

async function resultIds(page: Page): Promise<string[]> {
  return page.$$eval('#results .result', (cards) => cards.map((c) => (c as HTMLElement).dataset.id ?? ''));
}

/** Drops a file on the search box the way a user's drag-and-drop does. */
async function dropFile(page: Page, path: string, type: string): Promise<void> {
  const dataTransfer = await page.evaluateHandle(
    ({ base64, name, type }) => {
      const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([bytes], name, { type }));
      return transfer;
    },
    { base64: readFileSync(path).toString('base64'), name: path.split('/').at(-1)!, type },
  );
  await page.dispatchEvent('#dropzone', 'drop', { dataTransfer });
}

describe('web UI in Chromium', { skip: NO_CHROMIUM }, () => {
  let browser: Browser;
  let server: RunningServer;
  let page: Page;
  const icons = readdirSync(ICONS)
    .filter((f) => f.endsWith('.png'))
    .map((f) => join(ICONS, f));

  before(async () => {
    server = await startServer({ model: TINY_CLIP });
    await indexFiles(server, [...icons, join(IMAGES, 'photo.jpg')]);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(server.base);
    await page.waitForFunction(() => /\d+ items/.test(document.getElementById('stats')?.textContent ?? ''));
    assert.deepEqual(errors, []);
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('the page shows the collection and its stats', async () => {
    assert.match((await page.textContent('#stats')) ?? '', /12 items · 12 images · 0 audio/);
    assert.equal(await page.inputValue('#collection'), 'default');
  });

  test('drop an image: its look-alikes come back, the image itself first, with thumbnails and scores', async () => {
    await dropFile(page, join(ICONS, 'guitar.png'), 'image/png');
    await page.waitForSelector('#results .result img');
    const ids = await resultIds(page);
    assert.ok(ids.length >= 10, `${ids.length} results`);
    assert.match(ids[0], /guitar\.png$/);
    assert.equal(Number(await page.textContent('#results .result:first-child .score')), 1);
    await page.waitForFunction(() => {
      const img = document.querySelector('#results .result:first-child img') as HTMLImageElement | null;
      return img?.complete && img.naturalWidth === 128;
    });
    assert.equal(await page.isVisible('#query-media img'), true, 'the dropped image shows as the query');
    await page.screenshot({ path: artifact('ui.png'), fullPage: true });
  });

  test('"more like this" searches by that item, leaving it out', async () => {
    const second = (await resultIds(page))[1];
    await page.click('#results .result:nth-child(2) .more');
    await page.waitForFunction((id) => {
      const cards = [...document.querySelectorAll('#results .result')] as HTMLElement[];
      return cards.length > 0 && cards.every((card) => card.dataset.id !== id);
    }, second);
    assert.equal(await page.isVisible('#query-media img'), false, 'the dropped image is no longer the query');
    assert.ok(!(await resultIds(page)).includes(second));
  });

  test('the media-clear × shows only while a file is the query', async () => {
    await page.reload();
    await page.waitForFunction(() => /\d+ items/.test(document.getElementById('stats')?.textContent ?? ''));
    assert.equal(await page.isVisible('#clear-media'), false, 'no file is the query yet');
    await dropFile(page, join(ICONS, 'bird.png'), 'image/png');
    await page.waitForSelector('#query-media img');
    assert.equal(await page.isVisible('#clear-media'), true);
    await page.click('#clear-media');
    assert.equal(await page.isVisible('#clear-media'), false, 'cleared');
    assert.equal(await page.isVisible('#query-media'), false);
  });

  test('changing the filter searches for the words in the box, not the last submitted ones', async () => {
    await page.fill('#query', 'a red apple');
    await page.press('#query', 'Enter');
    await page.waitForFunction(() => /results in/.test(document.getElementById('status')?.textContent ?? ''));
    await page.fill('#query', 'a bicycle');
    const sent = page.waitForRequest((request) => request.url().endsWith('/search'));
    await page.selectOption('#modality', 'image');
    const body = JSON.parse((await sent).postData() ?? '{}');
    assert.deepEqual(body.parts, [{ kind: 'text', value: 'a bicycle' }]);
    assert.deepEqual(body.filter, { modality: 'image' });
    await page.selectOption('#modality', '');
  });

  test('an upload with a failed file names it and says why', async () => {
    await page.setInputFiles('#upload', [join(IMAGES, 'corrupt.jpg'), join(ICONS, 'pizza.png')]);
    await page.waitForFunction(() => /failed 1/.test(document.getElementById('status')?.textContent ?? ''));
    const text = (await page.textContent('#status')) ?? '';
    assert.match(text, /corrupt\.jpg/);
    assert.match(text, /corrupt\.jpg[^a-z]+\w+/, `a reason follows the name: ${text}`);
    assert.equal(await page.getAttribute('#status', 'class'), 'status error');
  });

  test('the modality filter keeps only that kind', async () => {
    await page.fill('#query', 'a photo');
    await page.selectOption('#modality', 'text');
    await page.press('#query', 'Enter');
    await page.waitForFunction(() => /0 results/.test(document.getElementById('status')?.textContent ?? ''));
    await page.selectOption('#modality', 'image');
    await page.waitForFunction(
      () => document.querySelectorAll('#results .result[data-modality="image"]').length === 12,
    );
  });
  test('switch to an audio collection, drop a clip: players come back, the clip itself first', async () => {
    const created = await server.call('POST', '/collections', { name: 'sounds', model: TINY_CLAP });
    assert.equal(created.status, 201);
    await indexFiles(
      server,
      ['sine.flac', 'sine-s16.wav', 'long-25s-16k.wav'].map((f) => join(AUDIO, f)),
      'sounds',
    );
    await page.reload();
    await page.waitForFunction(() => document.querySelectorAll('#collection option').length === 2);
    await page.selectOption('#collection', 'sounds');
    await page.waitForFunction(() =>
      /3 items · 0 images · 3 audio/.test(document.getElementById('stats')?.textContent ?? ''),
    );
    await page.selectOption('#modality', '');
    await dropFile(page, join(AUDIO, 'long-25s-16k.wav'), 'audio/wav');
    await page.waitForFunction(() => document.querySelectorAll('#results .result audio').length === 3);
    assert.match((await resultIds(page))[0], /long-25s-16k\.wav$/);
    assert.equal(await page.isVisible('#query-media audio'), true, 'the dropped clip plays as the query');
    await page.screenshot({ path: artifact('ui-audio.png'), fullPage: true });
  });
});

describe('web UI at phone width, on an empty server', {
  skip: NO_CHROMIUM,
}, () => {
  let browser: Browser;
  let server: RunningServer;
  before(async () => {
    server = await startServer({ model: TINY_CLIP });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('at 390 px nothing overflows and Search stays on screen; an empty start page says what to do', async () => {
    const page = await browser.newPage({
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
    });
    const missing: string[] = [];
    page.on('response', (response) => {
      // API answers (a 404 for the stats of a collection not made yet) are the page's business; files are not.
      if (response.status() >= 400 && response.request().resourceType() !== 'fetch')
        missing.push(`${response.status()} ${response.url()}`);
    });
    await page.goto(server.base);
    await page.waitForFunction(() => (document.getElementById('stats')?.textContent ?? '') !== '');
    assert.match(
      (await page.textContent('#hint')) ?? '',
      /index files/,
      'the empty collection says how to fill it',
    );
    await page.screenshot({ path: artifact('ui-phone-empty.png'), fullPage: true });
    assert.ok(await page.isVisible('#hint'));
    await indexFiles(server, [join(ICONS, 'dog.png'), join(ICONS, 'cat.png')]);
    await page.reload();
    await page.waitForFunction(() => /2 items/.test(document.getElementById('stats')?.textContent ?? ''));
    assert.match(
      (await page.textContent('#hint')) ?? '',
      /type words/i,
      'a filled collection suggests a search',
    );
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `the page is ${width} px wide`);
    const search = await page.locator('#search button[type=submit]').boundingBox();
    assert.ok(
      search && search.x >= 0 && search.x + search.width <= 390,
      `Search at ${JSON.stringify(search)}`,
    );
    await page.fill('#query', 'a dog');
    await page.tap('#search button[type=submit]');
    await page.waitForSelector('#results .result img');
    assert.equal(await page.isVisible('#hint'), false, 'the hint gives way to results');
    assert.ok((await page.evaluate(() => document.documentElement.scrollWidth)) <= 390);
    await page.screenshot({ path: artifact('ui-phone.png'), fullPage: true });
    assert.deepEqual(missing, [], 'every file the page asked for, the favicon included, was there');
  });

  test('/favicon.ico is an icon', async () => {
    const response = await fetch(`${server.base}/favicon.ico`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'image/x-icon');
    const bytes = new Uint8Array(await response.arrayBuffer());
    assert.deepEqual([...bytes.subarray(0, 4)], [0, 0, 1, 0], 'an ICO header');
  });
});

describe('web UI with xmodal-mini', {
  skip:
    (!existsSync(XMODAL_MINI) &&
      'models/xmodal-mini has not landed yet: the trained model is needed to find a picture by a word') ||
    NO_CHROMIUM,
}, () => {
  test('type "dog": the dog comes first', async () => {
    const server = await startServer({ model: XMODAL_MINI });
    const browser = await launchChromium();
    try {
      await indexFiles(
        server,
        readdirSync(ICONS)
          .filter((f) => f.endsWith('.png'))
          .map((f) => join(ICONS, f)),
      );
      const page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
      await page.goto(server.base);
      await page.waitForFunction(() => /\d+ items/.test(document.getElementById('stats')?.textContent ?? ''));
      await page.fill('#query', 'dog');
      await page.press('#query', 'Enter');
      await page.waitForSelector('#results .result img');
      const ids = await resultIds(page);
      await page.screenshot({ path: artifact('ui-dog.png'), fullPage: true });
      assert.match(ids[0], /\/dog\.png$/, `first: ${ids[0]}`);
    } finally {
      await browser.close();
      await server.close();
    }
  });
});
