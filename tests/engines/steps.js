// The user-level steps of the Firefox and WebKit smoke runs, run inside the page by either driver
// (tests/engines/firefox_smoke.mjs over WebDriver BiDi, tests/e2e/test_webkit.py over W3C
// WebDriver): `STEPS[name](...args)`. A step that waits returns null until it is done; the driver
// polls it. Results are plain JSON; files come back as base64.
const STEPS = {
  /** The page's status line once it is ready or has failed, else null. */
  ready() {
    const s = document.querySelector('#status');
    return ['ready', 'error'].includes(s?.className) ? document.querySelector('#status-text').textContent : null;
  },

  /** The n-th job once it is done or failed (not a preview), and cut out by `method` if given. */
  job(n, method) {
    const j = document.querySelectorAll('.job')[n];
    if (!j || !['done', 'error'].includes(j.dataset.state)
        || j.querySelector('.job-state').textContent.startsWith('Preview')) return null;
    const job = window.alphacut.jobs[n];
    if (method && job.result?.report.method !== method) return null;
    return { state: j.dataset.state, text: j.querySelector('.job-state').textContent, method: job.result?.report.method };
  },

  /** Open the n-th job's result, then cut it out again with the colour key alone. */
  colourKey(n) {
    window.alphacut.jobs[n].item.querySelector('.open').click();
    const method = document.querySelector('#method');
    method.value = 'colorkey';
    method.dispatchEvent(new Event('change', { bubbles: true }));
    return true;
  },

  click(selector) {
    document.querySelector(selector).click();
    return true;
  },

  /** The edit merge status once the merge is done or failed, else null. */
  merged() {
    const text = document.querySelector('#merge-status').textContent;
    return /Edit found|Failed/.test(text) ? text : null;
  },

  /** Click a control that downloads a file; return { name, b64 } of the file the page saved. The
   * page saves through an object URL and a link's click (web/client/download.js); that last
   * click, which only hands the file to the browser, is caught here instead of opening a dialog. */
  async download(selector) {
    if (!window.__saved) {
      window.__saved = [];
      const blobs = new Map();
      const createObjectURL = URL.createObjectURL;
      URL.createObjectURL = (blob) => { const url = createObjectURL.call(URL, blob); blobs.set(url, blob); return url; };
      const click = HTMLAnchorElement.prototype.click;
      HTMLAnchorElement.prototype.click = function () {
        if (this.download && blobs.has(this.href)) window.__saved.push({ name: this.download, blob: blobs.get(this.href) });
        else click.call(this);
      };
    }
    const before = window.__saved.length;
    document.querySelector(selector).click();
    for (let i = 0; i < 600 && window.__saved.length === before; i++) await new Promise((r) => setTimeout(r, 100));
    const saved = window.__saved[before];
    if (!saved) return { error: `nothing was saved after clicking ${selector}` };
    const bytes = new Uint8Array(await saved.blob.arrayBuffer());
    let s = '';
    for (let k = 0; k < bytes.length; k += 0x8000) s += String.fromCharCode(...bytes.subarray(k, k + 0x8000));
    return { name: saved.name, b64: btoa(s) };
  },

  /** The pixels of an <img> as the browser decoded them, drawn on a canvas: { width, height, b64 }
   * (RGBA rows; a canvas premultiplies, so only opaque pixels keep their colour exactly). */
  async shown(selector) {
    const img = document.querySelector(selector);
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const g = canvas.getContext('2d');
    g.drawImage(img, 0, 0);
    const bytes = g.getImageData(0, 0, canvas.width, canvas.height).data;
    let s = '';
    for (let k = 0; k < bytes.length; k += 0x8000) s += String.fromCharCode(...bytes.subarray(k, k + 0x8000));
    return { width: canvas.width, height: canvas.height, b64: btoa(s) };
  },

  /** Every resource the page itself loaded (Resource Timing; workers keep their own). */
  resources() {
    return performance.getEntriesByType('resource').map((e) => e.name);
  },

  /** The idle page's warm-up once it has run ({ms, verdict}), else null. */
  warmedUp() {
    return window.alphacut.bridge.warmUp;
  },

  isolated() {
    return { isolated: self.crossOriginIsolated, sab: typeof SharedArrayBuffer };
  },
  /** Whether the service worker controls the page (what an offline reload depends on). */
  controlled() {
    return Boolean(navigator.serviceWorker?.controller);
  },
};
