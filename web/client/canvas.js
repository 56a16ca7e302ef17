// A 2D canvas off the page, and its PNG: OffscreenCanvas where the browser has it (Safari from
// 16.4), a detached <canvas> element otherwise. Both draw the same; only the PNG call differs.

/** A canvas of `width` x `height` that is not shown. */
export function offscreen(width, height) {
  if (typeof OffscreenCanvas === 'function') return new OffscreenCanvas(width, height);
  return Object.assign(document.createElement('canvas'), { width, height });
}

/** The canvas's pixels as a PNG Blob. */
export function pngBlob(canvas) {
  if (canvas.convertToBlob) return canvas.convertToBlob({ type: 'image/png' });
  return new Promise((resolve, reject) => canvas.toBlob(
    (blob) => (blob ? resolve(blob) : reject(new Error('the browser could not encode the canvas'))), 'image/png'));
}
