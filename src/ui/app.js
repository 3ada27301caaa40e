// The xmodal web UI: one search box (words, or a dropped / pasted image or audio file), a results grid.
// Plain DOM, no build step; everything goes through the same HTTP API as any client.

const $ = (id) => document.getElementById(id);
const state = { media: null, collection: null, lastQuery: null };

// API paths are relative to where the server is mounted: one folder above this script. Links the server
// hands out (an item's content) are absolute and pass through.
const API_BASE = new URL('../', import.meta.url);

function apiKey() {
  return localStorage.getItem('xmodal-api-key') || '';
}

async function api(path, options = {}) {
  const headers = { ...(options.headers || {}) };
  if (apiKey()) headers.authorization = `Bearer ${apiKey()}`;
  const response = await fetch(new URL(path, API_BASE), { ...options, headers });
  if (response.status === 401) {
    const key = prompt('This server needs an API key (XMODAL_API_KEY):');
    if (key) {
      localStorage.setItem('xmodal-api-key', key.trim());
      return api(path, options);
    }
  }
  const isJson = (response.headers.get('content-type') || '').includes('json');
  if (!response.ok) {
    const body = isJson ? await response.json() : { error: { message: response.statusText } };
    throw new Error(body.error?.message || `HTTP ${response.status}`);
  }
  return isJson ? response.json() : response;
}

function status(text, isError = false) {
  $('status').textContent = text;
  $('status').classList.toggle('error', isError);
}

async function loadCollections() {
  const { collections, default: fallback } = await api('collections');
  const select = $('collection');
  const names = collections.map((c) => c.name);
  if (!names.includes(fallback)) names.unshift(fallback);
  select.replaceChildren(...names.map((name) => new Option(name, name)));
  state.collection = state.collection && names.includes(state.collection) ? state.collection : fallback;
  select.value = state.collection;
  await loadStats();
}

async function loadStats() {
  try {
    const s = await api(`collections/${encodeURIComponent(state.collection)}/stats`);
    const model = s.encoderId.split('/').at(-1);
    $('stats').textContent =
      `${s.items} items · ${s.modalities.image} images · ${s.modalities.audio} audio · ${s.modalities.text} text · ${model} (${s.dim}-d)`;
    hint(s.items);
  } catch {
    $('stats').textContent = 'empty collection: index some files to start';
    hint(0);
  }
}

/** What to do next, shown until the first results: fill an empty collection, or try a search. */
function hint(items) {
  $('hint').textContent =
    items === 0
      ? 'This collection is empty: add images, audio clips or text files with "index files" above, then search them here.'
      : 'Type words, e.g. "a dog on the grass", and press Search, or drop or paste an image or audio file to find what looks or sounds like it.';
  $('hint').hidden = $('results').children.length > 0;
}

function readAsDataUrl(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

async function setMediaQuery(file) {
  const kind = file.type.startsWith('audio/') ? 'audio' : file.type.startsWith('image/') ? 'image' : null;
  if (!kind) {
    status(`${file.name || 'that file'} is not an image or audio file`, true);
    return;
  }
  state.media = { kind, dataUrl: await readAsDataUrl(file), name: file.name || kind };
  const preview = kind === 'image' ? new Image() : document.createElement('audio');
  preview.src = state.media.dataUrl;
  if (kind === 'audio') preview.controls = true;
  else preview.alt = state.media.name;
  $('query-media-preview').replaceChildren(preview);
  $('query-media').hidden = false;
  $('query').placeholder = 'add words to refine, or press Search';
  await search();
}

function clearMedia() {
  state.media = null;
  $('query-media').hidden = true;
  $('query-media-preview').replaceChildren();
  $('query').placeholder = 'Search by words, or drop / paste an image or audio file';
}

function currentQuery() {
  const parts = [];
  const text = $('query').value.trim();
  if (text) parts.push({ kind: 'text', value: text });
  if (state.media) parts.push({ kind: state.media.kind, value: state.media.dataUrl });
  return parts;
}

/** "video" shows moments inside videos: their frames and sound windows carry meta.video. */
function filterFor(modality) {
  return modality === 'video' ? { meta: { video: true } } : { modality };
}

/** 0:42, 1:02:03 */
function formatTime(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const pad = (n) => String(n).padStart(2, '0');
  const [h, m] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60)];
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

async function search(query) {
  const body = query ?? { parts: currentQuery() };
  if (!body.like && body.parts.length === 0) {
    status('type something, or drop an image or audio file');
    return;
  }
  const modality = $('modality').value;
  state.lastQuery = body;
  status('searching…');
  const started = performance.now();
  try {
    const result = await api('search', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        ...body,
        collection: state.collection,
        k: 24,
        ...(modality ? { filter: filterFor(modality) } : {}),
      }),
    });
    render(result.hits);
    status(`${result.hits.length} results in ${Math.round(performance.now() - started)} ms`);
  } catch (error) {
    $('results').replaceChildren();
    status(error.message, true);
  }
}

const blobUrls = [];

/**
 * A moment of a video (or of a long recording): the file itself, opened at the moment (a video's frame is the
 * thumbnail) and playing from there. Without an API key the player streams it with Range requests; with one, it
 * is fetched whole so the key goes along.
 */
async function attachMoment(hit, container) {
  const player = document.createElement(hit.mime?.startsWith('audio/') ? 'audio' : 'video');
  player.controls = true;
  player.preload = 'metadata';
  player.dataset.t = String(hit.t);
  const source = apiKey() ? URL.createObjectURL(await (await api(hit.content)).blob()) : hit.content;
  if (source !== hit.content) blobUrls.push(source);
  // A media fragment seeks to t: the player shows that frame and plays on from it.
  player.src = `${source}#t=${hit.t}`;
  container.replaceChildren(player);
}

async function attachContent(hit, container) {
  if (hit.t !== undefined) return attachMoment(hit, container);
  // Fetched (not linked) so the API key, when one is set, goes along.
  const response = await api(hit.content);
  const url = URL.createObjectURL(await response.blob());
  blobUrls.push(url);
  if (hit.modality === 'image') {
    const img = new Image();
    img.alt = hit.uri?.split('/').at(-1) ?? hit.id;
    img.src = url;
    container.replaceChildren(img);
  } else if (hit.modality === 'audio') {
    const audio = document.createElement('audio');
    audio.controls = true;
    audio.preload = 'none';
    audio.src = url;
    container.replaceChildren(audio);
  }
}

function render(hits) {
  for (const url of blobUrls.splice(0)) URL.revokeObjectURL(url);
  const cards = hits.map((hit) => {
    const card = document.createElement('li');
    card.className = 'result';
    card.dataset.id = hit.id;
    card.dataset.modality = hit.modality;
    if (hit.t !== undefined) card.dataset.t = String(hit.t);
    const thumb = document.createElement('div');
    thumb.className = 'thumb';
    if (hit.modality === 'text') {
      const text = document.createElement('div');
      text.className = 'text';
      text.textContent = hit.meta?.text ?? hit.id;
      thumb.append(text);
    } else if (hit.content) {
      attachContent(hit, thumb).catch(() => {
        thumb.textContent = 'file unavailable';
      });
    }
    const meta = document.createElement('div');
    meta.className = 'meta';
    const name = document.createElement('span');
    name.className = 'name';
    const file = (hit.uri ?? hit.id).split('/').at(-1);
    name.textContent = hit.t === undefined ? file : `${file} @ ${formatTime(hit.t)}`;
    name.title = hit.uri ?? hit.id;
    const score = document.createElement('span');
    score.className = 'score';
    score.textContent = hit.score.toFixed(3);
    const more = document.createElement('button');
    more.className = 'more';
    more.type = 'button';
    more.textContent = 'more like this';
    more.addEventListener('click', () => {
      clearMedia();
      $('query').value = '';
      search({ like: hit.id });
    });
    meta.append(name, score, more);
    card.append(thumb, meta);
    return card;
  });
  $('results').replaceChildren(...cards);
  $('hint').hidden = cards.length > 0;
}

async function upload(files) {
  if (files.length === 0) return;
  const form = new FormData();
  for (const file of files) form.append('file', file, file.name);
  status(`indexing ${files.length} files…`);
  try {
    const report = await api(`collections/${encodeURIComponent(state.collection)}/index`, {
      method: 'POST',
      body: form,
    });
    const failed = report.failed.map((f) => `${f.path} (${f.reason})`).join('; ');
    status(
      `indexed ${report.indexed}, unchanged ${report.unchanged}, failed ${report.failed.length}${failed ? `: ${failed}` : ''}`,
      report.failed.length > 0,
    );
    await loadCollections();
  } catch (error) {
    status(error.message, true);
  }
}

function wire() {
  $('search').addEventListener('submit', (event) => {
    event.preventDefault();
    search();
  });
  // The filter applies to what the box holds now; with the box empty, to the last "more like this".
  $('modality').addEventListener('change', () => {
    if (currentQuery().length > 0) search();
    else if (state.lastQuery?.like) search(state.lastQuery);
  });
  $('collection').addEventListener('change', () => {
    state.collection = $('collection').value;
    $('results').replaceChildren();
    loadStats();
  });
  $('clear-media').addEventListener('click', clearMedia);
  $('upload').addEventListener('change', (event) => upload([...event.target.files]));
  const zone = $('dropzone');
  for (const type of ['dragenter', 'dragover'])
    zone.addEventListener(type, (event) => {
      event.preventDefault();
      zone.classList.add('over');
    });
  for (const type of ['dragleave', 'drop']) zone.addEventListener(type, () => zone.classList.remove('over'));
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    const file = event.dataTransfer?.files?.[0];
    if (file) setMediaQuery(file);
  });
  document.addEventListener('paste', (event) => {
    const file = [...(event.clipboardData?.files ?? [])][0];
    if (file) {
      event.preventDefault();
      setMediaQuery(file);
    }
  });
}

wire();
loadCollections().catch((error) => status(error.message, true));
