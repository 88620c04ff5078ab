// Cornerstone image loader and metadata provider for raw float32 frames served by the API.
//
// Image ids look like `pannus:<seriesId>:<phase>:<slice>` (0-based phase and slice). Pixel values
// arrive in modality units (rescale already applied on the server), so slope is 1 and intercept 0.

import { cache, imageLoader, metaData, utilities } from '@cornerstonejs/core';

export const SCHEME = 'pannus';

// Cache cap: a few phases of the current series, never the whole 4-D series.
const CACHED_PHASES = 4;
const MIN_CACHE_BYTES = 64 * 1024 * 1024;
const MAX_CACHE_BYTES = 1024 * 1024 * 1024;

/** @type {Map<string, object>} series id -> series JSON from /api/series/{id}/ */
const seriesById = new Map();
let apiClient = null;

export function imageIdFor(seriesId, phase, slice) {
  return `${SCHEME}:${seriesId}:${phase}:${slice}`;
}

export function parseImageId(imageId) {
  const [scheme, seriesId, phase, slice] = imageId.split(':');
  if (scheme !== SCHEME) {
    return null;
  }
  return { seriesId, phase: Number(phase), slice: Number(slice) };
}

/** Cross product; row cosines × column cosines is the slice normal. */
function cross(a, b) {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}

function imagePlaneModule(series, slice) {
  const [, , rows, columns] = series.shape;
  const [rowSpacing, columnSpacing] = series.pixel_spacing_mm;
  const orientation = series.image_orientation_patient ?? [1, 0, 0, 0, 1, 0];
  const rowCosines = orientation.slice(0, 3);
  const columnCosines = orientation.slice(3, 6);
  const position = series.image_positions_patient?.[slice] ?? fallbackPosition(series, slice);
  return {
    frameOfReferenceUID: `pannus-series-${series.id}`,
    rows,
    columns,
    imageOrientationPatient: orientation,
    rowCosines,
    columnCosines,
    imagePositionPatient: position,
    // DICOM PixelSpacing order: [distance between rows, distance between columns].
    pixelSpacing: [rowSpacing, columnSpacing],
    rowPixelSpacing: rowSpacing,
    columnPixelSpacing: columnSpacing,
    sliceThickness: series.slice_thickness_mm,
    sliceLocation: series.slice_positions_mm?.[slice],
  };
}

/** Stack slices along the normal when the series has no per-slice positions. */
function fallbackPosition(series, slice) {
  const orientation = series.image_orientation_patient ?? [1, 0, 0, 0, 1, 0];
  const normal = cross(orientation.slice(0, 3), orientation.slice(3, 6));
  const z = series.slice_positions_mm?.[slice] ?? slice * (series.slice_thickness_mm || 1);
  return normal.map((component) => component * z);
}

function provideMetadata(type, imageId) {
  if (typeof imageId !== 'string') {
    return undefined;
  }
  const parsed = parseImageId(imageId);
  const series = parsed && seriesById.get(parsed.seriesId);
  if (!series) {
    return undefined;
  }
  const [, , rows, columns] = series.shape;
  switch (type) {
    case 'imagePlaneModule':
      return imagePlaneModule(series, parsed.slice);
    case 'imagePixelModule':
      return {
        samplesPerPixel: 1,
        photometricInterpretation: 'MONOCHROME2',
        rows,
        columns,
        bitsAllocated: 32,
        bitsStored: 32,
        highBit: 31,
        pixelRepresentation: 1,
      };
    case 'generalSeriesModule':
      return { modality: 'MR', seriesInstanceUID: `pannus-series-${series.id}` };
    case 'generalImageModule':
      return { instanceNumber: parsed.slice + 1 };
    case 'voiLutModule':
      return { windowCenter: [series.window.center], windowWidth: [series.window.width] };
    case 'modalityLutModule':
      return { rescaleSlope: 1, rescaleIntercept: 0, modality: 'MR' };
    default:
      return undefined;
  }
}

function minMax(values) {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (value < min) min = value;
    if (value > max) max = value;
  }
  return { min, max };
}

/** Wrap one frame (rows × columns float32, row-major) as a Cornerstone image object. */
function buildImage(imageId, series, pixels) {
  const [, , rows, columns] = series.shape;
  const plane = imagePlaneModule(series, parseImageId(imageId).slice);
  const voxelManager = utilities.VoxelManager.createImageVoxelManager({
    width: columns,
    height: rows,
    numberOfComponents: 1,
    scalarData: pixels,
    id: imageId,
  });
  const { min, max } = minMax(pixels);
  return {
    imageId,
    rows,
    columns,
    height: rows,
    width: columns,
    color: false,
    rgba: false,
    numberOfComponents: 1,
    dataType: 'Float32Array',
    slope: 1,
    intercept: 0,
    minPixelValue: min,
    maxPixelValue: max,
    windowCenter: series.window.center,
    windowWidth: series.window.width,
    voiLUTFunction: 'LINEAR',
    invert: false,
    photometricInterpretation: 'MONOCHROME2',
    rowPixelSpacing: plane.rowPixelSpacing,
    columnPixelSpacing: plane.columnPixelSpacing,
    sliceThickness: plane.sliceThickness,
    FrameOfReferenceUID: plane.frameOfReferenceUID,
    getPixelData: () => voxelManager.getScalarData(),
    getCanvas: undefined,
    voxelManager,
    sizeInBytes: pixels.byteLength,
  };
}

async function fetchFrame(imageId, signal) {
  const { seriesId, phase, slice } = parseImageId(imageId);
  const series = seriesById.get(seriesId);
  if (!series) {
    throw new Error(`Series ${seriesId} is not registered with the image loader.`);
  }
  const buffer = await apiClient.getBinary(`series/${seriesId}/frames/${phase}/${slice}/`, {
    signal,
  });
  const [, , rows, columns] = series.shape;
  if (buffer.byteLength !== rows * columns * 4) {
    throw new Error(
      `Frame ${phase}/${slice} of series ${seriesId} has ${buffer.byteLength} bytes, ` +
        `expected ${rows * columns * 4} (${rows} × ${columns} float32).`,
    );
  }
  return buildImage(imageId, series, new Float32Array(buffer));
}

function loadPannusImage(imageId) {
  const controller = new AbortController();
  return {
    promise: fetchFrame(imageId, controller.signal),
    cancelFn: () => controller.abort(),
  };
}

let registered = false;

/**
 * Register the loader and metadata provider once, then make `series` known to both.
 * @param {import('./api.js').ApiClient} client
 * @param {object} series JSON from GET /api/series/{id}/
 */
export function registerSeries(client, series) {
  apiClient = client;
  seriesById.set(String(series.id), series);
  if (!registered) {
    imageLoader.registerImageLoader(SCHEME, loadPannusImage);
    metaData.addProvider(provideMetadata, 10000);
    registered = true;
  }
  const [, slices, rows, columns] = series.shape;
  const phaseBytes = slices * rows * columns * 4;
  const cap = Math.min(MAX_CACHE_BYTES, Math.max(MIN_CACHE_BYTES, CACHED_PHASES * phaseBytes));
  cache.setMaxCacheSize(cap);
}

/** Load images into the Cornerstone cache, nearest first, until `isCurrent()` turns false. */
export async function prefetch(imageIds, isCurrent, concurrency = 4) {
  const queue = [...imageIds];
  async function worker() {
    while (queue.length && isCurrent()) {
      const imageId = queue.shift();
      if (cache.isLoaded(imageId)) {
        continue;
      }
      try {
        await imageLoader.loadAndCacheImage(imageId);
      } catch {
        // A prefetch failure is retried (and reported) when the frame is actually displayed.
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
}
