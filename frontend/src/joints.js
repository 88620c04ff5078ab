// Joint regions: a rectangle drawn on one slice and kept over a chosen slice range, named (DRUJ, RC, IC-CMC, MCP2–MCP5) and sided.
//
// Boxes are sent as inclusive pixel index bounds [c0, r0, c1, r1] of the pixels whose centres lie
// inside the drawn rectangle, clamped to the image.

import { annotation, Enums as toolEnums } from '@cornerstonejs/tools';
import { eventTarget } from '@cornerstonejs/core';

import { clamp, pixelToWorld, worldToPixel } from './geometry.js';
import { t } from './i18n.js';
import { parseImageId } from './imageLoader.js';
import { JointRegionTool } from './stackViewer.js';

export const JOINT_NAMES = ['DRUJ', 'RC', 'IC-CMC', 'MCP2', 'MCP3', 'MCP4', 'MCP5'];
/** Joints the server also accepts, outside the standard scoring set. */
export const OPTIONAL_JOINT_NAMES = ['MCP1', 'PIP2', 'PIP3', 'PIP4', 'PIP5', 'IP1'];
export const SIDES = ['L', 'R'];

const UID_PREFIX = 'pannus-joint-';
const TOOL = JointRegionTool.toolName;
const JOINT_COLOR = '#4fc3f7';

/** Inclusive pixel bounds of the pixel centres inside the rectangle spanned by `points`. */
export function boxFromPixelPoints(points, rows, columns) {
  const cols = points.map(([column]) => column);
  const rowValues = points.map(([, row]) => row);
  const c0 = clamp(Math.ceil(Math.min(...cols)), 0, columns - 1);
  const c1 = clamp(Math.floor(Math.max(...cols)), 0, columns - 1);
  const r0 = clamp(Math.ceil(Math.min(...rowValues)), 0, rows - 1);
  const r1 = clamp(Math.floor(Math.max(...rowValues)), 0, rows - 1);
  return [c0, r0, Math.max(c0, c1), Math.max(r0, r1)];
}

export class JointManager {
  constructor({ client, series, viewer, dialog, canAnnotate }) {
    this.client = client;
    this.series = series;
    this.viewer = viewer;
    this.dialog = dialog;
    this.canAnnotate = canAnnotate;
    this.joints = [];
    this.listeners = { message: [], error: [] };
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
    this.joints = await this.client.getJson(`series/${this.series.id}/joints/`);
    this.syncAnnotations();
  }

  syncAnnotations() {
    const imageId = this.viewer.currentImageId();
    if (!imageId) {
      return;
    }
    const existing = annotation.state.getAnnotations(TOOL, this.viewer.element) ?? [];
    for (const item of [...existing]) {
      if (item.annotationUID?.startsWith(UID_PREFIX)) {
        annotation.state.removeAnnotation(item.annotationUID);
      }
    }
    const { slice } = parseImageId(imageId);
    for (const joint of this.joints) {
      if (joint.slice_start <= slice && slice <= joint.slice_end) {
        this.addJointAnnotation(joint, imageId);
      }
    }
    this.viewer.render();
  }

  addJointAnnotation(joint, imageId) {
    const [c0, r0, c1, r1] = joint.box;
    // Outer pixel edges, so the drawn frame encloses the boundary pixels.
    const corners = [
      [c0 - 0.5, r0 - 0.5],
      [c1 + 0.5, r0 - 0.5],
      [c0 - 0.5, r1 + 0.5],
      [c1 + 0.5, r1 + 0.5],
    ].map((point) => pixelToWorld(imageId, point));
    const uid = `${UID_PREFIX}${joint.id}`;
    const item = JointRegionTool.createAnnotationForViewport(this.viewer.viewport, {
      annotationUID: uid,
      highlighted: false,
      isLocked: true,
      data: { handles: { points: corners }, label: `${joint.name} ${joint.side}` },
    });
    annotation.config.style.setAnnotationStyles(uid, {
      color: JOINT_COLOR,
      colorLocked: JOINT_COLOR,
      lineDash: '2,2',
      textBoxColor: JOINT_COLOR,
      textBoxColorLocked: JOINT_COLOR,
    });
    annotation.state.addAnnotation(item, this.viewer.element);
    annotation.locking.setAnnotationLocked(uid, true);
  }

  handleCompleted(event) {
    const item = event.detail?.annotation;
    if (!item || item.metadata?.toolName !== TOOL || item.annotationUID?.startsWith(UID_PREFIX)) {
      return;
    }
    const imageId = item.metadata.referencedImageId ?? this.viewer.currentImageId();
    const points = (item.data?.handles?.points ?? []).map((point) => worldToPixel(imageId, point));
    annotation.state.removeAnnotation(item.annotationUID);
    this.viewer.render();
    if (!this.canAnnotate || points.length < 2) {
      return;
    }
    const [, , rows, columns] = this.series.shape;
    const box = boxFromPixelPoints(points, rows, columns);
    this.askAndSave(parseImageId(imageId).slice, box);
  }

  async askAndSave(slice, box) {
    const choice = await this.dialog.ask(slice, this.series.shape[1]);
    if (!choice) {
      return;
    }
    const payload = { ...choice, box };
    try {
      const joint = await this.client.sendJson(
        'POST',
        `series/${this.series.id}/joints/`,
        payload,
      );
      this.joints.push(joint);
      this.syncAnnotations();
      this.emit('message', 'status', 'jointSaved', {
        name: joint.name,
        side: t(`side${joint.side}`),
        first: joint.slice_start + 1,
        last: joint.slice_end + 1,
      });
    } catch (error) {
      this.emit('error', 'actionSaveJoint', error);
    }
  }
}
