// Model bytes: fetched from this origin with progress, verified by sha256, cached in IndexedDB
// keyed by that sha256, and re-verified every time they are read back.
import { sha256Hex } from '../shared/format.js';

const DB_NAME = 'alphacut';
const STORE = 'models';

function openDb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
    req.onblocked = () => reject(new Error('IndexedDB is blocked by another tab'));
  });
}

function tx(db, mode, fn) {
  return new Promise((resolve, reject) => {
    const t = db.transaction(STORE, mode);
    const req = fn(t.objectStore(STORE));
    t.oncomplete = () => resolve(req.result);
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error || new Error('IndexedDB transaction aborted'));
  });
}

/** Fetch `url` as an ArrayBuffer, reporting (loaded, total) as it streams. */
export async function fetchWithProgress(url, expectedSize, onProgress) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`fetching ${url} failed: HTTP ${res.status}`);
  const total = Number(res.headers.get('content-length')) || expectedSize;
  const out = new Uint8Array(total);
  let loaded = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (loaded + value.length > out.length) throw new Error(`${url} is larger than the expected ${total} bytes`);
    out.set(value, loaded);
    loaded += value.length;
    onProgress(loaded, total);
  }
  if (loaded !== total) throw new Error(`${url} ended after ${loaded} of ${total} bytes`);
  return out.buffer;
}

/**
 * Return the verified bytes of `{url, sha256, size}`, from IndexedDB when a good copy is there,
 * else from the network (then stored). `report(key, current, total)` gets progress;
 * the returned `cache` says what happened: 'hit', 'stored', 'refetched' (a bad entry was
 * replaced) or 'off: <reason>' (IndexedDB unusable; the app still works).
 */
export async function loadModel({ url, sha256, size }, report) {
  let db = null;
  let cache = 'stored';
  try {
    db = await openDb();
    const cached = await tx(db, 'readonly', (s) => s.get(sha256));
    if (cached) {
      report('compute:verify', 0, 1);
      if (cached.byteLength === size && (await sha256Hex(cached)) === sha256) {
        report('compute:verify', 1, 1);
        return { bytes: cached, cache: 'hit' };
      }
      await tx(db, 'readwrite', (s) => s.delete(sha256));
      cache = 'refetched';
    }
  } catch (e) {
    db = null;
    cache = `off: ${e.message || e}`;
  }
  const bytes = await fetchWithProgress(url, size, (a, b) => report('fetch:model', a, b));
  report('compute:verify', 0, 1);
  const got = await sha256Hex(bytes);
  if (got !== sha256) throw new Error(`the downloaded model is corrupt (sha256 ${got.slice(0, 12)}…, expected ${sha256.slice(0, 12)}…)`);
  report('compute:verify', 1, 1);
  if (db) {
    try {
      await tx(db, 'readwrite', (s) => s.put(bytes, sha256));
    } catch (e) {
      cache = `off: ${e.message || e}`;
    }
  }
  return { bytes, cache };
}
