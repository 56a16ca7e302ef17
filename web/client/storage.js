// What this site keeps on the device, and how to clear it.
import { formatBytes } from '../shared/format.js';

export async function usage() {
  if (!navigator.storage?.estimate) return null;
  const { usage: used } = await navigator.storage.estimate();
  return used;
}

/** Ask the browser not to evict the model under storage pressure. Returns the answer. */
export async function persist() {
  try {
    return navigator.storage?.persist ? await navigator.storage.persist() : false;
  } catch {
    return false;
  }
}

/** Delete the model database and the app caches; return bytes freed (by the browser's estimate). */
export async function clearAll() {
  const before = (await usage()) ?? 0;
  await new Promise((resolve, reject) => {
    const req = indexedDB.deleteDatabase('alphacut');
    req.onsuccess = resolve;
    req.onerror = () => reject(req.error);
    req.onblocked = resolve; // deleted as soon as the worker's connection closes
  });
  for (const name of await caches.keys()) {
    if (name.startsWith('alphacut-')) await caches.delete(name);
  }
  const after = (await usage()) ?? 0;
  return Math.max(0, before - after);
}

export async function describeUsage() {
  const used = await usage();
  return used === null ? 'unknown size' : formatBytes(used);
}
