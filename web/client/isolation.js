// Cross-origin isolation (needed for ORT-web threads) and offline use come from the service
// worker (../sw.js) on hosts that cannot send COOP/COEP headers themselves.

/**
 * Register the service worker. If the page is not cross-origin isolated yet, but the worker
 * controls it (a first visit), reload once so the isolation headers apply (after `beforeReload`,
 * which keeps what must survive it). Returns false when a reload is under way.
 */
export async function ensureIsolation({ beforeReload = async () => {} } = {}) {
  if (!('serviceWorker' in navigator)) return true;
  let reg;
  try {
    reg = await navigator.serviceWorker.register(new URL('../sw.js', import.meta.url), { scope: './' });
    const firstInstall = !reg.active;
    await navigator.serviceWorker.ready;
    if (firstInstall && !navigator.serviceWorker.controller) {
      // First visit: the worker claims this page on activation; wait briefly for it.
      await new Promise((resolve) => {
        navigator.serviceWorker.addEventListener('controllerchange', resolve, { once: true });
        setTimeout(resolve, 3000);
      });
    }
    window.alphacutServiceWorker = reg;
  } catch (e) {
    console.warn(`service worker unavailable (${e.message}); offline use and threads on static hosts are off`);
    return true;
  }
  // One automatic reload at a time: the flag is cleared once a page loads isolated; a reload that
  // did not isolate the page is not repeated (no loop).
  if (self.crossOriginIsolated) {
    sessionStorage.removeItem('alphacut-reloaded');
    return true;
  }
  // A hard reload skips the worker, so the page arrives without its headers, and Chromium reloads
  // it past the worker again: it then runs without isolation (one thread, and the status line
  // says why) until the next plain reload or visit.
  if (navigator.serviceWorker.controller && !sessionStorage.getItem('alphacut-reloaded')) {
    sessionStorage.setItem('alphacut-reloaded', '1');
    await beforeReload();
    location.reload();
    return false;
  }
  return true;
}

/**
 * Watch for a new build of the site. `onWaiting(activate)`: one is installed and waits; calling
 * `activate()` switches to it and reloads this tab. `onTakenOver()`: another tab switched, so
 * this tab now runs an older page under the new build (it should be reloaded).
 */
export function watchUpdates(reg, { onWaiting, onTakenOver }) {
  if (!reg) return;
  const hadController = Boolean(navigator.serviceWorker.controller);
  let asked = false;
  const offer = () => {
    if (!reg.waiting || !navigator.serviceWorker.controller) return;
    onWaiting(() => {
      asked = true;
      reg.waiting?.postMessage({ type: 'skip-waiting' });
    });
  };
  offer();
  reg.addEventListener('updatefound', () => {
    const installing = reg.installing;
    installing?.addEventListener('statechange', () => { if (installing.state === 'installed') offer(); });
  });
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    if (!hadController) return; // the first visit: the worker has just taken control
    if (asked) location.reload();
    else onTakenOver();
  });
}
