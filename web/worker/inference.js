// ONNX Runtime Web behind one async `infer(x) -> Float32Array` callable.
// WebGPU when a real adapter exists and the graph runs there; else WASM, threaded when the
// page is cross-origin isolated. Any WebGPU failure falls back to WASM, and says why.

const ORT_DIR = new URL('../vendor/ort/', import.meta.url).href;

async function realAdapter() {
  if (!('gpu' in navigator)) return { adapter: null, why: 'navigator.gpu is absent' };
  try {
    const adapter = await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) return { adapter: null, why: 'no WebGPU adapter' };
    const info = adapter.info || {};
    return { adapter, fallback: Boolean(info.isFallbackAdapter), why: `${info.vendor || '?'} ${info.architecture || ''}`.trim() };
  } catch (e) {
    return { adapter: null, why: `requestAdapter failed: ${e.message || e}` };
  }
}

/**
 * Why WASM runs on one thread, or '' when it may use several. Threads need a cross-origin
 * isolated page, SharedArrayBuffer and workers started from a worker; WebKitGTK 2.50 is
 * isolated but has no SharedArrayBuffer.
 */
export function threadLimit() {
  if (!self.crossOriginIsolated) return 'the page is not cross-origin isolated';
  if (typeof SharedArrayBuffer === 'undefined') return 'this browser has no SharedArrayBuffer';
  // ONNX Runtime's threads are workers, started from this one (Safari before 15.5 cannot).
  if (typeof Worker === 'undefined') return 'this browser cannot start a worker from a worker';
  return '';
}

async function loadOrt(webgpu, maxThreads) {
  const ort = await import(webgpu ? '../vendor/ort/ort.webgpu.min.mjs' : '../vendor/ort/ort.wasm.min.mjs');
  ort.env.wasm.wasmPaths = ORT_DIR;
  ort.env.wasm.numThreads = threadLimit() ? 1 : Math.max(1, Math.min(maxThreads, navigator.hardwareConcurrency || 1));
  ort.env.wasm.proxy = false;
  ort.env.logLevel = 'error';
  return ort;
}

/**
 * A graph the build optimised already (`optimised` in its manifest entry: onnxruntime's level,
 * applied offline and checked to give the same output) runs with optimisation disabled, so that
 * the session is not rewritten again in every tab; any other at level 'all'.
 */
async function createSession(ort, modelBytes, ep, entry) {
  return ort.InferenceSession.create(new Uint8Array(modelBytes), {
    executionProviders: [ep],
    graphOptimizationLevel: entry.optimised ? 'disabled' : 'all',
  });
}

/**
 * The manifest variant prepared for execution provider `ep` ('wasm' | 'webgpu'): the first
 * whose `backends` names it. The manifest says why (`why`), and the about panel shows it.
 */
export function variantFor(manifest, ep, choice = 'auto') {
  if (choice !== 'auto') {
    if (!manifest.variants[choice]) throw new Error(`the model manifest has no variant ${choice}`);
    return choice;
  }
  const hit = Object.entries(manifest.variants).find(([, v]) => (v.backends || []).includes(ep));
  if (!hit) throw new Error(`the model manifest has no variant for ${ep}`);
  return hit[0];
}

/**
 * Create the inference callable.
 * @param {object} manifest  model manifest ({input, output, variants})
 * @param {'auto'|'wasm'|'webgpu'} backend
 * @param {(variant: string) => Promise<ArrayBuffer>} load  verified bytes of a variant's graph
 * @param {'auto'|string} choice  a manifest variant to use on every backend, or 'auto'
 * @param {number} maxThreads  at most this many WASM threads (1 after a threaded start stalled)
 * @returns {{infer, backend: string, variant: string, threads: number, note: string, sessionMs: number}}
 */
export async function createInference(manifest, backend, load, choice = 'auto', maxThreads = 4) {
  const inputName = manifest.input.name;
  const outputName = manifest.output.name;
  const shape = manifest.input.shape;
  let note = '';
  let ort = null;
  let session = null;
  let ep = 'wasm';
  let variant = null;
  let sessionMs = 0;
  const timedSession = async (bytes, which) => {
    const t = performance.now();
    try {
      return await createSession(ort, bytes, which, manifest.variants[variant]);
    } finally {
      sessionMs += performance.now() - t;
    }
  };
  if (backend !== 'wasm') {
    const { adapter, fallback, why } = await realAdapter();
    if (adapter && (backend === 'webgpu' || !fallback)) {
      try {
        ort = await loadOrt(true, maxThreads);
        variant = variantFor(manifest, 'webgpu', choice);
        session = await timedSession(await load(variant), 'webgpu');
        ep = 'webgpu';
        note = `WebGPU adapter: ${why}`;
      } catch (e) {
        note = `WebGPU failed (${e.message || e}); using WASM`;
        session = null;
      }
    } else {
      note = adapter ? `WebGPU adapter is a software fallback (${why}); using WASM` : `${why}; using WASM`;
    }
  }
  async function useWasm() {
    ort = await loadOrt(false, maxThreads);
    variant = variantFor(manifest, 'wasm', choice);
    session = await timedSession(await load(variant), 'wasm');
    ep = 'wasm';
  }
  if (!session) await useWasm();
  const threads = ep === 'wasm' ? ort.env.wasm.numThreads : 0;

  async function runOnce(data) {
    const tensor = new ort.Tensor('float32', data, shape);
    const out = await session.run({ [inputName]: tensor });
    const alpha = out[outputName];
    const result = alpha.location === 'gpu-buffer' ? await alpha.getData() : alpha.data;
    tensor.dispose?.();
    alpha.dispose?.();
    return result;
  }

  /** `data`: the (1, 3, R, C) input, a Float32Array of its own (not a view of Python's heap). */
  async function infer(data) {
    try {
      return await runOnce(data);
    } catch (e) {
      if (ep !== 'webgpu') throw e;
      note = `WebGPU run failed (${e.message || e}); fell back to WASM`;
      await useWasm();
      Object.assign(api, { backend: 'wasm', variant, threads: ort.env.wasm.numThreads, note });
      return runOnce(data);
    }
  }
  const api = { infer, backend: ep, variant, threads, note, sessionMs: Math.round(sessionMs) };
  return api;
}
