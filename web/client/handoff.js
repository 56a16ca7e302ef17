// Photos chosen before the page is ready survive the one reload a first visit may need (to
// become cross-origin isolated through the service worker): they are kept in this origin's
// IndexedDB for that moment only, taken back right after the reload, and deleted. Nothing leaves
// the device. A hand-off older than MAX_AGE_MS (the page was closed mid-reload) is discarded.

const DB = 'alphacut-handoff';
const STORE = 'files';
const MAX_AGE_MS = 5 * 60 * 1000;

function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { autoIncrement: true });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

/** Keep `files` (File objects) across the coming reload. */
export async function stash(files) {
  if (!files.length) return;
  const db = await open();
  const tx = db.transaction(STORE, 'readwrite');
  const at = Date.now();
  for (const f of files) tx.objectStore(STORE).add({ at, name: f.name, type: f.type, lastModified: f.lastModified, blob: f });
  await done(tx);
  db.close();
}

/** The files stashed before the reload, in order (and none is kept any longer). */
export async function take() {
  if (!('indexedDB' in self)) return [];
  let db;
  try {
    db = await open();
    const tx = db.transaction(STORE, 'readwrite');
    const store = tx.objectStore(STORE);
    const all = await new Promise((resolve, reject) => {
      const req = store.getAll();
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    store.clear();
    await done(tx);
    const fresh = all.filter((e) => Date.now() - e.at < MAX_AGE_MS);
    if (fresh.length) console.log(`took back ${fresh.length} photo(s) chosen before the reload`);
    return fresh.map((e) => new File([e.blob], e.name, { type: e.type, lastModified: e.lastModified }));
  } catch (e) {
    console.warn(`photos chosen before the reload could not be taken back: ${e.message}`);
    return [];
  } finally {
    db?.close();
  }
}
