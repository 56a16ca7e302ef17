// The page: inputs (picker, drag-and-drop of files and folders, paste), the queue, the result
// view with refine tools, outputs, and storage controls. Heavy work goes through the bridge.
import { Bridge } from './bridge.js';
import { offscreen, pngBlob } from './canvas.js';
import { download } from './download.js';
import { stash, take } from './handoff.js';
import { ensureIsolation, watchUpdates } from './isolation.js';
import { Job, OUTPUT_NAMES, SETTINGS } from './job.js';
import { EditMerge } from './merge.js';
import { clearAll, describeUsage, persist } from './storage.js';
import { Viewer } from './viewer.js';
import { zipBlob } from './zip.js';
import { DEFAULTS, pipelineOptions, validate } from '../shared/config.js';
import { formatBytes } from '../shared/format.js';
import { PIPELINE } from '../shared/options.js';

const INIT_STAGES = {
  'compute:runtime': 'Starting Python (Pyodide)…',
  'compute:packages': 'Loading numpy, Pillow and SciPy…',
  'compute:wheel': 'Installing the alphacut pipeline…',
  'compute:verify': 'Verifying the model…',
  'compute:session': 'Preparing the model…',
};
const IMAGE_NAME = /\.(png|jpe?g|webp|gif|bmp|tiff?|ico|avif|heic|heif)$/i;

const $ = (sel) => document.querySelector(sel);
const jobs = [];
let selected = null;
let bridge;
let viewer;
let options;

function setStatus(text, value = null, cls = '') {
  $('#status-text').textContent = text;
  const bar = $('#status-bar');
  if (value === null) bar.removeAttribute('value'); else bar.value = value;
  $('#status').className = cls;
}

function initProgress(key, current, total) {
  if (key === 'fetch:model') {
    const pct = total ? Math.floor((100 * current) / total) : 0;
    setStatus(`Downloading the model (first visit only): ${formatBytes(current)} of ${formatBytes(total)} (${pct}%)`,
      total ? current / total : null);
  } else {
    setStatus(INIT_STAGES[key] || key, null);
  }
}

function el(tag, props = {}, children = []) {
  const node = Object.assign(document.createElement(tag), props);
  for (const c of children) node.append(c);
  return node;
}

// ---- queue ----------------------------------------------------------------------------

/** A small preview of `file` (96 px high), or null where the browser cannot decode it (TIFF, ICO).
 * Not the file itself: an <img> of a 12 MP photo keeps 48 MB decoded for each queued photo. */
async function thumbnail(file) {
  try {
    const bitmap = await createImageBitmap(file, { resizeHeight: 96, resizeQuality: 'medium' });
    const canvas = offscreen(bitmap.width, bitmap.height);
    canvas.getContext('2d').drawImage(bitmap, 0, 0);
    bitmap.close();
    return URL.createObjectURL(await pngBlob(canvas));
  } catch {
    return null;
  }
}

// Thumbnails are made one at a time, and only for queue items near the screen: the browser
// decodes the whole photo to make one, and 48 photos of 12 MP decoded at once raised the tab's
// memory by 1.3 GB (one at a time: 0.6 GB; measured with createImageBitmap in Chromium).
let thumbnails = Promise.resolve();
const nearScreen = new IntersectionObserver((entries) => {
  for (const { target, isIntersecting } of entries) {
    if (!isIntersecting) continue;
    nearScreen.unobserve(target);
    thumbnails = thumbnails.then(() => thumbnail(target.file)).then((url) => { if (url) target.src = url; });
  }
}, { rootMargin: '200px' });

/** Tell screen readers that a job changed state (queued, running, done, failed), not each stage. */
function announce(text) {
  $('#announce').textContent = text;
}

function renderJob(job) {
  let item = job.item;
  if (!item) {
    const thumb = el('img', { className: 'thumb', alt: '' });
    thumb.file = job.file;
    nearScreen.observe(thumb);
    const name = el('span', { className: 'job-name', textContent: job.name });
    const state = el('span', { className: 'job-state' });
    const badge = el('span', { className: 'badge', hidden: true });
    const open = el('button', { type: 'button', className: 'open', textContent: 'Open' });
    const cancel = el('button', { type: 'button', className: 'cancel', textContent: 'Cancel' });
    open.setAttribute('aria-label', `Open ${job.name}`);
    cancel.setAttribute('aria-label', `Cancel ${job.name}`);
    open.onclick = () => {
      select(job);
      // One column on a phone: the result is below the queue, so bring it into view.
      if (matchMedia('(max-width: 820px)').matches) $('#editor').scrollIntoView({ block: 'start' });
    };
    cancel.onclick = () => job.cancel();
    item = el('li', { className: 'job' }, [thumb, el('div', { className: 'job-text' }, [name, state, badge]), open, cancel]);
    job.item = item;
    $('#jobs').append(item);
  }
  if (item.dataset.state !== job.state) announce(`${job.name}: ${job.stage}`);
  item.dataset.state = job.state;
  item.classList.toggle('selected', job === selected);
  item.querySelector('.job-state').textContent = job.stage;
  const q = job.quality();
  const badge = item.querySelector('.badge');
  badge.hidden = !q;
  if (q) {
    badge.className = `badge ${q.verdict}`;
    badge.textContent = `quality: ${q.verdict}`;
    badge.title = q.reasons.join(' ') || 'No problems found.';
  }
  if (job === selected) showQuality(job);
  item.querySelector('.open').disabled = !job.result;
  item.querySelector('.cancel').hidden = !['queued', 'running'].includes(job.state);
  $('#download-all').disabled = !jobs.some((j) => j.result);
  if (job === selected && job.result) viewer.update(job);
}

/** Show the update bar: `text`, and a Reload button that calls `reload`. */
function offerUpdate(text, reload) {
  $('#update-text').textContent = text;
  $('#update-reload').onclick = () => {
    $('#update-reload').disabled = true;
    reload();
  };
  $('#update').hidden = false;
}

/** Photos chosen before the worker's bridge exists: cut out as soon as it does. */
let waiting = [];

function addFiles(files) {
  if (!bridge) {
    waiting.push(...files);
    setStatus(`Starting… ${waiting.length} photo${waiting.length > 1 ? 's' : ''} will be cut out as soon as the app is ready.`, null);
    return;
  }
  for (const file of files) {
    const job = new Job(file, bridge, { onChange: renderJob });
    jobs.push(job);
    renderJob(job);
    job.start(pipelineOptions(options)).then(() => {
      if (job.result && (!selected || !selected.result)) select(job);
    });
  }
}

function showQuality(job) {
  const q = job.quality();
  const r = job.result?.report;
  if (!q || !r) return;
  const ck = r.second_opinions?.colorkey;
  const how = r.method === 'colorkey' ? `Cut out by colour key (${r.method_reason}).`
    : ck?.applied ? 'Cut out by the model; the colour key, which agrees with it, drew its unsure edges.'
    : ck ? 'Cut out by the model; the colour key disagrees where the model is sure, so it was not used.'
    : 'Cut out by the model.';
  $('#quality-verdict').textContent = `Quality: ${q.verdict}. ${how}`;
  $('#quality-verdict').className = `badge ${q.verdict}`;
  const list = $('#quality-reasons');
  list.replaceChildren(...(q.reasons.length ? q.reasons : ['No problems found.']).map((t) => el('li', { textContent: t })));
  $('#quality-escalation').textContent = job.escalationText();
  showProblems(job);
}

/** Overlay the flagged regions of `job` when the box is ticked (fetched from the worker once per result). */
async function showProblems(job) {
  if (!$('#show-problems').checked || !job.result) { viewer.setProblems(null); return; }
  try {
    const url = await job.problemsUrl();
    if (job === selected && $('#show-problems').checked) viewer.setProblems(url);
  } catch (e) {
    $('#quality-escalation').textContent = `Could not draw the flagged regions: ${e.message}`;
  }
}

function select(job) {
  if (!job.result) return;
  const prev = selected;
  selected = job;
  if (prev) renderJob(prev);
  renderJob(job);
  $('#editor').hidden = false;
  $('#feather').value = job.settings.feather;
  $('#shift-edge').value = job.settings.shift_edge;
  $('#decontaminate').value = job.settings.decontaminate;
  $('#method').value = job.settings.method;
  $('#escalate').value = job.settings.escalate;
  showSettings();
  viewer.show(job);
}

// ---- inputs -----------------------------------------------------------------------------

/** Files inside a folder are filtered to images; files picked or dropped singly are not. */
function isImage(file) {
  return IMAGE_NAME.test(file.name) || file.type.startsWith('image/');
}

async function entryFiles(entry) {
  if (entry.isFile) {
    return new Promise((resolve) => entry.file((f) => resolve(isImage(f) ? [f] : []), () => resolve([])));
  }
  if (!entry.isDirectory) return [];
  const reader = entry.createReader();
  const out = [];
  for (;;) {
    const batch = await new Promise((resolve) => reader.readEntries(resolve, () => resolve([])));
    if (!batch.length) break;
    for (const e of batch) out.push(...(await entryFiles(e)));
  }
  return out;
}

async function droppedFiles(dt) {
  const entries = [...(dt.items || [])].map((i) => i.webkitGetAsEntry?.()).filter(Boolean);
  if (entries.some((e) => e.isDirectory)) {
    const lists = await Promise.all(entries.map(entryFiles));
    return lists.flat().sort((a, b) => a.name.localeCompare(b.name));
  }
  return [...dt.files];
}

function wireInputs() {
  const drop = $('#drop');
  const input = $('#file-input');
  input.addEventListener('change', () => { addFiles([...input.files]); input.value = ''; });
  const folder = $('#folder-input');
  $('#choose-folder').addEventListener('click', () => folder.click());
  folder.addEventListener('change', () => {
    addFiles([...folder.files].filter(isImage).sort((a, b) => a.webkitRelativePath.localeCompare(b.webkitRelativePath)));
    folder.value = '';
  });
  drop.addEventListener('click', () => input.click());
  drop.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); input.click(); }
  });
  for (const type of ['dragenter', 'dragover']) {
    drop.addEventListener(type, (e) => { e.preventDefault(); drop.classList.add('over'); });
  }
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', async (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    addFiles(await droppedFiles(e.dataTransfer));
  });
  window.addEventListener('dragover', (e) => e.preventDefault());
  window.addEventListener('drop', (e) => e.preventDefault());
  window.addEventListener('paste', (e) => {
    const files = [...(e.clipboardData?.files || [])].filter((f) => f.type.startsWith('image/'));
    if (files.length) {
      e.preventDefault();
      addFiles(files.map((f, i) => (f.name && f.name !== 'image.png' ? f
        : new File([f], `pasted-${Date.now()}-${i}.${f.type.split('/')[1] || 'png'}`, { type: f.type }))));
    }
  });
}

// ---- editor controls --------------------------------------------------------------------

function showSettings() {
  $('#feather-out').textContent = `${$('#feather').value} px`;
  $('#shift-out').textContent = `${$('#shift-edge').value} px`;
  $('#decon-out').textContent = `${Math.round($('#decontaminate').value * 100)}%`;
}

let refineTimer = null;
function scheduleRefine(job) {
  clearTimeout(refineTimer);
  refineTimer = setTimeout(() => job.refine(), 250);
}

function background() {
  const kind = $('#bg-kind').value;
  const hex = { white: '#ffffff', black: '#000000', checker: '#ffffff', colour: $('#bg-colour').value }[kind];
  const colour = hex ? [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)) : [255, 255, 255];
  return { colour, image: kind === 'image' ? $('#bg-image').files[0] || null : null };
}

const SLIDERS = { '#feather': 'feather', '#shift-edge': 'shift_edge', '#decontaminate': 'decontaminate' };
const MENUS = { '#method': 'method', '#escalate': 'escalate' };

/** Sliders and menus take their range, choices and default from the Python options (shared/options.js). */
function applyOptionSpecs() {
  for (const [sel, key] of Object.entries(SLIDERS)) {
    Object.assign($(sel), { min: PIPELINE[key].min, max: PIPELINE[key].max, value: SETTINGS[key] });
  }
  for (const [sel, key] of Object.entries(MENUS)) {
    const menu = $(sel);
    const { choices } = PIPELINE[key];
    for (const option of [...menu.options]) if (!choices.includes(option.value)) option.remove();
    for (const value of choices) {
      if (![...menu.options].some((o) => o.value === value)) menu.add(new Option(value, value));
    }
    menu.value = SETTINGS[key];
  }
}

function wireEditor() {
  applyOptionSpecs();
  showSettings();
  viewer = new Viewer($('#editor'), { onStrokesChanged: (job) => scheduleRefine(job) });
  for (const r of document.querySelectorAll('input[name=view]')) r.addEventListener('change', () => viewer.setView(r.value));
  for (const r of document.querySelectorAll('input[name=tool]')) {
    r.addEventListener('change', () => {
      viewer.tool = r.value;
      viewer.showCursor();
      $('#viewport').classList.toggle('painting', r.value !== 'pan');
    });
  }
  $('#brush-size').addEventListener('input', (e) => { viewer.brush = Number(e.target.value); });
  $('#clear-strokes').onclick = () => viewer.clearStrokes();
  for (const [sel, key] of Object.entries(SLIDERS)) {
    $(sel).addEventListener('input', (e) => {
      showSettings();
      if (!selected) return;
      selected.settings[key] = Number(e.target.value);
      scheduleRefine(selected);
    });
  }
  for (const [sel, key] of Object.entries(MENUS)) {
    $(sel).addEventListener('change', (e) => {
      if (!selected) return;
      selected.settings[key] = e.target.value;
      selected.refine({ full: true });
    });
  }
  $('#show-problems').addEventListener('change', () => selected && showProblems(selected));
  $('#zoom-fit').onclick = () => viewer.zoomFit();
  $('#zoom-100').onclick = () => { const r = $('#viewport').getBoundingClientRect(); viewer.zoomAt(1, r.width / 2, r.height / 2); };
  $('#zoom-in').onclick = () => viewer.zoomBy(1.25);
  $('#zoom-out').onclick = () => viewer.zoomBy(0.8);
  $('#bg-kind').addEventListener('change', () => {
    const kind = $('#bg-kind').value;
    $('#bg-colour').hidden = kind !== 'colour';
    $('#bg-image').hidden = kind !== 'image';
    if (kind === 'image' && !$('#bg-image').files[0]) $('#bg-image').click();
    viewer.setBackground(kind, kind === 'colour' ? $('#bg-colour').value : $('#bg-image').files[0]);
  });
  $('#bg-colour').addEventListener('input', () => viewer.setBackground('colour', $('#bg-colour').value));
  $('#bg-image').addEventListener('change', () => viewer.setBackground('image', $('#bg-image').files[0]));
  $('#download').onclick = async () => {
    if (!selected?.result) return;
    const fmt = $('#out-format').value;
    await saving(async (signal) => download(await selected.output(fmt, background(), signal), OUTPUT_NAMES[fmt](selected.name)));
  };
  $('#copy').onclick = async () => {
    if (!selected?.result) return;
    await saving(async () => {
      await navigator.clipboard.write([new ClipboardItem({ 'image/png': selected.result.blob })]);
      return 'Copied';
    });
  };
  $('#download-all').onclick = () => saving(async (signal) => {
    const done = jobs.filter((j) => j.result).map((j) => ({ name: OUTPUT_NAMES.png(j.name), blob: j.result.blob }));
    download(await zipBlob(done, signal), 'alphacut.zip');
  }, 'zip');
  for (const where of ['save', 'zip']) $(`#${where}-cancel`).onclick = () => saves[where]?.abort();
}

/** The save running in each place ('save': the editor's, 'zip': Download all), to cancel it. */
const saves = {};

/** Run one save, `fn(signal)`, with its state in `#<where>-status` and a Cancel button beside it.
 * A new save in the same place replaces one still running there. */
async function saving(fn, where = 'save') {
  saves[where]?.abort();
  const control = new AbortController();
  saves[where] = control;
  const status = $(`#${where}-status`);
  const cancel = $(`#${where}-cancel`);
  status.textContent = 'Preparing…';
  cancel.hidden = false;
  try {
    status.textContent = (await fn(control.signal)) || 'Saved';
  } catch (e) {
    if (saves[where] === control) status.textContent = e.name === 'AbortError' ? 'Cancelled' : `Failed: ${e.message}`;
  } finally {
    if (saves[where] === control) { saves[where] = null; cancel.hidden = true; }
  }
}

// ---- modes ------------------------------------------------------------------------------

function wireModes() {
  const tabs = [['#tab-cutout', '#mode-cutout'], ['#tab-merge', '#mode-merge']];
  for (const [tab, panel] of tabs) {
    $(tab).addEventListener('click', () => {
      for (const [t, p] of tabs) {
        $(t).setAttribute('aria-selected', String(t === tab));
        $(p).hidden = p !== panel;
      }
    });
  }
  window.alphacut.merge = new EditMerge($('#mode-merge'), bridge);
}

// ---- storage ----------------------------------------------------------------------------

async function wireStorage() {
  const show = async () => { $('#storage-size').textContent = await describeUsage(); };
  $('#clear-cache').onclick = async () => {
    $('#clear-status').textContent = 'Clearing…';
    try {
      const freed = await clearAll();
      $('#clear-status').textContent = `Cleared: ${formatBytes(freed)} freed. The model downloads again next time.`;
    } catch (e) {
      $('#clear-status').textContent = `Could not clear: ${e.message}`;
    }
    show();
  };
  await show();
}

/** A hint for errors that come from having no network (nothing cached yet). */
function offlineNote(error) {
  const network = !navigator.onLine || /Failed to fetch|NetworkError|did not load/.test(error.message);
  return network ? ' You appear to be offline: the first visit needs a connection to this site.' : '';
}

async function main() {
  wireInputs(); // from the first moment: photos chosen now wait for the bridge (addFiles)
  window.alphacutInputs = true; // for the end-to-end tests
  // The page reloads once to become isolated; photos chosen so far are handed across it.
  if (!(await ensureIsolation({ beforeReload: () => stash(waiting) }))) return;
  watchUpdates(window.alphacutServiceWorker, {
    onWaiting: (activate) => offerUpdate('A new version is ready.', activate),
    onTakenOver: () => offerUpdate('A new version was started in another tab: reload this one to use it.',
      () => location.reload()),
  });
  const params = new URLSearchParams(location.search);
  const fromUrl = Object.fromEntries(['backend', 'variant'].filter((k) => params.get(k)).map((k) => [k, params.get(k)]));
  options = validate({ ...DEFAULTS, ...fromUrl });
  bridge = new Bridge({
    backend: options.backend,
    variant: options.variant,
    onProgress: initProgress,
    onLog: (m) => console[m.level === 'warn' ? 'warn' : 'log'](m.message),
  });
  window.alphacut = { bridge, jobs }; // for the console and the end-to-end tests
  const early = [...(await take()), ...waiting];
  waiting = [];
  addFiles(early);
  wireEditor();
  wireModes();
  try {
    await bridge.settled('ready');
  } catch (e) {
    const offline = offlineNote(e);
    setStatus(`Could not start: ${e.message}.${offline}`, 0, 'error');
    wireStorage();
    return;
  }
  setStatus('Loading the model… Photos on a plain studio background can already be cut out (colour key).', null);
  try {
    const about = await bridge.settled('modelReady');
    const cacheNote = about.cache.startsWith('off') ? ' Model cache is off (storage unavailable): it downloads each visit.' : '';
    const threads = about.threads ? `, ${about.threads} thread${about.threads > 1 ? 's' : ''}${about.threadLimit ? ` (${about.threadLimit})` : ''}` : '';
    setStatus(`Ready: ${about.backend.toUpperCase()}${threads}. Drop photos to start.${cacheNote}`, 1, 'ready');
    about.crashDetection = navigator.locks ? 'Web Locks: a worker that stops is restarted at once'
      : `this browser has no Web Locks: a worker that stops silently is noticed by the watchdog (${bridge.jobLimitMs / 60000} min)`;
    $('#about-text').textContent = JSON.stringify(about, null, 2);
    // Not awaited before "Ready": Firefox asks the user before it grants persistent storage, and
    // its promise waits for the answer (for ever under automation, where the status line stayed
    // at "Loading the model…").
    persist().then((persisted) => {
      about.persistentStorage = persisted;
      $('#about-text').textContent = JSON.stringify(about, null, 2);
    });
  } catch (e) {
    const offline = offlineNote(e);
    // A stopped bridge has no worker left, so not even the colour key works until a reload.
    const keyed = bridge.stopped ? '' : ' Photos on a plain studio background can still be cut out (colour key).';
    setStatus(`Could not load the model: ${e.message}.${offline}${keyed}`, 0, 'error');
  }
  wireStorage();
}

main();
