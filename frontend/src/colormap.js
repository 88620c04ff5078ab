// Colour maps of the continuous analysis layers, and the display range of a map slice.

import { hexToRgb } from './overlayCanvas.js';

// Viridis (perceptually uniform, readable with colour-vision deficiency) at 0, 0.1, …, 1.
const VIRIDIS_STOPS = [
  '#440154', '#482475', '#414487', '#355f8d', '#2a788e', '#21918c',
  '#22a884', '#44bf70', '#7ad151', '#bddf26', '#fde725',
].map(hexToRgb);

export const LUT_SIZE = 256;

/** RGB lookup table (LUT_SIZE × 3, Uint8Array) interpolated linearly between the viridis stops. */
export function viridisLut() {
  const lut = new Uint8Array(LUT_SIZE * 3);
  const segments = VIRIDIS_STOPS.length - 1;
  for (let i = 0; i < LUT_SIZE; i++) {
    const position = (i / (LUT_SIZE - 1)) * segments;
    const low = Math.min(segments - 1, Math.floor(position));
    const weight = position - low;
    for (let channel = 0; channel < 3; channel++) {
      const a = VIRIDIS_STOPS[low][channel];
      const b = VIRIDIS_STOPS[low + 1][channel];
      lut[i * 3 + channel] = Math.round(a + (b - a) * weight);
    }
  }
  return lut;
}

/**
 * Percentiles of the finite values of a map slice, by linear interpolation between ranks.
 * @param {Float32Array} values one map slice (NaN where undefined)
 * @param {number[]} fractions e.g. [0.02, 0.98]
 * @returns {number[]|null} one value per fraction, or null when no value is finite
 */
export function finitePercentiles(values, fractions) {
  const finite = values.filter(Number.isFinite);
  if (!finite.length) {
    return null;
  }
  finite.sort();
  return fractions.map((fraction) => {
    const rank = fraction * (finite.length - 1);
    const low = Math.floor(rank);
    const high = Math.min(finite.length - 1, low + 1);
    return finite[low] + (finite[high] - finite[low]) * (rank - low);
  });
}

/**
 * Colour a map slice: NaN is transparent, values are clamped to [min, max] unless
 * `hideBelow` makes values under `min` transparent.
 * @returns {ImageData} columns × rows
 */
export function colouriseMap(values, columns, rows, { min, max, lut, hideBelow = false }) {
  const rgba = new Uint8ClampedArray(rows * columns * 4);
  const span = max > min ? max - min : 1;
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (!Number.isFinite(value) || (hideBelow && value < min)) {
      continue;
    }
    const fraction = Math.min(1, Math.max(0, (value - min) / span));
    const entry = Math.round(fraction * (LUT_SIZE - 1)) * 3;
    rgba[i * 4] = lut[entry];
    rgba[i * 4 + 1] = lut[entry + 1];
    rgba[i * 4 + 2] = lut[entry + 2];
    rgba[i * 4 + 3] = 255;
  }
  return new ImageData(rgba, columns, rows);
}

/**
 * Colour a uint8 label slice with one RGB per value; values without a colour stay transparent.
 * @param {Array<number[]|null>} palette index = label value
 */
export function colouriseLabels(labels, columns, rows, palette) {
  const rgba = new Uint8ClampedArray(rows * columns * 4);
  for (let i = 0; i < labels.length; i++) {
    const colour = palette[labels[i]];
    if (colour) {
      rgba[i * 4] = colour[0];
      rgba[i * 4 + 1] = colour[1];
      rgba[i * 4 + 2] = colour[2];
      rgba[i * 4 + 3] = 255;
    }
  }
  return new ImageData(rgba, columns, rows);
}

/** CSS linear-gradient of the LUT, left = minimum. */
export function lutGradient(lut, steps = 16) {
  const colours = [];
  for (let i = 0; i < steps; i++) {
    const entry = Math.round((i / (steps - 1)) * (LUT_SIZE - 1)) * 3;
    colours.push(`rgb(${lut[entry]}, ${lut[entry + 1]}, ${lut[entry + 2]})`);
  }
  return `linear-gradient(to right, ${colours.join(', ')})`;
}
