// SPDX-License-Identifier: MIT
// Drives the peer (@imgly/background-removal@1.7.0, AGPL-3.0) for side-by-side benchmarks.
// The peer runs from node_modules as published; nothing of it is copied into this file.
//
// Query parameters: ?model=isnet_fp16|isnet_quint8 (default isnet_fp16), ?device=cpu|gpu (default cpu).
import { removeBackground, preload } from "@imgly/background-removal";

const params = new URLSearchParams(location.search);

// Stage timestamps, filled by the progress callback. The peer memoises its config by
// JSON.stringify (functions drop out), so the callback from the first call stays in use:
// it must write to this shared object, not to a per-call closure.
let marks = null;
function progress(key, current, total) {
  if (marks && key.startsWith("compute:")) marks.push([`${key}:${current}/${total}`, performance.now()]);
}

const config = {
  publicPath: new URL("/data/", location.href).href,
  model: params.get("model") || "isnet_fp16",
  device: params.get("device") || "cpu",
  output: { format: "image/png", quality: 0.8 },
  progress,
};

function stages(t0, t1) {
  // Durations between consecutive peer stages, in ms:
  // decode (blob -> RGBA), inference (resize + ONNX + mask upsample), mask (alpha copy), encode (PNG).
  const names = { "compute:decode:0/4": "decode", "compute:inference:1/4": "inference",
                  "compute:mask:2/4": "mask", "compute:encode:3/4": "encode" };
  const out = {};
  const pts = [...marks, ["end", t1]];
  for (let i = 0; i < pts.length - 1; i++) {
    const n = names[pts[i][0]];
    if (n) out[n] = pts[i + 1][1] - pts[i][1];
  }
  out.before_decode = (marks.length ? marks[0][1] : t1) - t0; // init() lookup (model load on first call)
  return out;
}

async function peerPreload() {
  const t0 = performance.now();
  await preload(config);
  return { ms: performance.now() - t0, crossOriginIsolated: self.crossOriginIsolated,
           threads: navigator.hardwareConcurrency, model: config.model, device: config.device };
}

// bytes: Uint8Array of an encoded image (PNG/JPEG/WebP); mime: its type.
// -> {ms, width, height, png: Uint8Array, stages}. ms covers removeBackground() only:
// decode + inference + alpha + PNG encode, as a caller of the peer sees it.
async function peerRemove(bytes, mime, opts = {}) {
  const blob = new Blob([bytes], { type: mime });
  marks = [];
  const t0 = performance.now();
  const out = await removeBackground(blob, config);
  const t1 = performance.now();
  const st = stages(t0, t1);
  marks = null;
  const bmp = await createImageBitmap(out);
  const res = { ms: t1 - t0, width: bmp.width, height: bmp.height, stages: st, png: null };
  bmp.close();
  if (opts.png !== false) res.png = new Uint8Array(await out.arrayBuffer());
  return res;
}

// Transport helpers for Playwright: base64 in and out (fast via fetch/FileReader).
async function b64ToBytes(b64) {
  const r = await fetch(`data:application/octet-stream;base64,${b64}`);
  return new Uint8Array(await r.arrayBuffer());
}
function bytesToB64(bytes) {
  return new Promise((resolve, reject) => {
    const fr = new FileReader();
    fr.onload = () => resolve(fr.result.slice(fr.result.indexOf(",") + 1));
    fr.onerror = () => reject(fr.error);
    fr.readAsDataURL(new Blob([bytes]));
  });
}

Object.assign(window, { peerRemove, peerPreload, peerB64ToBytes: b64ToBytes, peerBytesToB64: bytesToB64 });
window.peerReady = true;
document.getElementById("status").textContent = "ready";
