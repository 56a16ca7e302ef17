// The processing worker: Pyodide runs the alphacut pipeline; the model runs in a worker of its own
// (model-worker.js), which this one starts.
// Init is staged behind one ready promise: runtime -> packages -> alphacut wheel -> model.
// Messages in: {id, type: 'init' | 'model' | 'cutout' | 'warmup' | ..., ...}. Replies: {id,
// type: 'result' | 'error' | 'progress' | 'log', ...}; a 'ping' gets a 'pong' at once.
// Progress is (key, current, total) with fetch:/compute: prefixes.
import { loadPyodide } from '../vendor/pyodide/pyodide.mjs';
import { holdLife } from './life.js';

const SITE = new URL('../', import.meta.url);
let site = null; // build-info.json and the model manifest
let ready = null; // Python and the pipeline
let modelReady = null; // the model session (later; colour key does not wait for it)
let modelLoaded = false;

function post(msg, transfer = []) {
  self.postMessage(msg, transfer);
}

async function fetchJson(path) {
  const res = await fetch(new URL(path, SITE));
  if (!res.ok) throw new Error(`fetching ${path} failed: HTTP ${res.status}`);
  return res.json();
}

/** Stage 1: Python with the pipeline. Colour-key cut-outs need nothing more. */
async function initPython(id) {
  const progress = (key, current, total) => post({ id, type: 'progress', key, current, total });
  const ms = {};
  let t = performance.now();
  const lap = (stage) => { const now = performance.now(); ms[stage] = Math.round(now - t); t = now; };
  const { info } = await site;
  const wheel = fetch(new URL(info.wheel, SITE)).then((res) => {
    if (!res.ok) throw new Error(`fetching ${info.wheel} failed: HTTP ${res.status}`);
    return res.arrayBuffer();
  });
  wheel.catch(() => {}); // awaited below; no unhandled rejection while Pyodide loads
  progress('compute:runtime', 0, 1);
  const pyodide = await loadPyodide({ indexURL: new URL('vendor/pyodide/', SITE).href });
  lap('pyodide');
  progress('compute:packages', 0, 1);
  await pyodide.loadPackage(info.pyodide_packages, { messageCallback: () => {}, errorCallback: (m) => post({ type: 'log', level: 'warn', message: m }) });
  lap('packages');
  progress('compute:wheel', 0, 1);
  // A pure-Python wheel with no dependencies needs no installer: unpack it into site-packages.
  const sitePackages = pyodide.runPython("import sysconfig; sysconfig.get_paths()['purelib']");
  pyodide.unpackArchive(await wheel, 'wheel', { extractDir: sitePackages });
  pyodide.runPython('import importlib; importlib.invalidate_caches()');
  const api = pyodide.pyimport('alphacut.runtime.worker_api');
  const pythonPackage = `alphacut ${pyodide.runPython('import alphacut; alphacut.__version__')}`;
  lap('wheel');
  return { api, ms, pythonPackage };
}

async function siteInfo() {
  const info = await fetchJson('build-info.json');
  return { info, manifest: await fetchJson(info.model.manifest) };
}

/**
 * The model's host (model-host.js) behind `call(msg, onProgress, transfer)`, which resolves to
 * its result: in a worker of its own (model-worker.js), or on this thread where a worker cannot
 * start another (Safari before 15.5). A model worker that could not start fails every call with
 * the reason (the page then says the model could not load; the colour key still works). One
 * that stops after it started (killed for memory, say) takes this worker down with it, so that
 * the page's bridge notices, as it does when this one dies, and starts both afresh.
 */
function modelHost() {
  const pending = new Map();
  let nextId = 1;
  let alive = false;
  let dead = null;
  const died = (reason) => {
    if (dead) return;
    dead = new Error(reason);
    if (alive) {
      post({ type: 'log', level: 'warn', message: reason });
      self.close();
      return;
    }
    for (const { reject } of pending.values()) reject(dead);
    pending.clear();
  };
  const lock = `alphacut-model-${crypto.randomUUID()}`;
  const receive = (msg) => {
    if (msg.type === 'alive') {
      alive = true;
      navigator.locks?.request(lock, () => died("the model's worker stopped (it may have run out of memory)"));
      return;
    }
    const entry = pending.get(msg.id);
    if (!entry) return;
    if (msg.type === 'progress') { entry.onProgress?.(msg.key, msg.current, msg.total); return; }
    pending.delete(msg.id);
    if (msg.type === 'error') entry.reject(new Error(msg.message));
    else entry.resolve(msg);
  };
  let send;
  if (typeof Worker === 'undefined') {
    const host = import('./model-host.js');
    send = (msg) => host.then(({ handle }) => handle(msg, receive))
      .catch((e) => receive({ id: msg.id, type: 'error', message: String((e && e.message) || e) }));
  } else {
    const worker = new Worker(new URL('./model-worker.js', import.meta.url), { type: 'module', name: 'alphacut-model' });
    worker.onmessage = ({ data }) => receive(data);
    worker.onerror = (e) => {
      e.preventDefault();
      died(alive ? `the model's worker crashed: ${e.message || 'unknown error'}`
        : `the model's worker could not start: ${e.message || 'its script did not load'}`);
    };
    worker.postMessage({ type: 'live', lock });
    send = (msg, transfer) => worker.postMessage(msg, transfer);
  }
  const call = (msg, onProgress = null, transfer = []) => {
    if (dead) return Promise.reject(dead);
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject, onProgress });
      send({ ...msg, id }, transfer);
    });
  };
  return { call };
}

/**
 * Stage 2: the verified model and its inference session, in the model's worker (modelHost). It needs no
 * Python, so it runs alongside stage 1; it resolves once both are done, with both stages'
 * timings. `threads` ({max, why}, optional) caps the WASM threads, and says why (the bridge's
 * stall restart).
 */
async function initModel(id, backend, variantChoice, threads) {
  const t0 = performance.now();
  const { info, manifest } = await site;
  const progress = (key, current, total) => post({ id, type: 'progress', key, current, total });
  const remote = modelHost();
  const made = await remote.call({ type: 'create', site: SITE.href, manifest, backend, variantChoice, maxThreads: threads?.max }, progress);
  const ms = { model: made.modelMs, session: made.sessionMs, modelWall: Math.round(performance.now() - t0) };
  // `backend` follows each run: a WebGPU run that fails falls back to WASM there.
  const inference = { backend: made.backend };
  /** `x` is a PyProxy of a (1, 3, R, C) float32 numpy array: copied out of Python's heap before any await. */
  inference.infer = async (x) => {
    const view = x.getBuffer('f32');
    let data;
    try {
      data = view.data.slice();
    } finally {
      view.release();
    }
    const out = await remote.call({ type: 'infer', data }, null, [data.buffer]);
    inference.backend = out.backend;
    return out.alpha;
  };
  const python = await ready;
  modelLoaded = true;
  const variant = manifest.variants[made.variant];
  // Only the graph in use stays stored (not an older build's, nor one a fallback passed over).
  const pruned = made.caches.some((c) => c.startsWith('off')) ? 0
    : await remote.call({ type: 'prune', keep: [variant.sha256] }).then((r) => r.removed, () => 0);
  return {
    inference,
    about: {
      version: info.version,
      build: info.build,
      python: python.pythonPackage,
      model: `${manifest.name} ${made.variant} (${variant.sha256.slice(0, 12)}…)`,
      variantWhy: variantChoice === 'auto' ? variant.why : `asked for (?variant=${variantChoice})`,
      backend: made.backend,
      threads: made.threads,
      threadLimit: made.backend === 'wasm' ? made.threadLimit || threads?.why || '' : '',
      crossOriginIsolated: self.crossOriginIsolated,
      note: made.note,
      cache: made.caches.join(', then '),
      storedModelsRemoved: pruned,
      initMs: { ...python.ms, ...ms },
    },
  };
}

/** Copy a Python bytes object out of Pyodide into a fresh Uint8Array, and free it. */
function takeBytes(pyBytes) {
  const view = pyBytes.getBuffer('u8');
  try {
    return view.data.slice();
  } finally {
    view.release();
    pyBytes.destroy();
  }
}

/** Call a Python function returning a tuple; convert each item with `convert[i]`. */
async function callTuple(fn, args, convert) {
  const result = await fn(...args);
  try {
    return convert.map((f, i) => f(result.get(i)));
  } finally {
    result.destroy();
  }
}

async function cutout(id, msg) {
  const { api } = await ready;
  const progress = (key) => post({ id, type: 'progress', key, current: 0, total: 1 });
  const t0 = performance.now();
  progress(msg.coarse ? 'compute:refine' : 'compute:decode');
  let backend = 'none (colour key or post-processing only)';
  const infer = async (x) => {
    if (!modelReady) throw new Error('the model is not loaded');
    progress('compute:infer');
    const { inference } = await modelReady;
    backend = inference.backend;
    const out = await inference.infer(x);
    progress('compute:finish');
    return out;
  };
  // The second pass never waits for a model that is still downloading: the first result stands.
  const hqInfer = async (x) => {
    if (!modelLoaded) throw new Error('the model is still loading');
    return infer(x);
  };
  const options = { ...msg.options };
  if (msg.strokes) options.strokes_shape = msg.strokesShape;
  const [png, coarse, reportJson] = await callTuple(api.process, [
    new Uint8Array(msg.bytes), JSON.stringify(options), msg.coarse ? null : infer,
    msg.coarse ? new Uint8Array(msg.coarse) : null, msg.strokes ? new Uint8Array(msg.strokes) : null,
    msg.coarse ? null : hqInfer,
  ], [takeBytes, takeBytes, (s) => s]);
  const report = JSON.parse(reportJson);
  report.backend = backend;
  report.total_ms = Math.round(performance.now() - t0);
  return { png: png.buffer, coarse: coarse.buffer, report };
}

async function exportAs(msg) {
  const { api } = await ready;
  const bg = msg.backgroundImage ? new Uint8Array(msg.backgroundImage) : null;
  const bytes = takeBytes(await api.export(new Uint8Array(msg.png), msg.format, JSON.stringify(msg.colour || null), bg));
  return { bytes: bytes.buffer };
}

async function merge(id, msg) {
  const { api } = await ready;
  post({ id, type: 'progress', key: 'compute:merge', current: 0, total: 1 });
  const opt = (b) => (b ? new Uint8Array(b) : null);
  const [composite, mask, labels, reportJson] = await callTuple(api.merge_edit, [
    new Uint8Array(msg.original), new Uint8Array(msg.edited), JSON.stringify(msg.options || {}),
    opt(msg.protect), opt(msg.force),
  ], [takeBytes, takeBytes, takeBytes, (s) => s]);
  return { composite: composite.buffer, mask: mask.buffer, labels: labels.buffer, report: JSON.parse(reportJson) };
}

async function problems(msg) {
  const { api } = await ready;
  return { bytes: takeBytes(await api.problems(new Uint8Array(msg.original), new Uint8Array(msg.png))).buffer };
}

/** A file's size and first bytes checked before the page reads it whole: '' or 'AVIF', or an error. */
async function precheck(msg) {
  const { api } = await ready;
  return { kind: api.precheck(new Uint8Array(msg.head), msg.size) };
}

/** A made-up cut-out, so that the first real photo does not pay for first calls (the page asks
 * once Python and the model are ready and nothing waits; worker_api.warm_up). */
async function warmUp() {
  const { api } = await ready;
  const t0 = performance.now();
  const report = JSON.parse(await api.warm_up());
  return { ms: Math.round(performance.now() - t0), verdict: report.quality.verdict };
}

const HANDLERS = {
  cutout, merge, export: (id, msg) => exportAs(msg), problems: (id, msg) => problems(msg),
  precheck: (id, msg) => precheck(msg), warmup: () => warmUp(),
};

self.onmessage = async (event) => {
  const msg = event.data;
  try {
    if (msg.type === 'live') {
      holdLife(msg.lock, post); // the bridge's watch
    } else if (msg.type === 'ping') {
      post({ type: 'pong' }); // the bridge's start watchdog: this thread is not stuck
    } else if (msg.type === 'init') {
      site = site || siteInfo();
      ready = ready || initPython(msg.id);
      const { ms } = await ready;
      post({ id: msg.id, type: 'result', initMs: ms });
    } else if (msg.type === 'model') {
      if (!ready) throw new Error('worker asked for the model before init');
      modelReady = modelReady || initModel(msg.id, msg.backend || 'auto', msg.variant || 'auto', msg.threads);
      const { about } = await modelReady;
      post({ id: msg.id, type: 'result', about });
    } else if (HANDLERS[msg.type]) {
      if (!ready) throw new Error('worker used before init');
      const out = await HANDLERS[msg.type](msg.id, msg);
      post({ id: msg.id, type: 'result', ...out }, Object.values(out).filter((v) => v instanceof ArrayBuffer));
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
