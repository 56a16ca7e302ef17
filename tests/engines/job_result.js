// The body of an async function of `n`: the n-th job's state, text, method and result PNG
// (base64), or null while it is still queued, running or only a preview. Shared by the Firefox
// (firefox_smoke.mjs) and WebKit (tests/e2e/test_webkit.py) smoke runs.
const j = document.querySelectorAll('.job')[n];
if (!j || !['done', 'error'].includes(j.dataset.state)
    || j.querySelector('.job-state').textContent.startsWith('Preview')) return null;
const job = window.alphacut.jobs[n];
let png = null;
if (job.result) {
  const bytes = new Uint8Array(await job.result.blob.arrayBuffer());
  let s = '';
  for (let k = 0; k < bytes.length; k += 0x8000) s += String.fromCharCode(...bytes.subarray(k, k + 0x8000));
  png = btoa(s);
}
return { state: j.dataset.state, text: j.querySelector('.job-state').textContent, method: job.result?.report.method, png };
