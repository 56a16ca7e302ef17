// "Download all": a ZIP of the results, made on the page by client-zip (MIT, vendored by the
// build) as a stream over the results' Blobs. Nothing is copied into the worker or into wasm, so a
// batch of large photos does not raise the tab's memory by the size of the archive (it did when
// Python's zipfile built it in the worker). Entries are stored, not deflated: PNGs do not shrink.
import { makeZip } from '../lib/client-zip/index.js';

/** `names` with repeats told apart: 'a.png', 'a.png' → 'a.png', 'a-2.png'; slashes become '_'. */
export function uniqueNames(names) {
  const seen = new Map();
  return names.map((name) => {
    const base = name.replace(/[/\\]/g, '_') || 'file';
    const n = (seen.get(base) || 0) + 1;
    seen.set(base, n);
    if (n === 1) return base;
    const dot = base.lastIndexOf('.');
    return dot > 0 ? `${base.slice(0, dot)}-${n}${base.slice(dot)}` : `${base}-${n}`;
  });
}

/**
 * A ZIP (a Blob) of `files` ([{name, blob}]). With `signal`, a cancel stops it between two files
 * and rejects with an AbortError.
 */
export async function zipBlob(files, signal) {
  const names = uniqueNames(files.map((f) => f.name));
  async function* entries() {
    for (const [i, f] of files.entries()) {
      signal?.throwIfAborted();
      yield { name: names[i], input: f.blob, size: f.blob.size };
    }
  }
  let blob;
  try {
    blob = await new Response(makeZip(entries())).blob();
  } catch (e) {
    signal?.throwIfAborted(); // reading the stream reports its cancel as a TypeError
    throw e;
  }
  signal?.throwIfAborted();
  return new Blob([blob], { type: 'application/zip' });
}
