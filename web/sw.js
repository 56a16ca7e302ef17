// Service worker: offline app shell, a runtime cache for the large runtime files, and the
// COOP/COEP/CSP headers that static hosts cannot send. The build writes its id below, so each
// build gets its own caches; activation deletes the others. Every file is checked against this
// build's sha256 before it is cached (FILES), and a cached file again the first time this worker
// serves it. Model bytes are not cached here: they live in IndexedDB, verified by sha256
// (worker/model-store.js).
//
// Updates, as Squoosh does them: the first install takes over at once (there is nothing to mix
// with). A later build installs beside the running one with everything it needs offline (runtime
// files copied from the older cache where their bytes are the same, fetched where not) and waits;
// the page offers "A new version is ready: Reload", and only that click activates it. Until then
// open tabs keep their build's files. A tab of an older build that is taken over anyway (another
// tab reloaded) cannot start this build's worker under its page: the worker's URL names the page's
// build, and another build's is refused.
const BUILD = '__BUILD_ID__';
// sha256 of every file of this build that may be cached here (written by tools/build_site.py).
// Nothing is cached unless it matches: a file of another deploy never enters this build's caches.
const FILES = __FILES__;
// The build's own manifest, written after the hashes: it must name this build.
const INFO = 'build-info.json';
const SHELL = `alphacut-shell-${BUILD}`;
const RUNTIME = `alphacut-runtime-${BUILD}`;
const RUNTIME_PREFIXES = ['vendor/', 'wheels/'];
// Model graphs are hundreds of MB: IndexedDB keeps them, not the Cache API.
const isModelGraph = (rel) => rel.endsWith('.onnx');
const HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Content-Security-Policy': "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self' blob:; "
    + "connect-src 'self'; img-src 'self' blob: data:; style-src 'self'; object-src 'none'; base-uri 'none'; "
    + "form-action 'none'; frame-ancestors 'none'",
};
const SCOPE = new URL('./', self.location).href;
const WORKER_ENTRY = 'worker/worker.js';
// Cached files whose bytes this worker has checked since it started (see `cached`).
const checked = new Set();

function relative(url) {
  return url.startsWith(SCOPE) ? url.slice(SCOPE.length).split('?')[0] : null;
}

function isRuntimeFile(rel) {
  return RUNTIME_PREFIXES.some((p) => rel.startsWith(p));
}

/** Whether `res` (a response for the build file `rel`; '' is the page) has this build's bytes. */
async function matches(rel, res) {
  if (rel === INFO) return (await res.clone().json().catch(() => ({}))).build === BUILD;
  const want = FILES[rel === '' ? 'index.html' : rel];
  if (!want) return false;
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', await res.clone().arrayBuffer()));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('') === want;
}

/** Fetch the build file `rel` past any HTTP cache's stale copy, and check it is this build's. */
async function fetchChecked(rel) {
  const res = await fetch(new Request(rel || './', { cache: 'no-cache' }));
  if (!res.ok || !(await matches(rel, res))) throw new Error(`${rel || 'the page'} does not match build ${BUILD}`);
  return res;
}

/** Runtime files for this build's cache: a copy from an older build's cache where the bytes are
 * the same; the others fetched now if `fetchMissing` (an update), else left for first use. */
async function carryRuntime(fetchMissing) {
  const runtime = await caches.open(RUNTIME);
  const older = await Promise.all((await caches.keys())
    .filter((n) => n.startsWith('alphacut-runtime-') && n !== RUNTIME).map((n) => caches.open(n)));
  await Promise.all(Object.keys(FILES).filter(isRuntimeFile).map(async (rel) => {
    for (const cache of older) {
      const hit = await cache.match(rel, { ignoreSearch: true });
      if (hit && (await matches(rel, hit))) return runtime.put(rel, hit);
    }
    if (fetchMissing) await runtime.put(rel, await fetchChecked(rel));
  }));
}

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const update = Boolean(self.registration.active);
    const shell = ['', INFO, ...Object.keys(FILES).filter((rel) => !isRuntimeFile(rel))];
    const cache = await caches.open(SHELL);
    await Promise.all(shell.map(async (rel) => cache.put(rel || './', await fetchChecked(rel))));
    await carryRuntime(update);
    if (!update) await self.skipWaiting();
  })());
});

// The page's "Reload" on "A new version is ready".
self.addEventListener('message', (event) => {
  if (event.data?.type === 'skip-waiting') self.skipWaiting();
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    const keep = new Set([SHELL, RUNTIME]);
    const names = await caches.keys();
    await Promise.all(names.filter((n) => n.startsWith('alphacut-') && !keep.has(n)).map((n) => caches.delete(n)));
    await self.clients.claim();
  })());
});

function withHeaders(res) {
  if (res.type === 'opaque' || res.status === 0) return res;
  const headers = new Headers(res.headers);
  for (const [k, v] of Object.entries(HEADERS)) headers.set(k, v);
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
}

/** A cached response for `rel`, checked against this build's sha256 the first time this worker
 * serves it; a copy that no longer matches (damaged on disk, or altered) is dropped. */
async function cached(request, rel) {
  const key = request.mode === 'navigate' ? './' : request;
  const hit = await caches.match(key, { ignoreSearch: true });
  if (!hit || checked.has(rel)) return hit;
  if (await matches(request.mode === 'navigate' ? '' : rel, hit)) {
    checked.add(rel);
    return hit;
  }
  console.warn(`alphacut: the cached ${rel || 'page'} is damaged: fetching it again`);
  await Promise.all([SHELL, RUNTIME].map(async (name) => (await caches.open(name)).delete(key, { ignoreSearch: true })));
  return null;
}

async function respond(request, rel) {
  const isRuntime = isRuntimeFile(rel);
  if (rel === WORKER_ENTRY) {
    const build = new URL(request.url).searchParams.get('build');
    if (build && build !== BUILD) {
      return new Response(`this tab runs alphacut build ${build}; build ${BUILD} is now active: reload the page`,
        { status: 409 });
    }
  }
  if (!isModelGraph(rel)) {
    const hit = await cached(request, rel);
    if (hit) return withHeaders(hit);
  }
  const res = await fetch(request, { cache: 'no-cache' });
  const page = request.mode === 'navigate';
  if (res.status === 200 && !isModelGraph(rel) && (page || rel in FILES || rel === INFO)) {
    // A runtime file on first use, or a shell file again after "Clear cached data": cached if
    // it is this build's; a file of another deploy is not served to this build's page.
    if (!(await matches(page ? '' : rel, res))) {
      console.warn(`alphacut: ${rel || 'the page'} on the server is not build ${BUILD}'s: reload to update`);
      if (!page) return new Response(`${rel} changed on the server (a new version): reload the page`, { status: 503 });
      return withHeaders(res);
    }
    try {
      const cache = await caches.open(isRuntime ? RUNTIME : SHELL);
      await cache.put(page ? './' : request, res.clone());
    } catch (e) {
      // Storage full or unavailable: serve from the network; offline use needs the cache.
      console.warn(`alphacut: not cached for offline use (${e.message}): ${rel}`);
    }
  }
  return withHeaders(res);
}

self.addEventListener('fetch', (event) => {
  const { request } = event;
  const rel = relative(request.url);
  if (request.method !== 'GET' || rel === null) return;
  event.respondWith(respond(request, rel));
});
