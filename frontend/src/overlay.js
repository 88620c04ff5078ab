// Prediction overlay: the newest model output drawn over the displayed slice on a 2-D canvas.
//
// Labelmaps are uint8 (rows × columns), 0 = not classified, k = classes[k - 1]; probability maps
// are float32 synovitis probabilities in 0..1. Both are per slice and shared by all phases.

import { Enums as csEnums } from '@cornerstonejs/core';

import { parseImageId } from './imageLoader.js';
import { hexToRgb, paintOverlay, prepareOverlayCanvas } from './overlayCanvas.js';

export const OVERLAY_MODES = ['off', 'synovitis', 'classes', 'probability'];

// Job status of a prediction whose maps are written (the others: queued, running, failed).
const DONE = 'done';
const SYNOVITIS = 'synovitis';
const MAX_CACHED_SLICES = 64;

/** Map probability p in 0..1 to a yellow-to-red ramp with alpha growing with p. */
function probabilityColor(p) {
  return [255, Math.round(255 * (1 - p)), 0, Math.round(255 * p)];
}

export class PredictionOverlay {
  constructor({ client, series, labels, viewer, predictionId }) {
    this.client = client;
    this.series = series;
    this.labels = labels;
    this.viewer = viewer;
    this.requestedId = predictionId ? Number(predictionId) : null;
    this.prediction = null;
    this.mode = 'off';
    this.opacity = 0.5;
    this.cache = new Map();
    this.listeners = { error: [], status: [] };
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'pm-overlay';
    this.drawGeneration = 0;
  }

  on(event, callback) {
    this.listeners[event].push(callback);
  }

  emit(event, ...args) {
    for (const callback of this.listeners[event]) {
      callback(...args);
    }
  }

  /** Put the canvas between the image and Cornerstone's SVG annotation layer. */
  attach() {
    const element = this.viewer.element;
    const imageCanvas = element.querySelector('canvas');
    imageCanvas.insertAdjacentElement('afterend', this.canvas);
    element.addEventListener(csEnums.Events.IMAGE_RENDERED, () => this.draw());
  }

  /** Pick the requested prediction, or the newest finished one. Returns it or null. */
  async load() {
    const list = await this.client.getJson(`series/${this.series.id}/predictions/`);
    const finished = list.filter((item) => item.status === DONE);
    this.prediction =
      (this.requestedId && list.find((item) => item.id === this.requestedId)) || finished[0] || null;
    this.cache.clear();
    return this.prediction;
  }

  setMode(mode) {
    this.mode = mode;
    this.draw();
  }

  setOpacity(opacity) {
    this.opacity = opacity;
    this.draw();
  }

  async fetchMap(kind, slice) {
    const key = `${kind}:${slice}`;
    if (!this.cache.has(key)) {
      if (this.cache.size >= MAX_CACHED_SLICES) {
        this.cache.delete(this.cache.keys().next().value);
      }
      const path = `predictions/${this.prediction.id}/${kind}/${slice}/`;
      const request = this.client.getBinary(path).then((buffer) =>
        kind === 'labelmap' ? new Uint8Array(buffer) : new Float32Array(buffer),
      );
      this.cache.set(key, request);
      request.catch(() => this.cache.delete(key));
    }
    return this.cache.get(key);
  }

  async draw() {
    const generation = ++this.drawGeneration;
    const context = prepareOverlayCanvas(this.canvas, this.viewer.element);
    const imageId = this.viewer.currentImageId();
    if (!context || this.mode === 'off' || !this.prediction || !imageId) {
      return;
    }
    const { slice } = parseImageId(imageId);
    let rgba;
    try {
      rgba = await this.colourise(slice);
    } catch (error) {
      this.emit('error', 'actionLoadPrediction', error);
      return;
    }
    if (generation !== this.drawGeneration) {
      return;
    }
    paintOverlay(context, this.viewer, imageId, rgba, this.opacity);
  }

  async colourise(slice) {
    const [, , rows, columns] = this.series.shape;
    const rgba = new Uint8ClampedArray(rows * columns * 4);
    if (this.mode === 'probability') {
      const probability = await this.fetchMap('probability', slice);
      for (let i = 0; i < probability.length; i++) {
        rgba.set(probabilityColor(Math.min(1, Math.max(0, probability[i]))), i * 4);
      }
      return new ImageData(rgba, columns, rows);
    }
    const labelmap = await this.fetchMap('labelmap', slice);
    const palette = this.palette();
    for (let i = 0; i < labelmap.length; i++) {
      const colour = palette[labelmap[i]];
      if (colour) {
        rgba.set(colour, i * 4);
      }
    }
    return new ImageData(rgba, columns, rows);
  }

  /** RGBA per labelmap value; classes not shown in the current mode stay transparent. */
  palette() {
    const palette = [null];
    for (const name of this.prediction.classes) {
      const shown = this.mode === 'classes' || name === SYNOVITIS;
      const hex = this.labels.get(name)?.color ?? '#ff00ff';
      palette.push(shown ? [...hexToRgb(hex), 255] : null);
    }
    return palette;
  }
}
