// Model bytes: fetched from this origin with progress, verified by sha256, cached in IndexedDB
// keyed by that sha256, and re-verified every time they are read back. Chromium refuses IDB
// values over ~128 MB, so a model is stored as 32 MB parts ("<sha>:<i>") under one record
// "<sha>" = {size, parts}, which is written last, in the same transaction.
import { sha256Hex } from '../shared/format.js';

const DB_NAME = 'alphacut';
const STORE = 'models';
const PART = 32 * 1024 * 1024;

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
    const result = fn(t.objectStore(STORE));
    t.oncomplete = () => resolve(typeof result === 'function' ? result() : result?.result);
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error || new Error('IndexedDB transaction aborted'));
  });
}

/** The stored bytes of `sha256`, or null when there is no complete entry. */
async function readEntry(db, sha256) {
  return tx(db, 'readonly', (store) => {
    let bytes = null;
    const meta = store.get(sha256);
    meta.onsuccess = () => {
      const m = meta.result;
      if (!m || !Number.isInteger(m.parts)) return;
      const out = new Uint8Array(m.size);
      let offset = 0;
      let ok = true;
      for (let i = 0; i < m.parts; i++) {
        const part = store.get(`${sha256}:${i}`);
        part.onsuccess = () => {
          const chunk = part.result;
          if (!(chunk instanceof ArrayBuffer) || offset + chunk.byteLength > m.size) { ok = false; return; }
          out.set(new Uint8Array(chunk), offset);
          offset += chunk.byteLength;
          if (i === m.parts - 1 && ok && offset === m.size) bytes = out.buffer;
        };
      }
    };
    return () => bytes;
  });
}

function deleteEntry(db, sha256) {
  return tx(db, 'readwrite', (store) => store.delete(IDBKeyRange.bound(sha256, `${sha256}:\uffff`)));
}

function writeEntry(db, sha256, bytes) {
  return tx(db, 'readwrite', (store) => {
    const parts = Math.ceil(bytes.byteLength / PART);
    for (let i = 0; i < parts; i++) store.put(bytes.slice(i * PART, (i + 1) * PART), `${sha256}:${i}`);
    return store.put({ size: bytes.byteLength, parts, storedAt: Date.now() }, sha256);
  });
}

/** Fetch `url` as an ArrayBuffer, reporting (loaded, total) as it streams. */
export async function fetchWithProgress(url, expectedSize, onProgress) {
  let res;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new Error(`could not download the model (${e.message}); check the connection to this site and reload`);
  }
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
    const cached = await readEntry(db, sha256);
    const stale = cached === null && (await tx(db, 'readonly', (st) => st.count(IDBKeyRange.bound(sha256, `${sha256}:\uffff`))));
    if (stale) {
      await deleteEntry(db, sha256); // a partial entry: parts without their record, or a part missing
      cache = 'refetched';
    }
    if (cached) {
      report('compute:verify', 0, 1);
      if (cached.byteLength === size && (await sha256Hex(cached)) === sha256) {
        report('compute:verify', 1, 1);
        db.close();
        return { bytes: cached, cache: 'hit' };
      }
      await deleteEntry(db, sha256);
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
      await writeEntry(db, sha256, bytes);
    } catch (e) {
      cache = `off: ${e.message || e}`;
    }
    db.close();
  }
  return { bytes, cache };
}

/**
 * Delete every stored model but those in `keep` (sha256s): an older build's graphs, or the graph
 * of a backend that fell back to the other. Returns how many were removed.
 */
export async function pruneModels(keep) {
  const db = await openDb();
  try {
    const keys = await tx(db, 'readonly', (store) => store.getAllKeys());
    const stored = [...new Set(keys.map((k) => String(k).split(':')[0]))];
    const drop = stored.filter((sha) => !keep.includes(sha));
    for (const sha of drop) await deleteEntry(db, sha);
    return drop.length;
  } finally {
    db.close();
  }
}
