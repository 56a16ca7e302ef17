// The page: file picker and drag-and-drop in, a job list with previews and downloads out.
// All heavy work goes through the bridge to the worker.
import { Bridge } from './bridge.js';
import { ensureIsolation } from './isolation.js';
import { DEFAULTS, pipelineOptions, validate } from '../shared/config.js';
import { formatBytes } from '../shared/format.js';

const STAGES = {
  'compute:runtime': 'Starting Python (Pyodide)…',
  'compute:packages': 'Loading numpy and Pillow…',
  'compute:wheel': 'Installing the alphacut pipeline…',
  'compute:verify': 'Verifying the model…',
  'compute:session': 'Preparing the model…',
  'compute:decode': 'Decoding…',
  'compute:infer': 'Finding the subject…',
  'compute:finish': 'Refining and encoding…',
};

const $ = (sel) => document.querySelector(sel);

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
    setStatus(STAGES[key] || key, null);
  }
}

function outputName(name) {
  const dot = name.lastIndexOf('.');
  return `${dot > 0 ? name.slice(0, dot) : name}_no_bg.png`;
}

function el(tag, props = {}, children = []) {
  const node = Object.assign(document.createElement(tag), props);
  for (const c of children) node.append(c);
  return node;
}

function addJob(bridge, file, options) {
  const state = el('span', { className: 'job-state', textContent: 'Queued' });
  const cancel = el('button', { type: 'button', textContent: 'Cancel' });
  const head = el('div', { className: 'job-head' }, [el('span', { className: 'job-name', textContent: file.name }), state, cancel]);
  const item = el('li', { className: 'job' }, [head]);
  $('#jobs').prepend(item);
  const controller = new AbortController();
  cancel.onclick = () => controller.abort();

  const run = async () => {
    const bytes = await file.arrayBuffer();
    const { png, report } = await bridge.cutout(bytes, pipelineOptions(options), {
      signal: controller.signal,
      onProgress: (key) => { state.textContent = STAGES[key] || key; },
    });
    const blob = new Blob([png], { type: 'image/png' });
    const url = URL.createObjectURL(blob);
    const seconds = (report.total_ms / 1000).toFixed(1);
    state.textContent = `Done: ${report.width}×${report.height}, ${formatBytes(blob.size)}, ${seconds} s (${report.backend})`;
    const img = el('img', { src: url, alt: `${file.name} without its background` });
    const download = el('a', { className: 'button primary', href: url, download: outputName(file.name), textContent: 'Download PNG' });
    cancel.replaceWith(download);
    item.dataset.state = 'done';
    item.append(el('div', { className: 'checker' }, [img]));
  };
  run().catch((e) => {
    item.classList.add('error');
    item.dataset.state = e.name === 'AbortError' ? 'cancelled' : 'error';
    state.textContent = e.name === 'AbortError' ? 'Cancelled' : `Failed: ${e.message}`;
    cancel.remove();
  });
}

function wireInputs(onFiles) {
  const drop = $('#drop');
  const input = $('#file-input');
  input.addEventListener('change', () => { onFiles([...input.files]); input.value = ''; });
  drop.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') input.click(); });
  for (const type of ['dragenter', 'dragover']) {
    drop.addEventListener(type, (e) => { e.preventDefault(); drop.classList.add('over'); });
  }
  for (const type of ['dragleave', 'drop']) {
    drop.addEventListener(type, () => drop.classList.remove('over'));
  }
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    onFiles([...e.dataTransfer.files]);
  });
  window.addEventListener('dragover', (e) => e.preventDefault());
  window.addEventListener('drop', (e) => e.preventDefault());
}

async function main() {
  if (!(await ensureIsolation())) return; // the page reloads once to become isolated
  const params = new URLSearchParams(location.search);
  const options = validate({ ...DEFAULTS, ...(params.get('backend') ? { backend: params.get('backend') } : {}) });
  const bridge = new Bridge({
    backend: options.backend,
    onProgress: initProgress,
    onLog: (m) => console[m.level === 'warn' ? 'warn' : 'log'](m.message),
  });
  window.alphacut = { bridge }; // for the console and the end-to-end tests
  wireInputs((files) => files.forEach((f) => addJob(bridge, f, options)));
  try {
    const about = await bridge.ready;
    setStatus(`Ready: ${about.backend.toUpperCase()}${about.threads ? `, ${about.threads} threads` : ''}. Drop photos to start.`, 1, 'ready');
    $('#about-text').textContent = JSON.stringify(about, null, 2);
  } catch (e) {
    setStatus(`Could not start: ${e.message}`, 0, 'error');
  }
}

main();
