// A worker's life lock: the worker that started this one learns of its death, even a silent one
// (killed for memory), when the lock is freed.

/**
 * Hold Web Lock `name` until this worker stops, then say {type: 'alive'} through `post`. Without
 * Web Locks (Safari before 15.4) only say it: a silent death then goes unnoticed here.
 */
export function holdLife(name, post) {
  if (!navigator.locks) { post({ type: 'alive' }); return; }
  navigator.locks.request(name, () => {
    post({ type: 'alive' });
    return new Promise(() => {});
  });
}
