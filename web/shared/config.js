// Options the page sends with each job. One default each, validated once at the boundary.
import { PIPELINE } from './options.js';

export const DEFAULTS = Object.freeze({
  // Inference backend: 'auto' picks WebGPU when a real (non-fallback) adapter runs the graph,
  // else WASM. 'wasm' and 'webgpu' force one (webgpu still falls back to WASM on failure).
  backend: 'auto',
  // Model graph: 'auto' takes the manifest's variant for the backend that runs (int8 on WASM,
  // fp32 on WebGPU); 'fp32' or 'int8' forces one (?variant=fp32: exact, slower on WASM).
  variant: 'auto',
  // PNG zlib level for the cut-out: the pipeline's default and range (shared/options.js).
  compressLevel: PIPELINE.compress_level.default,
});

const BACKENDS = ['auto', 'wasm', 'webgpu'];
const VARIANTS = ['auto', 'fp32', 'int8'];

/** Merge `options` over DEFAULTS; throw a TypeError naming the first bad field. */
export function validate(options = {}) {
  const out = { ...DEFAULTS, ...options };
  for (const key of Object.keys(out)) {
    if (!(key in DEFAULTS)) throw new TypeError(`unknown option: ${key}`);
  }
  if (!BACKENDS.includes(out.backend)) throw new TypeError(`backend must be one of ${BACKENDS.join(', ')}`);
  if (!VARIANTS.includes(out.variant)) throw new TypeError(`variant must be one of ${VARIANTS.join(', ')}`);
  const { min, max } = PIPELINE.compress_level;
  if (!Number.isInteger(out.compressLevel) || out.compressLevel < min || out.compressLevel > max) {
    throw new TypeError(`compressLevel must be an integer in ${min}..${max}`);
  }
  return Object.freeze(out);
}

/** The page-wide options that the Python pipeline understands, with its names. */
export function pipelineOptions(options) {
  return { compress_level: options.compressLevel };
}
