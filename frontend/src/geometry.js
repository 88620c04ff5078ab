// Conversions between Cornerstone world coordinates (patient mm) and the image [column, row]
// coordinates that the API stores, where pixel centres sit at integer coordinates.
// ImagePositionPatient is the centre of the first pixel; PixelSpacing is [row, column] spacing.

import { metaData } from '@cornerstonejs/core';
import { utilities as toolUtilities } from '@cornerstonejs/tools';

/** Douglas–Peucker tolerance in pixels applied before an ROI outline is saved. */
export const SIMPLIFY_TOLERANCE_PX = 0.5;

// NOTE: utilities.worldToImageCoords and imageToWorldCoords of @cornerstonejs/core 5.14.0 divide
// the distance along the row direction by rowPixelSpacing, while the renderer (and DICOM) use the
// column spacing there, so they are wrong for anisotropic pixels. The plane geometry is used here.
function plane(imageId) {
  const module = metaData.get('imagePlaneModule', imageId);
  if (!module) {
    throw new Error(`No image plane metadata for ${imageId}.`);
  }
  return module;
}

function dot(a, b) {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

/** World point (mm) -> [column, row] with pixel centres at integers. */
export function worldToPixel(imageId, worldPoint) {
  const { imagePositionPatient, rowCosines, columnCosines, pixelSpacing } = plane(imageId);
  const [rowSpacing, columnSpacing] = pixelSpacing;
  const offset = [0, 1, 2].map((axis) => worldPoint[axis] - imagePositionPatient[axis]);
  return [dot(offset, rowCosines) / columnSpacing, dot(offset, columnCosines) / rowSpacing];
}

/** [column, row] with pixel centres at integers -> world point (mm). */
export function pixelToWorld(imageId, [column, row]) {
  const { imagePositionPatient, rowCosines, columnCosines, pixelSpacing } = plane(imageId);
  const [rowSpacing, columnSpacing] = pixelSpacing;
  return [0, 1, 2].map(
    (axis) =>
      imagePositionPatient[axis] +
      rowCosines[axis] * column * columnSpacing +
      columnCosines[axis] * row * rowSpacing,
  );
}

/** Convert world points (mm) to image [column, row] points, dropping a repeated closing point. */
export function outlineToPixels(imageId, worldPolyline) {
  const points = worldPolyline.map((point) => worldToPixel(imageId, point));
  const first = points[0];
  const last = points[points.length - 1];
  if (points.length > 1 && first[0] === last[0] && first[1] === last[1]) {
    points.pop();
  }
  return points;
}

/**
 * Clip a closed [column, row] polygon to the image area, columns -0.5…C-0.5 and rows -0.5…,
 * by Sutherland–Hodgman clipping against each image edge.
 *
 * An outline that leaves the image and comes back stays one polygon whose parts are joined by
 * edges along the image border. No pixel centre lies on the border, so those edges add no pixels
 * under the pixel-centre rule, and the API's single polygon per ROI is kept.
 * @returns {number[][]} the clipped polygon; [] when no part of `polygon` lies inside
 */
export function clipToImage(polygon, rows, columns) {
  const edges = [
    { axis: 0, limit: -0.5, inside: (value) => value >= -0.5 },
    { axis: 0, limit: columns - 0.5, inside: (value) => value <= columns - 0.5 },
    { axis: 1, limit: -0.5, inside: (value) => value >= -0.5 },
    { axis: 1, limit: rows - 0.5, inside: (value) => value <= rows - 0.5 },
  ];
  let points = polygon;
  for (const edge of edges) {
    points = clipToEdge(points, edge);
  }
  return points;
}

function clipToEdge(points, { axis, limit, inside }) {
  const kept = [];
  for (let i = 0; i < points.length; i++) {
    const current = points[i];
    const previous = points[(i + points.length - 1) % points.length];
    const currentInside = inside(current[axis]);
    if (currentInside !== inside(previous[axis])) {
      kept.push(crossing(previous, current, axis, limit));
    }
    if (currentInside) {
      kept.push(current);
    }
  }
  return kept;
}

/** Point where segment a–b crosses the line `axis` = `limit`, placed exactly on that line. */
function crossing(a, b, axis, limit) {
  const other = 1 - axis;
  const fraction = (limit - a[axis]) / (b[axis] - a[axis]);
  const point = [0, 0];
  point[axis] = limit;
  point[other] = a[other] + fraction * (b[other] - a[other]);
  return point;
}

/**
 * Simplify a closed [column, row] polygon for saving.
 * @returns {number[][]} the closing point not repeated, coordinates rounded to 3 decimals
 */
export function simplifyPolygon(points) {
  // decimate() keeps both ends of an open line, so the closed outline is simplified as such.
  const simplified = toolUtilities.math.polyline.decimate(points, SIMPLIFY_TOLERANCE_PX);
  return simplified.map(([column, row]) => [roundTo(column, 3), roundTo(row, 3)]);
}

export function polygonToOutline(imageId, polygon) {
  return polygon.map((point) => pixelToWorld(imageId, point));
}

/** Even-odd test; `polygon` does not repeat its first point at the end. */
export function polygonContains(polygon, point) {
  // In Cornerstone, `closed: false` means "the last point does not repeat the first", so the
  // test adds the closing edge itself.
  return toolUtilities.math.polyline.containsPoint(polygon, point, { closed: false });
}

/** Area in pixels² by the shoelace formula (sign dropped). */
export function polygonArea(polygon) {
  let twiceArea = 0;
  for (let i = 0; i < polygon.length; i++) {
    const [x0, y0] = polygon[i];
    const [x1, y1] = polygon[(i + 1) % polygon.length];
    twiceArea += x0 * y1 - x1 * y0;
  }
  return Math.abs(twiceArea) / 2;
}

export function roundTo(value, decimals) {
  const scale = 10 ** decimals;
  return Math.round(value * scale) / scale;
}

export function clamp(value, low, high) {
  return Math.min(high, Math.max(low, value));
}
