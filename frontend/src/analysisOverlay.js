// Analysis overlay: one layer of the shown TIC analysis drawn over the displayed slice.
//
// Continuous maps use the viridis colour map over a display range (by default the 2nd–98th
// percentile of the slice's finite values), the shape-type layer uses the legend colours of the
// types switched on, and masks use one colour. NaN and 0 in masks are transparent. Map values of
// noise pixels (shape type 0) are hidden by default, because their relative enhancement is
// meaningless and would set the display range.

import { Enums as csEnums } from '@cornerstonejs/core';

import { colouriseLabels, colouriseMap, finitePercentiles, viridisLut } from './colormap.js';
import { parseImageId } from './imageLoader.js';
import { hexToRgb, paintOverlay, prepareOverlayCanvas } from './overlayCanvas.js';

export const NO_LAYER = 'none';
const AUTO_PERCENTILES = [0.02, 0.98];
// Shape types 0 (noise) and 1 (no enhancement) start hidden, because their dark legend
// colours would cover most of the image.
const INITIALLY_HIDDEN_TYPES = [0, 1];
const NOISE_TYPE = 0;

export class AnalysisOverlay {
  /**
   * @param {object} options
   * @param {import('./analysis.js').AnalysisSource} options.source
   * @param {import('./stackViewer.js').StackViewer} options.viewer
   * @param {object} options.series series JSON
   * @param {Record<string, string>} options.maskColors layer name -> '#rrggbb'
   */
  constructor({ source, viewer, series, maskColors }) {
    this.source = source;
    this.viewer = viewer;
    this.series = series;
    this.maskColors = maskColors;
    this.layerName = NO_LAYER;
    this.opacity = 0.6;
    /** Display range of continuous maps; `auto` follows the percentiles of each slice. */
    this.range = { min: 0, max: 1, auto: true };
    // On by default, so non-enhancing tissue does not cover the image in the lowest colour.
    this.hideBelow = true;
    this.hideNoise = true;
    this.hiddenTypes = new Set(INITIALLY_HIDDEN_TYPES);
    this.lut = viridisLut();
    this.drawGeneration = 0;
    this.listeners = { range: [], error: [] };
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'pm-overlay pm-analysis-overlay';
    this.canvas.dataset.state = 'empty';
  }

  on(event, callback) {
    this.listeners[event].push(callback);
  }

  emit(event, ...args) {
    for (const callback of this.listeners[event]) {
      callback(...args);
    }
  }

  /** Put the canvas above the image (after `below`, e.g. the prediction overlay canvas). */
  attach(below) {
    below.insertAdjacentElement('afterend', this.canvas);
    this.viewer.element.addEventListener(csEnums.Events.IMAGE_RENDERED, () => this.draw());
  }

  layer() {
    return this.layerName === NO_LAYER ? null : this.source.layer(this.layerName);
  }

  setLayer(name) {
    this.layerName = name;
    this.range.auto = true;
    this.draw();
  }

  setOpacity(opacity) {
    this.opacity = opacity;
    this.draw();
  }

  /** Fix the display range; pass auto = true to go back to the slice percentiles. */
  setRange(min, max, auto = false) {
    this.range = { min, max, auto };
    this.draw();
  }

  setHideBelow(hide) {
    this.hideBelow = hide;
    this.draw();
  }

  setHideNoise(hide) {
    this.hideNoise = hide;
    this.draw();
  }

  setTypeShown(value, shown) {
    if (shown) {
      this.hiddenTypes.delete(value);
    } else {
      this.hiddenTypes.add(value);
    }
    this.draw();
  }

  async draw() {
    const generation = ++this.drawGeneration;
    const context = prepareOverlayCanvas(this.canvas, this.viewer.element);
    const imageId = this.viewer.currentImageId();
    const layer = this.layer();
    if (!context || !layer || !imageId) {
      this.canvas.dataset.state = 'empty';
      return;
    }
    const { slice } = parseImageId(imageId);
    let rgba;
    try {
      rgba = this.colourise(layer, await this.layerValues(layer, slice));
    } catch (error) {
      this.canvas.dataset.state = 'error';
      this.emit('error', 'actionLoadLayer', error);
      return;
    }
    if (generation !== this.drawGeneration) {
      return;
    }
    paintOverlay(context, this.viewer, imageId, rgba, this.opacity);
    this.canvas.dataset.layer = layer.name;
    this.canvas.dataset.slice = String(slice);
    this.canvas.dataset.state = 'drawn';
  }

  /** Fetch the layer slice. For maps with `hideNoise` set, return a copy with NaN at noise pixels. */
  async layerValues(layer, slice) {
    const values = await this.source.fetchSlice(layer.name, slice);
    if (layer.kind !== 'map' || !this.hideNoise) {
      return values;
    }
    const types = await this.source.fetchSlice('shape_types', slice);
    const shown = Float32Array.from(values);
    for (let i = 0; i < shown.length; i++) {
      if (types[i] === NOISE_TYPE) {
        shown[i] = Number.NaN;
      }
    }
    return shown;
  }

  colourise(layer, values) {
    const [, , rows, columns] = this.series.shape;
    if (layer.kind === 'map') {
      this.updateAutoRange(values);
      const { min, max } = this.range;
      return colouriseMap(values, columns, rows, { min, max, lut: this.lut, hideBelow: this.hideBelow });
    }
    return colouriseLabels(values, columns, rows, this.palette(layer));
  }

  updateAutoRange(values) {
    if (!this.range.auto) {
      return;
    }
    const [min, max] = finitePercentiles(values, AUTO_PERCENTILES) ?? [0, 1];
    this.range = { min, max, auto: true };
    this.emit('range', this.range);
  }

  /** RGB per label value: legend colours of the shown types, or the mask colour for 1. */
  palette(layer) {
    if (layer.kind === 'categorical') {
      const palette = [];
      for (const entry of layer.legend) {
        palette[entry.value] = this.hiddenTypes.has(entry.value) ? null : hexToRgb(entry.color);
      }
      return palette;
    }
    return [null, hexToRgb(this.maskColors[layer.name] ?? '#ff00ff')];
  }
}
