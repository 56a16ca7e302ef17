// The result view: zoom and pan, before/after comparison, backgrounds, and keep/remove brushes.
// It shows one job at a time; strokes live on the job (a canvas at up to 2048 px per side).

const MAX_STROKE_SIDE = 2048;
const STROKE_COLOURS = { keep: '#00d000', remove: '#ff2020' };

export class Viewer {
  constructor(root, { onStrokesChanged }) {
    this.root = root;
    this.onStrokesChanged = onStrokesChanged;
    this.viewport = root.querySelector('#viewport');
    this.stage = root.querySelector('#stage');
    this.bg = root.querySelector('#stage-bg');
    this.before = root.querySelector('#img-before');
    this.after = root.querySelector('#img-after');
    this.maskImg = root.querySelector('#img-mask');
    this.problemsImg = root.querySelector('#img-problems');
    this.canvas = root.querySelector('#strokes');
    this.compare = root.querySelector('#compare');
    this.zoomLabel = root.querySelector('#zoom-level');
    this.job = null;
    this.scale = 1;
    this.tx = 0;
    this.ty = 0;
    this.fit = true;
    this.tool = 'pan';
    this.brush = 40;
    this.view = 'result';
    this.bgUrl = null;
    // The keyboard brush: a ring the arrow keys move; Space held paints along its path.
    this.cursor = null;
    this.cursorEl = document.createElement('div');
    this.cursorEl.className = 'brush-cursor';
    this.cursorEl.hidden = true;
    this.stage.append(this.cursorEl);
    this.spaceDown = false;
    this.wire();
  }

  wire() {
    const vp = this.viewport;
    let drag = null;
    vp.addEventListener('pointerdown', (e) => {
      if (!this.job) return;
      vp.setPointerCapture(e.pointerId);
      if (this.tool === 'pan' || e.button === 1) {
        drag = { x: e.clientX - this.tx, y: e.clientY - this.ty, pan: true };
      } else {
        drag = { pan: false, last: this.toImage(e) };
        this.paint(drag.last, drag.last);
      }
    });
    vp.addEventListener('pointermove', (e) => {
      if (!drag) return;
      if (drag.pan) {
        this.fit = false;
        this.tx = e.clientX - drag.x;
        this.ty = e.clientY - drag.y;
        this.apply();
      } else {
        const p = this.toImage(e);
        this.paint(drag.last, p);
        drag.last = p;
      }
    });
    const end = () => {
      if (drag && !drag.pan) this.onStrokesChanged(this.job);
      drag = null;
    };
    vp.addEventListener('pointerup', end);
    vp.addEventListener('pointercancel', end);
    vp.addEventListener('wheel', (e) => {
      if (!this.job) return;
      e.preventDefault();
      const rect = vp.getBoundingClientRect();
      this.zoomAt(this.scale * (e.deltaY < 0 ? 1.25 : 0.8), e.clientX - rect.left, e.clientY - rect.top);
    }, { passive: false });
    vp.addEventListener('keydown', (e) => {
      if (this.job && this.tool !== 'pan' && this.brushKey(e)) return;
      const step = 40;
      const moves = { ArrowLeft: [step, 0], ArrowRight: [-step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
      if (moves[e.key]) {
        e.preventDefault();
        this.fit = false;
        this.tx += moves[e.key][0];
        this.ty += moves[e.key][1];
        this.apply();
      } else if (e.key === '+' || e.key === '=') this.zoomBy(1.25);
      else if (e.key === '-') this.zoomBy(0.8);
    });
    vp.addEventListener('keyup', (e) => {
      if (e.key === ' ' && this.spaceDown) {
        this.spaceDown = false;
        this.onStrokesChanged(this.job);
      }
    });
    vp.addEventListener('blur', () => { this.cursorEl.hidden = true; });
    this.compare.addEventListener('input', () => this.applyView());
    new ResizeObserver(() => { if (this.fit) this.zoomFit(); }).observe(vp);
  }

  /**
   * Keyboard painting with a brush tool: arrows move the brush ring (Shift: 4× the step),
   * Space paints (hold it while moving to draw a line). Returns true when the key was used.
   */
  brushKey(e) {
    const dirs = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    if (!this.cursor) this.cursor = { x: this.w / 2, y: this.h / 2 };
    if (dirs[e.key]) {
      const step = Math.max(2, this.brush / 2) * (e.shiftKey ? 4 : 1);
      const last = { ...this.cursor };
      this.cursor.x = Math.min(this.w, Math.max(0, this.cursor.x + dirs[e.key][0] * step));
      this.cursor.y = Math.min(this.h, Math.max(0, this.cursor.y + dirs[e.key][1] * step));
      if (this.spaceDown) this.paint(last, this.cursor);
    } else if (e.key === ' ') {
      if (!e.repeat) { this.spaceDown = true; this.paint(this.cursor, this.cursor); }
    } else {
      return false;
    }
    e.preventDefault();
    this.showCursor();
    return true;
  }

  showCursor() {
    const el = this.cursorEl;
    el.hidden = this.tool === 'pan' || !this.cursor;
    if (el.hidden) return;
    el.style.width = el.style.height = `${this.brush}px`;
    el.style.left = `${this.cursor.x - this.brush / 2}px`;
    el.style.top = `${this.cursor.y - this.brush / 2}px`;
    el.style.borderColor = STROKE_COLOURS[this.tool];
  }

  /** Show `job` (its original and current result). */
  show(job) {
    this.job = job;
    this.cursor = null;
    this.cursorEl.hidden = true;
    this.before.src = job.sourceUrl;
    this.after.src = job.result.url;
    this.maskImg.hidden = true;
    const [h, w] = [job.result.report.height, job.result.report.width];
    this.w = w;
    this.h = h;
    this.setProblems(null);
    for (const el of [this.stage, this.bg, this.before, this.after, this.maskImg, this.problemsImg, this.canvas]) {
      el.style.width = `${w}px`;
      el.style.height = `${h}px`;
    }
    if (!job.strokes) {
      const k = Math.min(1, MAX_STROKE_SIDE / Math.max(w, h));
      job.strokes = document.createElement('canvas');
      job.strokes.width = Math.max(1, Math.round(w * k));
      job.strokes.height = Math.max(1, Math.round(h * k));
    }
    this.canvas.width = job.strokes.width;
    this.canvas.height = job.strokes.height;
    this.redrawStrokes();
    this.zoomFit();
    this.applyView();
  }

  update(job) {
    if (this.job !== job) return;
    this.after.src = job.result.url;
    if (this.view === 'mask') this.setView('mask');
  }

  /** Overlay the quality check's flagged regions (an image URL), or hide them (null). */
  setProblems(url) {
    this.problemsImg.hidden = !url;
    if (url) this.problemsImg.src = url;
    else this.problemsImg.removeAttribute('src');
  }

  async setView(view) {
    this.view = view;
    if (view === 'mask' && this.job) {
      this.maskImg.src = await this.job.maskUrl();
    }
    this.applyView();
  }

  applyView() {
    const v = this.view;
    this.compare.hidden = v !== 'compare';
    this.maskImg.hidden = v !== 'mask';
    this.after.hidden = v === 'mask';
    this.before.hidden = v !== 'compare';
    this.bg.hidden = v === 'mask';
    // Before/after: the original left of the handle; the cut-out on its background right of it.
    const x = Number(this.compare.value);
    const right = v === 'compare' ? `inset(0 0 0 ${x}%)` : 'none';
    this.after.style.clipPath = right;
    this.bg.style.clipPath = right;
    this.before.style.clipPath = v === 'compare' ? `inset(0 ${100 - x}% 0 0)` : 'none';
  }

  setBackground(kind, value) {
    this.bg.className = 'stage-bg';
    this.bg.style.background = '';
    if (kind === 'checker') this.bg.classList.add('checker');
    else if (kind === 'white') this.bg.style.background = '#fff';
    else if (kind === 'black') this.bg.style.background = '#000';
    else if (kind === 'colour') this.bg.style.background = value;
    else if (kind === 'image' && value) {
      if (this.bgUrl) URL.revokeObjectURL(this.bgUrl);
      this.bgUrl = URL.createObjectURL(value);
      this.bg.style.background = `center / cover no-repeat url("${this.bgUrl}")`;
    }
  }

  zoomFit() {
    if (!this.job) return;
    const r = this.viewport.getBoundingClientRect();
    this.scale = Math.min(r.width / this.w, r.height / this.h, 1);
    this.tx = (r.width - this.w * this.scale) / 2;
    this.ty = (r.height - this.h * this.scale) / 2;
    this.fit = true;
    this.apply();
  }

  zoomBy(k) {
    const r = this.viewport.getBoundingClientRect();
    this.zoomAt(this.scale * k, r.width / 2, r.height / 2);
  }

  zoomAt(scale, cx, cy) {
    const s = Math.min(8, Math.max(0.02, scale));
    this.tx = cx - ((cx - this.tx) * s) / this.scale;
    this.ty = cy - ((cy - this.ty) * s) / this.scale;
    this.scale = s;
    this.fit = false;
    this.apply();
  }

  apply() {
    this.stage.style.transform = `translate(${this.tx}px, ${this.ty}px) scale(${this.scale})`;
    this.zoomLabel.textContent = `${Math.round(this.scale * 100)}%`;
  }

  toImage(e) {
    const r = this.viewport.getBoundingClientRect();
    return { x: (e.clientX - r.left - this.tx) / this.scale, y: (e.clientY - r.top - this.ty) / this.scale };
  }

  paint(a, b) {
    const c = this.job.strokes;
    const k = c.width / this.w;
    const ctx = c.getContext('2d');
    ctx.strokeStyle = STROKE_COLOURS[this.tool];
    ctx.lineWidth = Math.max(1, this.brush * k);
    ctx.lineCap = 'round';
    ctx.beginPath();
    ctx.moveTo(a.x * k, a.y * k);
    ctx.lineTo(b.x * k + 0.01, b.y * k);
    ctx.stroke();
    this.job.hasStrokes = true;
    this.redrawStrokes();
  }

  redrawStrokes() {
    const ctx = this.canvas.getContext('2d');
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    if (this.job?.strokes) ctx.drawImage(this.job.strokes, 0, 0);
  }

  clearStrokes() {
    if (!this.job?.strokes) return;
    this.job.strokes.getContext('2d').clearRect(0, 0, this.job.strokes.width, this.job.strokes.height);
    this.job.hasStrokes = false;
    this.redrawStrokes();
    this.onStrokesChanged(this.job);
  }
}

/** The strokes canvas as {data: Uint8Array (0 none, 1 keep, 2 remove), shape: [rows, cols]}. */
export function strokesMask(canvas) {
  const { width, height } = canvas;
  const px = canvas.getContext('2d').getImageData(0, 0, width, height).data;
  const out = new Uint8Array(width * height);
  for (let i = 0, j = 0; j < out.length; i += 4, j += 1) {
    if (px[i + 3] < 128) continue;
    out[j] = px[i + 1] > px[i] ? 1 : 2;
  }
  return { data: out, shape: [height, width] };
}
