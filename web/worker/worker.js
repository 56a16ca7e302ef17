// The processing worker: Pyodide runs the alphacut pipeline, ORT-web runs the model.
// Init is staged behind one ready promise: runtime -> packages -> alphacut wheel -> model.
// Messages in: {id, type: 'init' | 'cutout', ...}. Replies: {id, type: 'result' | 'error' |
// 'progress' | 'log', ...}. Progress is (key, current, total) with fetch:/compute: prefixes.
import { loadPyodide } from '../vendor/pyodide/pyodide.mjs';
import { createInference } from './inference.js';
import { loadModel } from './model-store.js';

const SITE = new URL('../', import.meta.url);
let ready = null;

function post(msg, transfer = []) {
  self.postMessage(msg, transfer);
}

async function fetchJson(path) {
  const res = await fetch(new URL(path, SITE));
  if (!res.ok) throw new Error(`fetching ${path} failed: HTTP ${res.status}`);
  return res.json();
}

async function init(id, backend) {
  const progress = (key, current, total) => post({ id, type: 'progress', key, current, total });
  const ms = {};
  let t = performance.now();
  const lap = (stage) => { const now = performance.now(); ms[stage] = Math.round(now - t); t = now; };

  const info = await fetchJson('build-info.json');
  const manifest = await fetchJson(info.model.manifest);
  progress('compute:runtime', 0, 1);
  const pyodide = await loadPyodide({ indexURL: new URL('vendor/pyodide/', SITE).href });
  lap('pyodide');
  progress('compute:packages', 0, 1);
  await pyodide.loadPackage(info.pyodide_packages, { messageCallback: () => {}, errorCallback: (m) => post({ type: 'log', level: 'warn', message: m }) });
  lap('packages');
  progress('compute:wheel', 0, 1);
  const micropip = pyodide.pyimport('micropip');
  await micropip.install(new URL(info.wheel, SITE).href, { deps: false });
  micropip.destroy();
  const api = pyodide.pyimport('alphacut.worker_api');
  lap('wheel');
  const variant = manifest.variants[info.model.variant];
  const model = await loadModel(
    { url: new URL(`models/${variant.file}`, SITE).href, sha256: variant.sha256, size: variant.size },
    progress,
  );
  lap('model');
  progress('compute:session', 0, 1);
  const inference = await createInference(model.bytes, manifest, backend);
  lap('session');
  return {
    api,
    inference,
    about: {
      version: info.version,
      build: info.build,
      model: `${manifest.name} ${info.model.variant} (${variant.sha256.slice(0, 12)}…)`,
      backend: inference.backend,
      threads: inference.threads,
      crossOriginIsolated: self.crossOriginIsolated,
      note: inference.note,
      cache: model.cache,
      initMs: ms,
    },
  };
}

async function cutout(id, bytes, options) {
  const { api, inference } = await ready;
  const progress = (key) => post({ id, type: 'progress', key, current: 0, total: 1 });
  const t0 = performance.now();
  progress('compute:decode');
  const infer = async (x) => {
    progress('compute:infer');
    const out = await inference.infer(x);
    progress('compute:finish');
    return out;
  };
  const result = await api.process(new Uint8Array(bytes), JSON.stringify(options), infer);
  let png;
  let reportJson;
  try {
    const pyPng = result.get(0);
    reportJson = result.get(1);
    const view = pyPng.getBuffer('u8');
    try {
      png = view.data.slice();
    } finally {
      view.release();
      pyPng.destroy();
    }
  } finally {
    result.destroy();
  }
  const report = JSON.parse(reportJson);
  report.backend = inference.backend;
  report.total_ms = Math.round(performance.now() - t0);
  return { png, report };
}

self.onmessage = async (event) => {
  const msg = event.data;
  try {
    if (msg.type === 'init') {
      ready = ready || init(msg.id, msg.backend || 'auto');
      const { about } = await ready;
      post({ id: msg.id, type: 'result', about });
    } else if (msg.type === 'cutout') {
      if (!ready) throw new Error('worker used before init');
      const { png, report } = await cutout(msg.id, msg.bytes, msg.options);
      post({ id: msg.id, type: 'result', png: png.buffer, report }, [png.buffer]);
    } else {
      throw new Error(`unknown message type: ${msg.type}`);
    }
  } catch (e) {
    post({ id: msg.id, type: 'error', message: userMessage(e) });
  }
};

/** Python errors arrive as PythonError with a traceback; show the user its last line. */
function userMessage(e) {
  const text = String((e && e.message) || e);
  if (e && e.type) {
    const lines = text.trim().split('\n');
    return lines[lines.length - 1].replace(/^[\w.]*(DecodeError|ValueError): /, '');
  }
  return text;
}
