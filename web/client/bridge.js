// The page's only way to the worker: a queue of jobs, progress callbacks, and cancellation
// through an AbortSignal. A cancelled running job terminates the worker (Python cannot be
// interrupted mid-call); a fresh worker is started and re-initialised from the cached model.
// Quick requests (export, merge, ...) have a lane of their own beside the cut-outs, one at a
// time, so each can be cancelled without touching the others.
//
// A worker that dies on its own (killed for memory, closed, or a fatal error) fires no event,
// and a busy one cannot answer a heartbeat. So each worker holds a Web Lock for its whole
// life; the bridge queues for the same lock, and is granted it only when that worker is gone.
// Then the running job fails with a reason and a fresh worker takes the queue.
import { BUILD } from './build.js';

/** The longest one cut-out may run before the watchdog stops it (ms). */
export const JOB_LIMIT_MS = 5 * 60 * 1000;
/** A worker that stops on its own is restarted at most this many times within CRASH_WINDOW_MS. */
export const MAX_RESTARTS = 3;
export const CRASH_WINDOW_MS = 60 * 1000;
/** Creating the model's session (pure computation, no network: 2-5 s on a desktop) that takes
 * longer than this has stalled (ms). Seen in Firefox ESR 153 on a loaded 2-core machine: ONNX
 * Runtime's threaded session creation never returned, about one start in ten. A stalled start is
 * restarted once on one thread, then given up with a reason. Only this stage is timed: downloads
 * on a slow network may take minutes, and Pyodide reports no progress while it loads packages. */
export const SESSION_LIMIT_MS = 60 * 1000;
/** While Python starts, the bridge pings the worker every PING_MS; a worker that answers nothing
 * (no progress, no pong) for START_SILENCE_MS has hung, and is restarted once, then given up
 * with a reason. Seen once in Firefox ESR on a loaded 2-core machine: the start sat after
 * Pyodide's runtime had loaded, with no message for 300 s. A healthy start is never that silent:
 * while it waits for the network its thread answers pings, and its longest synchronous step
 * (importing the pipeline) takes seconds. Once Python is ready the pings stop: a cut-out's
 * Python call holds the thread for its whole run, and the job watchdog (JOB_LIMIT_MS) covers it. */
export const START_SILENCE_MS = 60 * 1000;
export const PING_MS = 5 * 1000;

export class Bridge {
  /**
   * @param {{backend?: string, variant?: string, onProgress?: (key, current, total) => void,
   *          onLog?: (msg) => void, workerUrl?: URL}} opts
   */
  constructor({ backend = 'auto', variant = 'auto', onProgress = () => {}, onLog = () => {}, workerUrl } = {}) {
    this.backend = backend;
    this.variant = variant;
    this.onProgress = onProgress;
    this.onLog = onLog;
    // The page's build rides along: the service worker refuses another build's worker (sw.js).
    this.workerUrl = workerUrl || new URL(`../worker/worker.js?build=${BUILD}`, import.meta.url);
    this.queue = [];
    this.current = null;
    this.nextId = 1;
    this.pending = new Map();
    this.requests = []; // requests waiting for their turn
    this.asking = null; // the request the worker has (or is about to get)
    this.about = null;
    this.warmUp = null; // the warm-up's {ms, verdict}, once it has run (start)
    this.ready = null;
    // The watchdog: a cut-out that runs longer than this (decode, model and every step; Python
    // cannot be interrupted) fails with a reason, the worker is restarted and the queue goes on.
    // A 24 MP photo takes about 16 s on a desktop; five minutes leaves room for a slow phone.
    this.jobLimitMs = JOB_LIMIT_MS;
    this.crashWindowMs = CRASH_WINDOW_MS;
    this.sessionLimitMs = SESSION_LIMIT_MS;
    this.startSilenceMs = START_SILENCE_MS;
    this.silentStarts = 0;
    this.threads = null; // {max, why} once a threaded start has stalled
    this.start();
  }

  /** Start (or restart) the worker. */
  start() {
    this.disarmStall(); // the watchdog of a worker being replaced (a crash, a cancel) goes with it
    const worker = new Worker(this.workerUrl, { type: 'module' });
    this.worker = worker;
    this.life?.abort();
    this.life = new AbortController();
    const life = `alphacut-worker-${crypto.randomUUID()}`;
    const signal = this.life.signal;
    worker.heardAt = performance.now();
    worker.onmessage = (e) => {
      worker.heardAt = performance.now();
      if (e.data.type === 'alive') { worker.alive = true; this.watch(worker, life, signal); }
      else this.receive(e.data);
    };
    worker.onerror = (e) => {
      e.preventDefault();
      this.crashed(worker, worker.alive ? `the worker crashed: ${e.message || 'unknown error'}`
        : `the worker could not start: ${e.message || 'its script did not load'}`);
    };
    worker.postMessage({ type: 'live', lock: life });
    // Two stages, started together: `ready` (Python and the pipeline: colour-key cut-outs work
    // from here) and `modelReady` (the verified model and its session, loaded alongside
    // Python; it resolves after both, to the about dict).
    this.ready = this.send({ type: 'init' }, this.onProgress);
    this.pingUntil(worker, this.ready);
    const model = { type: 'model', backend: this.backend, variant: this.variant, threads: this.threads };
    const modelReady = this.send(model, this.onProgress).then((r) => {
      this.about = r.about;
      return r.about;
    });
    this.modelReady = modelReady;
    this.ready.catch(() => {});
    // The session watchdog: armed when the worker starts creating the session (receive), and
    // disarmed once the model is ready or has failed.
    const settle = () => { if (this.modelReady === modelReady) this.disarmStall(); };
    modelReady.then(settle, settle);
    // Once both are ready and no photo waits, a made-up cut-out takes the cost of first calls
    // off the first photo (worker.js, warmUp); a photo sent meanwhile runs right after it.
    modelReady.then(() => {
      if (this.modelReady !== modelReady || this.current || this.queue.length) return;
      this.send({ type: 'warmup' }).then(
        ({ ms, verdict }) => { this.warmUp = { ms, verdict }; this.onLog({ level: 'info', message: `warmed up in ${ms} ms` }); },
        (e) => this.onLog({ level: 'info', message: `the warm-up did not run: ${e.message || e}` }),
      );
    }, () => {});
  }

  /** Ping `worker` until `ready` settles; restart it (once) if it stays silent for startSilenceMs. */
  pingUntil(worker, ready) {
    const timer = setInterval(() => {
      if (this.worker !== worker) { clearInterval(timer); return; }
      if (performance.now() - worker.heardAt > this.startSilenceMs) { clearInterval(timer); this.silent(worker); return; }
      worker.postMessage({ type: 'ping' });
    }, PING_MS);
    const done = () => clearInterval(timer);
    ready.then(() => { done(); this.silentStarts = 0; }, done);
  }

  /** A starting worker answered nothing for startSilenceMs: restart it once, then give up. */
  silent(worker) {
    const reason = `the worker stopped answering while Python started (no message for ${Math.round(this.startSilenceMs / 1000)} s)`;
    if (this.silentStarts > 0) {
      worker.terminate();
      this.stop(new Error(`${reason}, twice: reload the page`));
      return;
    }
    this.silentStarts += 1;
    this.onLog({ level: 'warn', message: `${reason}; restarting it` });
    this.restart();
  }

  armStall() {
    clearTimeout(this.stallTimer);
    this.stallTimer = setTimeout(() => this.stalled(), this.sessionLimitMs);
  }

  disarmStall() {
    clearTimeout(this.stallTimer);
    this.stallTimer = null;
  }

  /** Creating the session took longer than sessionLimitMs: restart once on one thread, then give up. */
  stalled() {
    this.stallTimer = null;
    const reason = `creating the model's session stalled (not done after ${Math.round(this.sessionLimitMs / 1000)} s)`;
    if (this.threads) {
      this.worker.terminate();
      this.stop(new Error(`${reason}, on one thread too: reload the page`));
      return;
    }
    this.threads = { max: 1, why: 'a start on several threads stalled' };
    this.onLog({ level: 'warn', message: `${reason}; restarting it on one thread` });
    this.restart();
  }

  /** Post `msg`; resolves to the worker's result. With `replay`, a restart of the worker (a
   * cancel, the watchdog, a crash) sends it again to the new one, once, instead of failing it. */
  send(msg, onProgress, transfer = [], { replay = false, owner = null } = {}) {
    if (this.stopped) return Promise.reject(this.stopped);
    return new Promise((resolve, reject) => {
      this.post({ resolve, reject, onProgress, msg: replay ? msg : null, replays: 0, owner }, msg, transfer);
    });
  }

  post(entry, msg, transfer = []) {
    const id = this.nextId++;
    this.pending.set(id, entry);
    this.worker.postMessage({ ...msg, id }, transfer);
  }

  /**
   * A quick call ('precheck', 'export', 'merge', 'problems') once the worker is ready.
   * Requests take turns, one at a time, beside the running cut-out. With `signal`, a request is
   * cancelled on its own: one still waiting is dropped; the one the worker is running is stopped
   * by replacing the worker (Python cannot be interrupted mid-call), and the cut-out that worker
   * was running goes back to the head of the queue, so no work is lost. A restart for another
   * reason (a cancelled cut-out, the watchdog, a crash) sends the running request again, once,
   * unless its bytes were transferred (and so are gone).
   * @param {{transfer?: ArrayBuffer[], signal?: AbortSignal}} opts
   */
  request(type, payload, { transfer = [], signal } = {}) {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) { reject(cancelled()); return; }
      if (this.stopped) { reject(this.stopped); return; }
      const req = { msg: { type, ...payload }, transfer, resolve, reject, posted: false };
      signal?.addEventListener('abort', () => this.cancelRequest(req), { once: true });
      this.requests.push(req);
      this.pumpRequests();
    });
  }

  async pumpRequests() {
    if (this.asking || this.requests.length === 0) return;
    const req = this.requests.shift();
    this.asking = req;
    try {
      await this.settled('ready');
      if (this.asking !== req) return; // cancelled while the worker was starting
      req.posted = true;
      const r = await this.send(req.msg, null, req.transfer, { replay: req.transfer.length === 0, owner: req });
      if (this.asking === req) req.resolve(r);
    } catch (e) {
      if (this.asking === req) req.reject(e);
    } finally {
      if (this.asking === req) this.asking = null;
      this.pumpRequests();
    }
  }

  cancelRequest(req) {
    const i = this.requests.indexOf(req);
    if (i >= 0) { this.requests.splice(i, 1); req.reject(cancelled()); return; }
    if (this.asking !== req) return; // already settled
    this.asking = null;
    req.reject(cancelled());
    if (req.posted && !this.stopped) {
      for (const [id, entry] of this.pending) if (entry.owner === req) this.pending.delete(id);
      const job = this.current;
      this.current = null;
      if (job) this.queue.unshift(job); // its worker is going: it runs again on the next one
      this.restart();
      this.pump();
    }
    this.pumpRequests();
  }

  /** `this.ready` or `this.modelReady`, following restarts: a start that failed but was
   * followed by a successful restart resolves. */
  async settled(key) {
    for (;;) {
      const stage = this[key];
      try {
        return await stage;
      } catch (e) {
        if (this[key] === stage) throw e;
      }
    }
  }

  /** The worker is being replaced: fail what cannot be sent again with `err`; return the rest. */
  takeReplays(err) {
    const again = [];
    for (const entry of this.pending.values()) {
      if (entry.msg && entry.replays < 1) again.push(entry);
      else entry.reject(err);
    }
    this.pending.clear();
    return again;
  }

  /** Send `entries` (from takeReplays) to the new worker once it is ready. */
  replay(entries) {
    for (const entry of entries) {
      entry.replays += 1;
      this.settled('ready').then(() => this.post(entry, entry.msg), entry.reject);
    }
  }

  receive(msg) {
    if (msg.type === 'log') { this.onLog(msg); return; }
    const p = this.pending.get(msg.id);
    if (!p) return;
    if (msg.type === 'progress') {
      if (msg.key === 'compute:session') this.armStall();
      this.lastProgress = { key: msg.key, current: msg.current, total: msg.total, at: Math.round(performance.now()) };
      p.onProgress?.(msg.key, msg.current, msg.total);
      return;
    }
    this.pending.delete(msg.id);
    if (msg.type === 'result') p.resolve(msg);
    else p.reject(new Error(msg.message));
  }

  /** Wait for `worker`'s life lock: granted only once that worker has stopped. */
  watch(worker, lock, signal) {
    // Without Web Locks (Safari before 15.4) a worker that dies silently, killed for memory, is
    // noticed only by the watchdog (jobLimitMs); errors it reports still restart it at once.
    if (!navigator.locks) return;
    navigator.locks.request(lock, { signal }, () => {
      this.crashed(worker, 'the worker stopped unexpectedly (it may have run out of memory)');
    }).catch(() => {}); // aborted: the bridge itself replaced this worker
  }

  /** `worker` died on its own: fail what it was doing and start a fresh one for the queue. */
  crashed(worker, reason) {
    if (worker !== this.worker) return; // already replaced
    worker.terminate();
    if (!worker.alive) { // it never started (its script failed to load): restarting would loop
      this.failAll(new Error(reason));
      return;
    }
    const job = this.current;
    this.current = null;
    const now = Date.now();
    this.crashes = (this.crashes || []).filter((t) => now - t < this.crashWindowMs).concat(now);
    if (this.crashes.length > MAX_RESTARTS) { // it keeps stopping: restarting would loop
      job?.reject(this.stop(new Error(`${reason}; it stopped ${this.crashes.length} times within `
        + `${Math.round(this.crashWindowMs / 1000)} s, so it was not restarted: reload the page`)));
      return;
    }
    this.onLog({ level: 'warn', message: `${reason}; restarting it` });
    const again = this.takeReplays(new Error(`${reason}; it was restarted, try again`));
    job?.reject(new Error(`${reason}; it was restarted, try again`));
    this.start();
    this.replay(again);
    this.pump();
  }

  /** Give up on the worker: fail everything pending and queued with `err`, and refuse new work. */
  stop(err) {
    this.disarmStall();
    this.stopped = err;
    this.onLog({ level: 'warn', message: err.message });
    const job = this.current;
    this.current = null;
    job?.reject(err);
    this.failAll(err);
    for (const queued of this.queue.splice(0)) queued.reject(err);
    for (const req of this.requests.splice(0)) req.reject(err);
    return err;
  }

  failAll(err) {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  restart() {
    this.worker.terminate();
    const again = this.takeReplays(new Error('cancelled'));
    this.start();
    this.replay(again);
  }

  /**
   * Queue a cut-out. Resolves to {png: ArrayBuffer, coarse: ArrayBuffer, report}.
   * @param {ArrayBuffer} bytes  the file (copied to the worker, so that the job can run again on a
   *   new worker when a cancelled request replaces the one running it)
   * @param {object} options  pipeline options (snake_case, as Python takes them)
   * @param {{signal?: AbortSignal, onProgress?: Function, coarse?: ArrayBuffer,
   *          strokes?: Uint8Array, strokesShape?: number[]}} opts
   *   With `coarse` (from an earlier result) the model is skipped: only post-processing runs.
   */
  cutout(bytes, options, { signal, onProgress, coarse, strokes, strokesShape } = {}) {
    return new Promise((resolve, reject) => {
      const extra = { coarse, strokes, strokesShape };
      const job = { bytes, options, extra, signal, onProgress, resolve, reject };
      if (signal?.aborted) { reject(cancelled()); return; }
      if (this.stopped) { reject(this.stopped); return; }
      signal?.addEventListener('abort', () => this.cancel(job), { once: true });
      this.queue.push(job);
      this.pump();
    });
  }

  cancel(job) {
    const i = this.queue.indexOf(job);
    if (i >= 0) { this.queue.splice(i, 1); job.reject(cancelled()); return; }
    if (this.current === job) {
      this.current = null;
      job.reject(cancelled());
      this.restart();
      this.pump();
    }
  }

  async pump() {
    if (this.current || this.queue.length === 0) return;
    const job = this.queue.shift();
    // A job can run more than once (requeued by cancelRequest): only its latest run settles it.
    const run = job.runs = (job.runs || 0) + 1;
    const mine = () => this.current === job && job.runs === run;
    this.current = job;
    let timer;
    try {
      await this.settled('ready');
      if (!mine()) return;
      const msg = { type: 'cutout', bytes: job.bytes, options: job.options, ...job.extra };
      timer = setTimeout(() => this.overran(job), this.jobLimitMs);
      const r = await this.send(msg, job.onProgress);
      if (mine()) job.resolve({ png: r.png, coarse: r.coarse, report: r.report });
    } catch (e) {
      if (mine()) job.reject(e);
    } finally {
      clearTimeout(timer);
      if (mine()) this.current = null;
      this.pump();
    }
  }

  /** The running `job` passed the watchdog's limit: fail it, restart the worker, go on. */
  overran(job) {
    if (this.current !== job) return;
    this.current = null;
    const s = Math.round(this.jobLimitMs / 100) / 10;
    job.reject(new Error(`it ran longer than ${s} s, the limit for one photo, so it was stopped`));
    this.onLog({ level: 'warn', message: `a cut-out passed the ${s} s limit; restarting the worker` });
    this.restart();
    this.pump();
  }
}

/** What a cancelled job or request rejects with. */
function cancelled() {
  return new DOMException('cancelled', 'AbortError');
}
