// Service worker: offline app shell, a runtime cache for the large runtime files, and the
// COOP/COEP/CSP headers that static hosts cannot send. The build writes its id below, so each
// build gets its own caches; activation deletes the others. Model bytes are not cached here:
// they live in IndexedDB, verified by sha256 (worker/model-store.js).
const BUILD = '__BUILD_ID__';
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

function relative(url) {
  return url.startsWith(SCOPE) ? url.slice(SCOPE.length).split('?')[0] : null;
}

function isRuntimeFile(rel) {
  return RUNTIME_PREFIXES.some((p) => rel.startsWith(p));
}

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const res = await fetch('build-info.json', { cache: 'no-store' });
    const info = await res.json();
    const shell = ['./', 'build-info.json',
      ...Object.keys(info.files).filter((rel) => !isRuntimeFile(rel) && !isModelGraph(rel))];
    const cache = await caches.open(SHELL);
    await cache.addAll(shell.map((p) => new Request(p, { cache: 'no-store' })));
    await self.skipWaiting();
  })());
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

async function respond(request, rel) {
  const isRuntime = isRuntimeFile(rel);
  if (!isModelGraph(rel)) {
    const hit = await caches.match(request.mode === 'navigate' ? './' : request, { ignoreSearch: true });
    if (hit) return withHeaders(hit);
  }
  const res = await fetch(request);
  if (isRuntime && res.ok) {
    try {
      const cache = await caches.open(RUNTIME);
      await cache.put(request, res.clone());
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
