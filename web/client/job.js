// One photo in the queue: its file, state, result, refine settings and strokes.
import { offscreen, pngBlob } from './canvas.js';
import { strokesMask } from './viewer.js';
import { PIPELINE } from '../shared/options.js';

const AVIF = /\.avif$/i;

export function baseName(name) {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(0, dot) : name;
}

/** The refine settings a photo starts with: the pipeline's own defaults (shared/options.js). */
export const SETTINGS = Object.freeze(Object.fromEntries(
  ['feather', 'shift_edge', 'decontaminate', 'method', 'escalate'].map((key) => [key, PIPELINE[key].default])));

export const OUTPUT_NAMES = {
  png: (n) => `${baseName(n)}_no_bg.png`,
  mask: (n) => `${baseName(n)}_mask.png`,
  jpeg: (n) => `${baseName(n)}_on_bg.jpg`,
  webp: (n) => `${baseName(n)}_on_bg.webp`,
};

/** How many leading bytes the worker's precheck reads (alphacut.io.decode.PRECHECK_BYTES). */
const PRECHECK_BYTES = 65536;

/**
 * A Blob Python can decode. The file's size and first bytes are checked first, by the worker
 * (alphacut.io.decode.precheck), so a 2 GB video or a PDF is refused before it is read whole, and
 * an AVIF over the pixel limit before the browser decodes it. Pillow in Pyodide has no AVIF
 * decoder, so AVIF goes through the browser's own decoder (losslessly to PNG, its colours
 * converted to sRGB, which an untagged PNG means: an AVIF's colour information is not an ICC
 * profile the pipeline could carry); everything else is the file itself. A Blob, not its bytes:
 * the page keeps one per photo, and Blobs live outside the page's heap.
 */
async function decodableSource(file, bridge) {
  const head = await file.slice(0, PRECHECK_BYTES).arrayBuffer();
  const { kind } = await bridge.request('precheck', { head, size: file.size }, { transfer: [head] });
  if (kind === 'AVIF' || file.type === 'image/avif' || AVIF.test(file.name)) {
    let bitmap;
    try {
      bitmap = await createImageBitmap(file, { colorSpaceConversion: 'default', premultiplyAlpha: 'none' });
    } catch {
      throw new Error('this browser cannot decode AVIF: convert the photo to JPEG or PNG first');
    }
    const canvas = offscreen(bitmap.width, bitmap.height);
    canvas.getContext('2d').drawImage(bitmap, 0, 0);
    bitmap.close();
    return pngBlob(canvas);
  }
  return file;
}

export class Job {
  constructor(file, bridge, { onChange }) {
    this.file = file;
    this.name = file.name || 'pasted.png';
    this.bridge = bridge;
    this.onChange = onChange;
    this.state = 'queued';
    this.stage = 'Queued';
    this.error = null;
    this.result = null;
    this.settings = { ...SETTINGS };
    this.strokes = null;
    this.hasStrokes = false;
    this.controller = new AbortController();
    this.sourceUrl = URL.createObjectURL(file);
    this.exports = new Map();
    this.running = null;
    this.dirty = false;
  }

  set(state, stage) {
    this.state = state;
    this.stage = stage;
    this.onChange(this);
  }

  async start(baseOptions) {
    this.baseOptions = baseOptions;
    try {
      this.source = await decodableSource(this.file, this.bridge);
      const r = await this.bridge.cutout(await this.source.arrayBuffer(), this.options(), {
        signal: this.controller.signal,
        onProgress: (key) => this.set('running', STAGE_TEXT[key] || key),
      });
      this.setResult(r);
      this.set('done', this.summary());
      if (r.report.preview) this.finishPreview();
    } catch (e) {
      this.error = e;
      this.set(e.name === 'AbortError' ? 'cancelled' : 'error', e.name === 'AbortError' ? 'Cancelled' : `Failed: ${e.message}`);
    }
  }

  options() {
    return { ...this.baseOptions, ...this.settings };
  }

  setResult(r) {
    if (this.result?.url) URL.revokeObjectURL(this.result.url);
    for (const url of this.exports.values()) URL.revokeObjectURL(url);
    this.exports.clear();
    const blob = new Blob([r.png], { type: 'image/png' });
    // The coarse matte (a 16-bit PNG, for re-runs without the model) is kept as a Blob too, out
    // of the page's heap: a batch of 50 photos holds 50 of them.
    this.result = { blob, url: URL.createObjectURL(blob), report: r.report,
      coarse: new Blob([r.coarse], { type: 'image/png' }) };
  }

  /** A colour-key preview stands until the model has loaded; then the photo is cut out again. */
  async finishPreview() {
    try {
      await this.bridge.settled('modelReady');
    } catch (e) {
      this.set('done', `${this.summary()} The model could not load (${e.message}), so this preview stays.`);
      return;
    }
    if (this.result?.report.preview) await this.refine({ full: true });
  }

  summary() {
    const r = this.result.report;
    if (r.preview) return `Preview (colour key): ${r.width}×${r.height}; the model's cut-out follows once it has loaded.`;
    const extra = r.frames > 1 ? `, first of ${r.frames} frames` : '';
    const how = r.method === 'colorkey' ? ', colour key' : '';
    return `Done: ${r.width}×${r.height}${extra}${how}, ${(r.total_ms / 1000).toFixed(1)} s`;
  }

  /** The quality verdict ('good' | 'suspicious' | 'bad') and its reasons, in words. */
  quality() {
    const q = this.result?.report.quality;
    return q ? { verdict: q.verdict, reasons: q.reasons || [] } : null;
  }

  /**
   * Re-run only the post-processing (settings or strokes changed), or everything when the
   * method changed (`full`). Coalesces bursts.
   */
  async refine({ full = false } = {}) {
    if (!this.result) return;
    if (full) this.needFull = true;
    if (this.running) { this.dirty = true; return; }
    const whole = this.needFull;
    this.needFull = false;
    this.set('refining', whole ? 'Cutting out again…' : 'Refining…');
    const strokes = this.hasStrokes ? strokesMask(this.strokes) : null;
    const coarse = whole ? null : this.result.coarse;
    const options = this.options();
    this.running = Promise.all([this.source.arrayBuffer(), coarse?.arrayBuffer()]).then(([bytes, matte]) =>
      this.bridge.cutout(bytes, options, { coarse: matte, strokes: strokes?.data, strokesShape: strokes?.shape }));
    try {
      const r = await this.running;
      r.report.total_ms = r.report.total_ms ?? 0;
      if (!whole) { // the matte came from the earlier run: so did its method and escalation
        const { method, method_reason: reason, escalation } = this.result.report;
        Object.assign(r.report, { method, method_reason: reason, escalation });
      }
      this.setResult(r);
      this.set('done', this.summary());
    } catch (e) {
      this.set('done', `Refine failed: ${e.message}`);
    } finally {
      this.running = null;
      if (this.dirty) { this.dirty = false; this.refine(); }
    }
  }

  /** Bytes of an output: 'png', 'mask', 'jpeg' or 'webp' (the last two over `background`);
   * `signal` cancels the export. */
  async output(format, background = {}, signal = undefined) {
    if (format === 'png') return this.result.blob;
    const png = await this.result.blob.arrayBuffer();
    const backgroundImage = background.image ? await background.image.arrayBuffer() : null;
    const r = await this.bridge.request('export', { png, format, colour: background.colour, backgroundImage },
      { signal });
    const type = { mask: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp' }[format];
    return new Blob([r.bytes], { type });
  }

  /** An overlay of the regions the quality check flagged (computed on demand, then kept). */
  async problemsUrl() {
    if (!this.exports.has('problems')) {
      const png = await this.result.blob.arrayBuffer();
      const r = await this.bridge.request('problems', { original: await this.source.arrayBuffer(), png });
      this.exports.set('problems', URL.createObjectURL(new Blob([r.bytes], { type: 'image/png' })));
    }
    return this.exports.get('problems');
  }

  /** The escalation in one sentence, or '' when it did not run and had no reason to. */
  escalationText() {
    const e = this.result?.report.escalation;
    if (!e) return '';
    if (!e.ran) return e.first ? `Second pass not run: ${e.why}.` : '';
    const kept = e.kept === 'second' ? 'kept the second' : 'kept the first';
    return `Checked twice (${e.why}): ${e.first.path} was ${e.first.verdict}, ${e.second.path} was ${e.second.verdict}; ${kept}.`;
  }

  async maskUrl() {
    if (!this.exports.has('mask')) this.exports.set('mask', URL.createObjectURL(await this.output('mask')));
    return this.exports.get('mask');
  }

  cancel() {
    this.controller.abort();
  }
}

export const STAGE_TEXT = {
  'compute:decode': 'Decoding…',
  'compute:infer': 'Finding the subject…',
  'compute:finish': 'Refining and encoding…',
  'compute:refine': 'Refining…',
};
