// ROI state kept on the server: load, draw (POST), delete, relabel, undo, and display.
//
// The server list is the only source of truth. A freshly drawn Cornerstone annotation is converted
// to an image polygon, posted, and removed. Every saved ROI of the displayed slice is then re-added
// as a locked annotation for the displayed image, so it shows on that slice in every phase.

import { Enums as toolEnums, PlanarFreehandROITool, annotation } from '@cornerstonejs/tools';
import { eventTarget } from '@cornerstonejs/core';

import { ApiError } from './api.js';
import {
  clipToImage,
  outlineToPixels,
  polygonArea,
  polygonContains,
  polygonToOutline,
  simplifyPolygon,
} from './geometry.js';
import { t } from './i18n.js';
import { parseImageId } from './imageLoader.js';

const UID_PREFIX = 'pannus-roi-';
const TOOL = PlanarFreehandROITool.toolName;

export function roiAnnotationUid(roiId) {
  return `${UID_PREFIX}${roiId}`;
}

function roiIdFromUid(uid) {
  return uid?.startsWith(UID_PREFIX) ? Number(uid.slice(UID_PREFIX.length)) : null;
}

export class RoiManager {
  /**
   * @param {object} options
   * @param {import('./api.js').ApiClient} options.client
   * @param {object} options.series series JSON
   * @param {Map<string, object>} options.labels label name -> {name, display_name, color, order}
   * @param {import('./stackViewer.js').StackViewer} options.viewer
   * @param {boolean} options.canAnnotate whether this user may draw ROIs in this view
   */
  constructor({ client, series, labels, viewer, canAnnotate }) {
    this.client = client;
    this.series = series;
    this.labels = labels;
    this.viewer = viewer;
    this.canAnnotate = canAnnotate;
    /** @type {Map<number, object>} */
    this.rois = new Map();
    this.selected = new Set();
    this.undoStack = [];
    this.currentLabel = [...labels.keys()][0] ?? null;
    // The ROI selected automatically after drawing. The label chooser does not relabel it, so
    // choosing the label for the next ROI cannot change the one just drawn.
    this.justDrawnId = null;
    this.listeners = { change: [], selection: [], message: [], error: [] };
    this.onCompleted = (event) => this.handleCompleted(event);
  }

  on(event, callback) {
    this.listeners[event].push(callback);
  }

  emit(event, ...args) {
    for (const callback of this.listeners[event]) {
      callback(...args);
    }
  }

  start() {
    eventTarget.addEventListener(toolEnums.Events.ANNOTATION_COMPLETED, this.onCompleted);
  }

  async load() {
    const list = await this.client.getJson(`series/${this.series.id}/rois/`);
    this.rois = new Map(list.map((roi) => [roi.id, roi]));
    for (const id of [...this.selected]) {
      if (!this.rois.has(id)) {
        this.selected.delete(id);
      }
    }
    this.refresh();
    this.emit('selection', this.selectedRois());
  }

  sortedRois() {
    return [...this.rois.values()].sort((a, b) => a.slice_index - b.slice_index || a.id - b.id);
  }

  selectedRois() {
    return [...this.selected].map((id) => this.rois.get(id)).filter(Boolean);
  }

  labelDisplay(name) {
    return this.labels.get(name)?.display_name ?? name;
  }

  labelColor(name) {
    return this.labels.get(name)?.color ?? '#ffff00';
  }

  // ---- display -------------------------------------------------------------------------------

  refresh() {
    this.syncAnnotations();
    this.emit('change');
  }

  /** Replace the ROI annotations of the viewport with the saved ROIs of the displayed slice. */
  syncAnnotations() {
    const { element } = this.viewer;
    const imageId = this.viewer.currentImageId();
    if (!imageId) {
      return;
    }
    const existing = annotation.state.getAnnotations(TOOL, element) ?? [];
    for (const item of [...existing]) {
      if (roiIdFromUid(item.annotationUID) !== null) {
        annotation.state.removeAnnotation(item.annotationUID);
      }
    }
    const { slice } = parseImageId(imageId);
    for (const roi of this.rois.values()) {
      if (roi.slice_index === slice && roi.polygon.length >= 3) {
        this.addRoiAnnotation(roi, imageId);
      }
    }
    this.viewer.render();
  }

  /** Return the ids of the ROIs drawn on the displayed image (used by the browser tests). */
  displayedRoiIds() {
    const imageId = this.viewer.currentImageId();
    const shown = annotation.state.getAnnotations(TOOL, this.viewer.element) ?? [];
    return shown
      .filter((item) => item.metadata.referencedImageId === imageId)
      .map((item) => roiIdFromUid(item.annotationUID))
      .filter((id) => id !== null);
  }

  addRoiAnnotation(roi, imageId) {
    const uid = roiAnnotationUid(roi.id);
    const outline = polygonToOutline(imageId, roi.polygon);
    const author = roi.editable ? '' : ` (${roi.author})`;
    const item = PlanarFreehandROITool.createAnnotationForViewport(this.viewer.viewport, {
      annotationUID: uid,
      highlighted: false,
      isLocked: true,
      data: {
        contour: { polyline: outline, closed: true },
        label: `${this.labelDisplay(roi.label)}${author}`,
        pannusRoiId: roi.id,
        pannusSelected: this.selected.has(roi.id),
      },
    });
    annotation.config.style.setAnnotationStyles(uid, this.roiStyle(roi));
    annotation.state.addAnnotation(item, this.viewer.element);
    annotation.locking.setAnnotationLocked(uid, true);
  }

  /** Label colour; white and thicker when selected; dashed when it belongs to someone else. */
  roiStyle(roi) {
    const selected = this.selected.has(roi.id);
    const color = selected ? '#ffffff' : this.labelColor(roi.label);
    const style = { lineWidth: selected ? '2.5' : '1.5', lineDash: roi.editable ? '' : '5,4' };
    for (const state of ['', 'Locked', 'Highlighted', 'Selected']) {
      style[`color${state}`] = color;
      style[`textBoxColor${state}`] = color;
    }
    return style;
  }

  // ---- drawing ---------------------------------------------------------------------------------

  handleCompleted(event) {
    const item = event.detail?.annotation;
    if (!item || item.metadata?.toolName !== TOOL || roiIdFromUid(item.annotationUID) !== null) {
      return;
    }
    const imageId = item.metadata.referencedImageId ?? this.viewer.currentImageId();
    const polyline = item.data?.contour?.polyline ?? [];
    annotation.state.removeAnnotation(item.annotationUID);
    this.viewer.render();
    if (!this.canAnnotate) {
      return;
    }
    this.saveDrawnOutline(imageId, polyline);
  }

  async saveDrawnOutline(imageId, polyline) {
    const polygon = this.drawnPolygon(imageId, polyline);
    if (!polygon) {
      return;
    }
    if (!this.currentLabel) {
      this.rejectDrawn('noLabels');
      return;
    }
    const { slice } = parseImageId(imageId);
    this.emit('message', 'status', 'savingRoi');
    try {
      const roi = await this.createRoi({ slice_index: slice, label: this.currentLabel, polygon });
      this.undoStack.push({ kind: 'create', id: roi.id });
      this.selectOnly(roi.id);
      this.justDrawnId = roi.id;
      this.emit('message', 'status', 'roiSaved', {
        id: roi.id,
        label: this.labelDisplay(roi.label),
        slice: roi.slice_index + 1,
      });
    } catch (error) {
      this.emit('message', 'status', 'roiNotSaved');
      this.emit('error', 'actionSaveRoi', error);
    }
  }

  /** Clip a drawn outline to the image and simplify it. Reports why and returns null when too little is left. */
  drawnPolygon(imageId, polyline) {
    const [, , rows, columns] = this.series.shape;
    const points = outlineToPixels(imageId, polyline);
    const inside = clipToImage(points, rows, columns);
    if (inside.length < 3 || polygonArea(inside) === 0) {
      const drawnArea = points.length >= 3 && polygonArea(points) > 0;
      this.rejectDrawn(drawnArea ? 'roiOutsideImage' : 'roiTooSmall');
      return null;
    }
    const polygon = simplifyPolygon(inside);
    if (polygon.length < 3 || polygonArea(polygon) === 0) {
      this.rejectDrawn('roiTooSmall');
      return null;
    }
    return polygon;
  }

  rejectDrawn(key) {
    this.emit('message', 'status', 'roiNotSaved');
    this.emit('message', 'error', key);
  }

  async createRoi(payload) {
    const roi = await this.client.sendJson('POST', `series/${this.series.id}/rois/`, payload);
    this.rois.set(roi.id, roi);
    this.refresh();
    return roi;
  }

  // ---- selection -------------------------------------------------------------------------------

  selectOnly(id) {
    this.justDrawnId = null;
    this.selected = new Set(id === null ? [] : [id]);
    this.selectionChanged();
  }

  toggle(id) {
    if (this.selected.has(id)) {
      this.selected.delete(id);
    } else {
      this.selected.add(id);
    }
    this.selectionChanged();
  }

  clearSelection() {
    if (this.selected.size) {
      this.selected.clear();
      this.selectionChanged();
    }
  }

  selectionChanged() {
    this.refresh();
    this.emit('selection', this.selectedRois());
  }

  /** Find the smallest ROI of `slice` that contains the image point [column, row]; null if none. */
  hitTest(slice, point) {
    let best = null;
    let bestArea = Infinity;
    for (const roi of this.rois.values()) {
      if (roi.slice_index !== slice || !polygonContains(roi.polygon, point)) {
        continue;
      }
      const area = polygonArea(roi.polygon);
      if (area < bestArea) {
        best = roi;
        bestArea = area;
      }
    }
    return best;
  }

  // ---- edits -----------------------------------------------------------------------------------

  /** The single selected ROI when it is the user's own; otherwise reports why not and returns null. */
  editableSelection() {
    if (!this.canAnnotate) {
      this.emit('message', 'error', 'readOnlyView');
      return null;
    }
    const [roi] = this.selectedRois();
    if (!roi) {
      this.emit('message', 'error', 'noRoiSelected');
      return null;
    }
    if (!roi.editable) {
      this.emit('message', 'error', 'notOwnRoi', { id: roi.id, author: roi.author });
      return null;
    }
    return roi;
  }

  async deleteSelected() {
    const roi = this.editableSelection();
    if (!roi) {
      return;
    }
    try {
      await this.deleteRoi(roi);
      this.undoStack.push({ kind: 'delete', roi });
      this.emit('message', 'status', 'roiDeleted', { id: roi.id });
    } catch (error) {
      await this.reportEditError('actionDeleteRoi', roi, error);
    }
  }

  async deleteRoi(roi) {
    await this.client.request('DELETE', `rois/${roi.id}/`, { ifMatch: roi.version });
    this.rois.delete(roi.id);
    this.selected.delete(roi.id);
    this.refresh();
    this.emit('selection', this.selectedRois());
  }

  /** Set the label for new ROIs; a selected ROI of the user's own is relabelled too. */
  async chooseLabel(name) {
    this.currentLabel = name;
    const [roi] = this.selectedRois();
    const relabel = this.canAnnotate && roi && roi.editable && this.selected.size === 1 && roi.id !== this.justDrawnId;
    if (!relabel || roi.label === name) {
      return;
    }
    try {
      await this.patchLabel(roi, name);
      this.undoStack.push({ kind: 'label', id: roi.id, previous: roi.label });
      this.emit('message', 'status', 'roiLabelChanged', { id: roi.id, label: this.labelDisplay(name) });
    } catch (error) {
      await this.reportEditError('actionChangeLabel', roi, error);
    }
  }

  async patchLabel(roi, name) {
    const updated = await this.client.sendJson(
      'PATCH',
      `rois/${roi.id}/`,
      { label: name },
      { ifMatch: roi.version },
    );
    this.rois.set(updated.id, updated);
    this.refresh();
    this.emit('selection', this.selectedRois());
    return updated;
  }

  async reportEditError(action, roi, error) {
    if (error instanceof ApiError && error.status === 412) {
      this.emit('message', 'error', 'staleRoi', { id: roi.id });
      await this.reloadQuietly();
      return;
    }
    this.emit('error', action, error);
    if (error instanceof ApiError && error.status === 404) {
      await this.reloadQuietly();
    }
  }

  async reloadQuietly() {
    try {
      await this.load();
    } catch (error) {
      this.emit('error', 'actionLoadRois', error);
    }
  }

  // ---- undo ------------------------------------------------------------------------------------

  async undo() {
    if (!this.canAnnotate) {
      return;
    }
    const step = this.undoStack.pop();
    if (!step) {
      this.emit('message', 'status', 'nothingToUndo');
      return;
    }
    const roi = this.rois.get(step.id ?? step.roi.id) ?? step.roi;
    try {
      const described = await this.revert(step);
      this.emit('message', 'status', 'undone', { action: described });
    } catch (error) {
      await this.reportEditError('actionUndo', roi, error);
    }
  }

  async revert(step) {
    if (step.kind === 'create') {
      const roi = this.rois.get(step.id);
      if (roi) {
        await this.deleteRoi(roi);
      }
      return t('undoCreate', { id: step.id });
    }
    if (step.kind === 'delete') {
      const { slice_index: sliceIndex, label, polygon } = step.roi;
      const restored = await this.createRoi({ slice_index: sliceIndex, label, polygon });
      this.renumber(step.roi.id, restored.id);
      this.selectOnly(restored.id);
      return t('undoDelete', { id: step.roi.id });
    }
    const roi = this.rois.get(step.id);
    await this.patchLabel(roi, step.previous);
    return t('undoLabel', { id: step.id });
  }

  /** A re-created ROI gets a new id; older undo steps must follow it. */
  renumber(oldId, newId) {
    for (const step of this.undoStack) {
      if (step.id === oldId) {
        step.id = newId;
      }
    }
  }
}
