// Edit merge mode: original + AI-edited photo in, the edit kept only where it landed.
// Previews run at reduced resolution (preview_max_side); downloads at full resolution with the
// same options and brushes, so the preview shows what will be saved, up to resampling.
import { offscreen, pngBlob } from './canvas.js';
import { download } from './download.js';
import { MERGE } from '../shared/options.js';

const PREVIEW_SIDE = 1024;
const BRUSH_COLOURS = { protect: '#2060ff', force: '#ff9020' };

export class EditMerge {
  constructor(root, bridge) {
    this.root = root;
    this.bridge = bridge;
    this.files = { original: null, edited: null };
    this.urls = {};
    this.preview = null;
    this.busy = false;
    this.dirty = false;
    this.tool = 'none';
    this.regionChoice = {}; // region id -> true (take it) or false (leave it), as the person chose
    this.labels = null; // { width, height, data } of the candidate regions' ids
    this.wire();
  }

  $(sel) { return this.root.querySelector(sel); }

  wire() {
    for (const which of ['original', 'edited']) {
      this.$(`#merge-${which}`).addEventListener('change', (e) => {
        this.files[which] = e.target.files[0] || null;
        this.$(`#merge-${which}-name`).textContent = this.files[which]?.name || '';
        if (this.urls[which]) URL.revokeObjectURL(this.urls[which]);
        this.urls[which] = this.files[which] ? URL.createObjectURL(this.files[which]) : null;
        this.resetBrush();
        this.regionChoice = {};
        this.run();
      });
    }
    // Defaults from the Python options (shared/options.js); the sliders span the useful part of the range.
    this.$('#merge-sensitivity').value = MERGE.sensitivity.default;
    this.$('#merge-feather').value = MERGE.feather.default;
    this.$('#merge-primary').checked = MERGE.primary_only.default;
    for (const id of ['#merge-sensitivity', '#merge-feather', '#merge-primary']) {
      this.$(id).addEventListener(id === '#merge-primary' ? 'change' : 'input', () => {
        if (id !== '#merge-feather') this.regionChoice = {}; // region ids are those of one detection
        this.showValues();
        this.schedule();
      });
    }
    for (const r of this.root.querySelectorAll('input[name=mview]')) r.addEventListener('change', () => this.show());
    this.$('#merge-compare').addEventListener('input', () => this.applyCompare());
    for (const r of this.root.querySelectorAll('input[name=mtool]')) r.addEventListener('change', () => { this.tool = r.value; });
    this.$('#merge-clear').onclick = () => { this.resetBrush(); this.regionChoice = {}; this.schedule(); };
    this.$('#merge-download').onclick = () => this.save('result');
    this.$('#merge-download-mask').onclick = () => this.save('mask');
    this.$('#merge-cancel').onclick = () => this.saving?.abort();
    const canvas = this.$('#merge-brush');
    let last = null;
    const point = (e) => {
      const r = canvas.getBoundingClientRect();
      return { x: ((e.clientX - r.left) / r.width) * canvas.width, y: ((e.clientY - r.top) / r.height) * canvas.height };
    };
    canvas.addEventListener('pointerdown', (e) => {
      if (!this.preview) return;
      if (this.tool === 'none') { this.toggleAt(point(e)); return; }
      canvas.setPointerCapture(e.pointerId);
      last = point(e);
      this.paint(last, last);
    });
    canvas.addEventListener('pointermove', (e) => {
      if (!last) return;
      const p = point(e);
      this.paint(last, p);
      last = p;
    });
    const end = () => { if (last) { last = null; this.regionChoice = {}; this.schedule(); } };
    canvas.addEventListener('pointerup', end);
    canvas.addEventListener('pointercancel', end);
    this.showValues();
  }

  showValues() {
    this.$('#merge-sensitivity-out').textContent = Number(this.$('#merge-sensitivity').value).toFixed(2);
    this.$('#merge-feather-out').textContent = `${(Number(this.$('#merge-feather').value) * 100).toFixed(1)}%`;
  }

  options(previewSide) {
    return {
      sensitivity: Number(this.$('#merge-sensitivity').value),
      feather: Number(this.$('#merge-feather').value),
      primary_only: this.$('#merge-primary').checked,
      preview_max_side: previewSide,
      include_regions: Object.keys(this.regionChoice).filter((id) => this.regionChoice[id]).map(Number),
      exclude_regions: Object.keys(this.regionChoice).filter((id) => !this.regionChoice[id]).map(Number),
    };
  }

  /** Add or remove the region under a point of the preview (canvas pixels), if there is one. */
  toggleAt(p) {
    const L = this.labels;
    const c = this.$('#merge-brush');
    if (!L) return;
    const col = Math.min(L.width - 1, Math.floor((p.x / c.width) * L.width));
    const row = Math.min(L.height - 1, Math.floor((p.y / c.height) * L.height));
    const id = L.data[(row * L.width + col) * 4];
    if (!id) return;
    const cand = this.preview.report.region_candidates.find((r) => r.id === id);
    if (cand) this.setRegion(id, !cand.kept);
  }

  setRegion(id, take) {
    this.regionChoice[id] = take;
    this.schedule();
  }

  /** The candidate regions as checkboxes: the same toggles as clicking on the photo. */
  showRegions(report) {
    const box = this.$('#merge-regions');
    const list = this.$('#merge-region-list');
    const focused = list.contains(document.activeElement) ? document.activeElement.dataset.region : null;
    list.replaceChildren();
    const cands = report.region_candidates || [];
    box.hidden = cands.length === 0;
    for (const r of cands.slice(0, 50)) {
      const label = document.createElement('label');
      const input = document.createElement('input');
      input.type = 'checkbox';
      input.checked = r.kept;
      input.dataset.region = String(r.id);
      input.addEventListener('change', () => this.setRegion(r.id, input.checked));
      label.append(input, ` Region ${r.id} (${(r.area * 100).toFixed(1)}% of the photo)`);
      list.append(label);
      if (focused === input.dataset.region) input.focus(); // the list is rebuilt: keep the keyboard's place
    }
  }

  /** Decode the label map (greyscale PNG of region ids) into pixels for hit testing. */
  async loadLabels(buffer) {
    this.labels = null;
    if (!buffer) return;
    const url = URL.createObjectURL(new Blob([buffer], { type: 'image/png' }));
    try {
      const img = new Image();
      img.src = url;
      await img.decode();
      const c = offscreen(img.naturalWidth, img.naturalHeight);
      const ctx = c.getContext('2d');
      ctx.drawImage(img, 0, 0);
      const { data } = ctx.getImageData(0, 0, c.width, c.height);
      this.labels = { width: c.width, height: c.height, data };
    } finally {
      URL.revokeObjectURL(url);
    }
  }

  resetBrush() {
    const c = this.$('#merge-brush');
    c.width = 1;
    c.height = 1;
    this.brushUsed = { protect: false, force: false };
    this.layers = null;
  }

  paint(a, b) {
    const c = this.$('#merge-brush');
    const layer = this.layers[this.tool];
    const width = Math.max(4, c.width / 30);
    for (const [ctx, colour] of [[layer.getContext('2d'), '#fff'], [c.getContext('2d'), BRUSH_COLOURS[this.tool]]]) {
      ctx.strokeStyle = colour;
      ctx.lineWidth = width;
      ctx.lineCap = 'round';
      ctx.beginPath();
      ctx.moveTo(a.x, a.y);
      ctx.lineTo(b.x + 0.01, b.y);
      ctx.stroke();
    }
    this.brushUsed[this.tool] = true;
  }

  async brushBytes(kind) {
    if (!this.brushUsed?.[kind]) return null;
    return (await pngBlob(this.layers[kind])).arrayBuffer();
  }

  schedule() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.run(), 250);
  }

  status(text) { this.$('#merge-status').textContent = text; }

  async call(previewSide, signal = undefined) {
    const [original, edited] = await Promise.all([this.files.original.arrayBuffer(), this.files.edited.arrayBuffer()]);
    const [protect, force] = await Promise.all([this.brushBytes('protect'), this.brushBytes('force')]);
    return this.bridge.request('merge', { original, edited, options: this.options(previewSide), protect, force },
      { signal });
  }

  async run() {
    if (!this.files.original || !this.files.edited) return;
    if (this.busy) { this.dirty = true; return; }
    this.busy = true;
    this.status('Comparing…');
    try {
      const r = await this.call(PREVIEW_SIDE);
      this.setPreview(r);
      this.showRegions(r.report);
      await this.loadLabels(r.labels);
      const rep = r.report;
      const warn = rep.warnings?.length ? ` Note: ${rep.warnings.join('; ')}.` : '';
      const jpeg = rep.compression?.used ? ' The edit\'s JPEG compression was predicted and left out of the comparison.' : '';
      const renoise = rep.texture_noise_second_pass
        ? ' The edit covered most of the photo\'s detailed parts, so their noise was measured again without it.' : '';
      this.status(`Edit found on ${(rep.mask_fraction * 100).toFixed(1)}% of the photo, ${rep.regions.length} region(s).${jpeg}${renoise}${warn}`);
      this.$('#merge-download').disabled = false;
      this.$('#merge-download-mask').disabled = false;
    } catch (e) {
      this.status(`Failed: ${e.message}`);
    } finally {
      this.busy = false;
      if (this.dirty) { this.dirty = false; this.run(); }
    }
  }

  setPreview(r) {
    if (this.preview) { URL.revokeObjectURL(this.preview.composite); URL.revokeObjectURL(this.preview.mask); }
    this.preview = {
      composite: URL.createObjectURL(new Blob([r.composite], { type: 'image/png' })),
      mask: URL.createObjectURL(new Blob([r.mask], { type: 'image/png' })),
      report: r.report,
    };
    const c = this.$('#merge-brush');
    const [w, h] = [r.report.output_width, r.report.output_height];
    if (!this.layers) {
      c.width = w;
      c.height = h;
      this.layers = { protect: offscreen(w, h), force: offscreen(w, h) };
    }
    this.show();
  }

  show() {
    if (!this.preview) return;
    const view = this.root.querySelector('input[name=mview]:checked').value;
    const img = this.$('#merge-img');
    img.src = { composite: this.preview.composite, compare: this.preview.composite, overlay: this.urls.original,
      original: this.urls.original, edited: this.urls.edited }[view];
    const mask = this.$('#merge-mask');
    mask.hidden = view !== 'overlay';
    mask.src = this.preview.mask;
    // Before/after: the original over the result, cut off at the divider.
    const compare = view === 'compare';
    for (const id of ['#merge-before', '#merge-divider', '#merge-compare-row']) this.$(id).hidden = !compare;
    if (compare) this.$('#merge-before').src = this.urls.original;
    this.applyCompare();
  }

  /** Place the before/after divider: the original left of it, the result right of it. */
  applyCompare() {
    const slider = this.$('#merge-compare');
    const x = Number(slider.value);
    this.$('#merge-before').style.clipPath = `inset(0 ${100 - x}% 0 0)`;
    this.$('#merge-divider').style.left = `${x}%`;
    slider.setAttribute('aria-valuetext', `original on the left ${x}%, result on the right ${100 - x}%`);
  }

  /** Merge at full resolution and download the result or the mask; #merge-cancel stops it. */
  async save(what) {
    this.saving?.abort();
    const control = new AbortController();
    this.saving = control;
    const { signal } = control;
    const cancel = this.$('#merge-cancel');
    cancel.hidden = false;
    this.status('Merging at full resolution…');
    try {
      const r = await this.call(0, signal);
      const base = (this.files.edited.name.replace(/\.[^.]+$/, '') || 'edited');
      let blob;
      let name;
      if (what === 'mask') {
        blob = new Blob([r.mask], { type: 'image/png' });
        name = `${base}_merge_mask.png`;
      } else if (this.$('#merge-format').value === 'jpeg') {
        const out = await this.bridge.request('export', { png: r.composite, format: 'jpeg', colour: [255, 255, 255] },
          { signal });
        blob = new Blob([out.bytes], { type: 'image/jpeg' });
        name = `${base}_merged.jpg`;
      } else {
        blob = new Blob([r.composite], { type: 'image/png' });
        name = `${base}_merged.png`;
      }
      download(blob, name);
      this.status(`Saved ${name} (${r.report.width}×${r.report.height}).`);
    } catch (e) {
      if (this.saving === control) this.status(e.name === 'AbortError' ? 'Cancelled.' : `Failed: ${e.message}`);
    } finally {
      if (this.saving === control) { this.saving = null; cancel.hidden = true; }
    }
  }
}
