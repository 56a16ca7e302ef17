// Cross-origin isolation (needed for ORT-web threads) and offline use come from the service
// worker (../sw.js) on hosts that cannot send COOP/COEP headers themselves.

/** The URL parameter that marks the one automatic navigation made for isolation. */
const ISOLATING = 'isolating';

/**
 * Register the service worker. If the page is not cross-origin isolated yet, but the worker is
 * active (a first visit, or a hard reload, which skips it), load the page again once through the
 * worker so the isolation headers apply (after `beforeReload`, which keeps what must survive it).
 * Returns false when that navigation is under way.
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
  // One automatic navigation, marked in the URL (not in sessionStorage: Chromium gives the
  // isolated page and the pages around it different copies, so a flag cleared there comes back).
  // The mark is dropped once the page is isolated; a page that arrives marked and still not
  // isolated is not sent round again (no loop) and runs on one thread, saying why.
  const url = new URL(location.href);
  const marked = url.searchParams.has(ISOLATING);
  if (self.crossOriginIsolated) {
    if (marked) {
      url.searchParams.delete(ISOLATING);
      history.replaceState(history.state, '', url);
    }
    return true;
  }
  // Not isolated while the worker is active: a first visit (the worker has just taken the page),
  // or a hard reload, which skips the worker for that one navigation. A plain navigation then
  // comes back through it, with its headers.
  if ((navigator.serviceWorker.controller || reg.active) && !marked) {
    await beforeReload();
    url.searchParams.set(ISOLATING, '1');
    location.replace(url);
    return false;
  }
  return true;
}

/**
 * Watch for a new build of the site. `onWaiting(activate)`: one is installed and waits; calling
 * `activate()` switches to it and reloads this tab. `onTakenOver()`: another tab switched, so
 * this tab now runs an older page under the new build (it should be reloaded). A change of
 * controller with no new build seen (none installing or waiting when this tab started, no
 * `updatefound` since) is not a takeover. WebKitGTK once said "another tab" on a first visit (1
 * of 6 runs), most likely because the first visit's `clients.claim()` reached the page already
 * reloaded for isolation.
 */
export function watchUpdates(reg, { onWaiting, onTakenOver }) {
  if (!reg) return;
  const hadController = Boolean(navigator.serviceWorker.controller);
  let newBuild = Boolean(reg.installing || reg.waiting);
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
    newBuild = true;
    const installing = reg.installing;
    installing?.addEventListener('statechange', () => { if (installing.state === 'installed') offer(); });
  });
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    if (!hadController) return; // the first visit: the worker has just taken control
    if (!newBuild) return; // the same build's worker again (see above)
    if (asked) location.reload();
    else onTakenOver();
  });
}
