// Cross-origin isolation (needed for ORT-web threads) and offline use come from the service
// worker (../sw.js) on hosts that cannot send COOP/COEP headers themselves.

/** Automatic reloads closer together than this are not repeated: a reload that did not isolate
 * the page would otherwise loop. */
const RELOAD_GAP_MS = 10_000;

/**
 * Register the service worker. If the page is not cross-origin isolated yet, but the worker
 * controls it or is active (a first visit, or a hard reload, which skips the worker and so its
 * headers), reload once so the isolation headers apply (after `beforeReload`, which keeps what
 * must survive it). Returns false when a reload is under way.
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
  const last = Number(sessionStorage.getItem('alphacut-reloaded-at') || 0);
  if (!self.crossOriginIsolated && navigator.serviceWorker.controller && Date.now() - last <= RELOAD_GAP_MS) {
    sessionStorage.setItem('alphacut-isolation-failed', '1'); // the reload did not isolate: not again in this tab
  }
  if (!self.crossOriginIsolated && (navigator.serviceWorker.controller || reg.active)
      && Date.now() - last > RELOAD_GAP_MS && !sessionStorage.getItem('alphacut-isolation-failed')) {
    sessionStorage.setItem('alphacut-reloaded-at', String(Date.now()));
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
