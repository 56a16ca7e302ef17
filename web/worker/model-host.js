// The model's side of the processing worker (worker.js): the verified graph (model-store.js)
// and its ONNX Runtime session (inference.js), behind one message handler. It runs in a worker
// of its own (model-worker.js), so that creating the session does not hold up Python's start
// on the processing worker's thread, as it did when both shared it ("Start-up: the model in a
// worker of its own", BENCHMARKS.md); in the processing worker itself only where a worker
// cannot start another (Safari before 15.5).
// Messages in: {id, type: 'live' | 'create' | 'infer' | 'prune', ...}. Replies through the handler's `post`:
// {id, type: 'result' | 'error' | 'progress', ...}, and {type: 'alive'} for 'live'.
import { createInference, threadLimit } from './inference.js';
import { holdLife } from './life.js';
import { loadModel, pruneModels } from './model-store.js';

let inference = null;

/** What the processing worker shows of the session (the about panel). */
function describe() {
  const { backend, variant, threads, note } = inference;
  return { backend, variant, threads, note, threadLimit: backend === 'wasm' ? threadLimit() : '' };
}

/**
 * Load the verified graph for `backend` and create its session. `site` is the site's base URL;
 * `maxThreads` caps the WASM threads (undefined: inference.js's default).
 */
async function create({ site, manifest, backend, variantChoice, maxThreads }, progress) {
  if (inference) throw new Error('the model session exists already');
  let modelMs = 0;
  const caches = [];
  const load = async (name) => {
    const t = performance.now();
    const variant = manifest.variants[name];
    const model = await loadModel(
      { url: new URL(`models/${variant.file}`, site).href, sha256: variant.sha256, size: variant.size },
      progress,
    );
    caches.push(model.cache);
    modelMs += Math.round(performance.now() - t);
    progress('compute:session', 0, 1);
    return model.bytes;
  };
  inference = await createInference(manifest, backend, load, variantChoice, maxThreads);
  return { ...describe(), sessionMs: inference.sessionMs, modelMs, caches };
}

/** Run the model on `data` (a transferred Float32Array); the alpha comes back transferred. */
async function infer({ data }) {
  if (!inference) throw new Error('the model is not loaded');
  const result = await inference.infer(data);
  // Transferred whole, so a copy unless it owns its buffer (ORT may hand out a view).
  const own = result.buffer instanceof ArrayBuffer && result.byteOffset === 0
    && result.byteLength === result.buffer.byteLength;
  const alpha = own ? result : result.slice();
  // The backend can change here: a WebGPU run that fails falls back to WASM (inference.js).
  return { out: { alpha, backend: inference.backend }, transfer: [alpha.buffer] };
}

/** Handle one message; replies go to `post(msg, transfer)`. */
export async function handle(msg, post) {
  try {
    if (msg.type === 'live') {
      holdLife(msg.lock, post); // the processing worker's watch (worker.js, modelHost)
    } else if (msg.type === 'create') {
      post({ id: msg.id, type: 'result', ...(await create(msg, (key, current, total) => post({ id: msg.id, type: 'progress', key, current, total }))) });
    } else if (msg.type === 'infer') {
      const { out, transfer } = await infer(msg);
      post({ id: msg.id, type: 'result', ...out }, transfer);
    } else if (msg.type === 'prune') {
      post({ id: msg.id, type: 'result', removed: await pruneModels(msg.keep) });
    } else {
      throw new Error(`unknown message type: ${msg.type}`);
    }
  } catch (e) {
    post({ id: msg.id, type: 'error', message: String((e && e.message) || e) });
  }
}
