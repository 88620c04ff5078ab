// Drawing of image-sized RGBA maps on a 2-D canvas laid over the Cornerstone viewport.

import { pixelToWorld } from './geometry.js';

/** Size `canvas` to the viewport element and clear it; returns its 2-D context, or null if hidden. */
export function prepareOverlayCanvas(canvas, element) {
  const { clientWidth, clientHeight } = element;
  if (!clientWidth || !clientHeight) {
    return null;
  }
  const ratio = window.devicePixelRatio || 1;
  const width = Math.round(clientWidth * ratio);
  const height = Math.round(clientHeight * ratio);
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  const context = canvas.getContext('2d');
  context.setTransform(1, 0, 0, 1, 0, 0);
  context.clearRect(0, 0, width, height);
  return context;
}

/**
 * Draw an ImageData of rows × columns pixels with the viewport's current image-to-canvas transform.
 * @param {CanvasRenderingContext2D} context from prepareOverlayCanvas
 * @param {import('./stackViewer.js').StackViewer} viewer
 * @param {string} imageId the displayed image, whose plane geometry places the map
 * @param {ImageData} rgba one RGBA value per image pixel
 * @param {number} opacity 0..1
 */
export function paintOverlay(context, viewer, imageId, rgba, opacity) {
  const { width: columns, height: rows } = rgba;
  const bitmap = document.createElement('canvas');
  bitmap.width = columns;
  bitmap.height = rows;
  bitmap.getContext('2d').putImageData(rgba, 0, 0);

  // Outer pixel edges: pixel centres sit at integers, so the image spans -0.5 .. n - 0.5.
  const toCanvas = (column, row) => viewer.worldToCanvas(pixelToWorld(imageId, [column, row]));
  const origin = toCanvas(-0.5, -0.5);
  const right = toCanvas(columns - 0.5, -0.5);
  const down = toCanvas(-0.5, rows - 0.5);
  const ratio = window.devicePixelRatio || 1;
  context.setTransform(
    (ratio * (right[0] - origin[0])) / columns,
    (ratio * (right[1] - origin[1])) / columns,
    (ratio * (down[0] - origin[0])) / rows,
    (ratio * (down[1] - origin[1])) / rows,
    ratio * origin[0],
    ratio * origin[1],
  );
  context.imageSmoothingEnabled = false;
  context.globalAlpha = opacity;
  context.drawImage(bitmap, 0, 0);
}

/** '#rrggbb' -> [r, g, b] in 0..255. */
export function hexToRgb(hex) {
  const value = Number.parseInt(hex.replace('#', ''), 16);
  return [(value >> 16) & 255, (value >> 8) & 255, value & 255];
}
