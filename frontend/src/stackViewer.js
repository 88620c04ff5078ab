// One Cornerstone STACK viewport showing one phase of a dynamic series at a time.
//
// The stack contains the slices of the displayed phase. Changing phase swaps the stack for the same
// slice index of another phase and restores the camera and VOI, so zoom, pan and window stay put.

import {
  Enums as csEnums,
  RenderingEngine,
  init as initCore,
} from '@cornerstonejs/core';
import {
  Enums as toolEnums,
  PanTool,
  PlanarFreehandROITool,
  RectangleROITool,
  StackScrollTool,
  ToolGroupManager,
  WindowLevelTool,
  ZoomTool,
  addTool,
  init as initTools,
} from '@cornerstonejs/tools';

import { imageIdFor, prefetch, registerSeries } from './imageLoader.js';

const { MouseBindings, KeyboardBindings } = toolEnums;

/** Rectangle tool under its own name so joint regions get their own style and text. */
export class JointRegionTool extends RectangleROITool {
  static toolName = 'JointRegion';
}

export const TOOL_NAMES = {
  roi: PlanarFreehandROITool.toolName,
  windowLevel: WindowLevelTool.toolName,
  joint: JointRegionTool.toolName,
  probe: null,
};

// Phases prefetched on either side of the displayed one (same slice only).
const PREFETCH_PHASE_RADIUS = 2;

let libraryReady = false;
let viewerCount = 0;

function initLibraries() {
  if (libraryReady) {
    return;
  }
  initCore();
  initTools();
  for (const tool of [
    PanTool,
    ZoomTool,
    WindowLevelTool,
    StackScrollTool,
    PlanarFreehandROITool,
    JointRegionTool,
  ]) {
    addTool(tool);
  }
  libraryReady = true;
}

export class StackViewer {
  /**
   * @param {HTMLElement} element viewport element (sized by CSS)
   * @param {object} series JSON from GET /api/series/{id}/
   * @param {import('./api.js').ApiClient} client
   * @param {{roiTextLines: Function, jointTextLines: Function}} textLines annotation text boxes
   */
  constructor(element, series, client, textLines) {
    this.element = element;
    this.series = series;
    this.client = client;
    this.textLines = textLines;
    [this.phaseCount, this.sliceCount] = series.shape;
    this.phase = 0;
    this.slice = Math.floor(this.sliceCount / 2);
    this.primaryTool = null;
    this.listeners = { image: [], status: [], error: [] };
    this.pendingPhase = null;
    this.phaseLoading = null;
    this.prefetchGeneration = 0;
    viewerCount += 1;
    this.ids = {
      engine: `pannus-engine-${viewerCount}`,
      viewport: `pannus-viewport-${viewerCount}`,
      toolGroup: `pannus-tools-${viewerCount}`,
    };
  }

  on(event, callback) {
    this.listeners[event].push(callback);
  }

  emit(event, ...args) {
    for (const callback of this.listeners[event]) {
      callback(...args);
    }
  }

  imageIdsForPhase(phase) {
    return Array.from({ length: this.sliceCount }, (_, slice) =>
      imageIdFor(this.series.id, phase, slice),
    );
  }

  currentImageId() {
    return this.viewport.getCurrentImageId();
  }

  async start() {
    initLibraries();
    registerSeries(this.client, this.series);
    this.element.addEventListener('contextmenu', (event) => event.preventDefault());

    this.engine = new RenderingEngine(this.ids.engine);
    this.engine.enableElement({
      viewportId: this.ids.viewport,
      type: csEnums.ViewportType.STACK,
      element: this.element,
      defaultOptions: { background: [0, 0, 0] },
    });
    this.viewport = this.engine.getViewport(this.ids.viewport);
    this.createToolGroup();

    this.element.addEventListener(csEnums.Events.STACK_NEW_IMAGE, () => this.onNewImage());
    this.resizeObserver = new ResizeObserver(() => this.engine.resize(true, true));
    this.resizeObserver.observe(this.element);

    await this.viewport.setStack(this.imageIdsForPhase(this.phase), this.slice);
    this.viewport.render();
    this.onNewImage();
  }

  createToolGroup() {
    const group = ToolGroupManager.createToolGroup(this.ids.toolGroup);
    group.addTool(PanTool.toolName);
    group.addTool(ZoomTool.toolName);
    group.addTool(WindowLevelTool.toolName);
    group.addTool(StackScrollTool.toolName);
    group.addTool(PlanarFreehandROITool.toolName, {
      allowOpenContours: false,
      // Must stay on, because the tool draws text boxes only when it calculates statistics. The
      // text shows the server's TIC values (pixel-centre rule), not Cornerstone's statistics.
      calculateStats: true,
      getTextLines: this.textLines.roiTextLines,
      // Shift+click is the pixel probe, so holes are not drawn with Shift.
      contourHoleAdditionModifierKey: KeyboardBindings.Alt,
    });
    group.addTool(JointRegionTool.toolName, {
      calculateStats: false,
      getTextLines: this.textLines.jointTextLines,
    });
    group.addViewport(this.ids.viewport, this.ids.engine);

    group.setToolActive(PanTool.toolName, {
      bindings: [{ mouseButton: MouseBindings.Auxiliary }],
    });
    group.setToolActive(ZoomTool.toolName, {
      bindings: [
        { mouseButton: MouseBindings.Primary, modifierKey: KeyboardBindings.Ctrl },
        { mouseButton: MouseBindings.Wheel, modifierKey: KeyboardBindings.Ctrl },
      ],
    });
    group.setToolActive(WindowLevelTool.toolName, {
      bindings: [{ mouseButton: MouseBindings.Secondary }],
    });
    group.setToolActive(StackScrollTool.toolName, {
      bindings: [{ mouseButton: MouseBindings.Wheel }],
    });
    group.setToolPassive(PlanarFreehandROITool.toolName);
    group.setToolPassive(JointRegionTool.toolName);
    this.toolGroup = group;
  }

  /** Bind the left button to one of TOOL_NAMES ('probe' leaves it to the probe handler). */
  setPrimaryTool(key) {
    const previous = this.primaryTool && TOOL_NAMES[this.primaryTool];
    if (previous) {
      this.toolGroup.setToolPassive(previous);
    }
    const next = TOOL_NAMES[key];
    if (next) {
      this.toolGroup.setToolActive(next, { bindings: [{ mouseButton: MouseBindings.Primary }] });
    }
    this.primaryTool = key;
  }

  onNewImage() {
    const index = this.viewport.getCurrentImageIdIndex();
    this.slice = index;
    this.emit('image', { phase: this.phase, slice: this.slice, imageId: this.currentImageId() });
    this.schedulePrefetch();
  }

  async setSlice(slice) {
    const target = Math.min(this.sliceCount - 1, Math.max(0, slice));
    if (target === this.slice && !this.phaseLoading) {
      return;
    }
    if (this.phaseLoading) {
      // The pending phase switch keeps `this.slice`, so update it and let the switch apply it.
      this.slice = target;
      return;
    }
    try {
      await this.viewport.setImageIdIndex(target);
    } catch (error) {
      this.emit('error', error);
    }
  }

  stepSlice(delta) {
    return this.setSlice(this.slice + delta);
  }

  stepPhase(delta) {
    const base = this.pendingPhase ?? this.phase;
    return this.setPhase(base + delta);
  }

  /** Show `phase` at the current slice; rapid calls collapse to the last requested phase. */
  async setPhase(phase) {
    const target = Math.min(this.phaseCount - 1, Math.max(0, phase));
    this.pendingPhase = target;
    if (this.phaseLoading) {
      return this.phaseLoading;
    }
    this.phaseLoading = this.applyPendingPhases();
    try {
      await this.phaseLoading;
    } finally {
      this.phaseLoading = null;
    }
  }

  async applyPendingPhases() {
    while (this.pendingPhase !== null && this.pendingPhase !== this.phase) {
      const target = this.pendingPhase;
      this.emit('status', 'loadingPhase', { n: target + 1 });
      const camera = this.viewport.getCamera();
      const { voiRange } = this.viewport.getProperties();
      try {
        this.phase = target;
        await this.viewport.setStack(this.imageIdsForPhase(target), this.slice);
      } catch (error) {
        this.emit('error', error);
        break;
      }
      this.viewport.setProperties({ voiRange });
      this.viewport.setCamera(camera);
      this.viewport.render();
      this.onNewImage();
    }
    this.pendingPhase = null;
    this.emit('status', 'ready');
  }

  resetView() {
    this.viewport.resetCamera();
    this.viewport.resetProperties();
    this.viewport.render();
  }

  schedulePrefetch() {
    this.prefetchGeneration += 1;
    const generation = this.prefetchGeneration;
    const ids = [];
    for (let step = 1; step <= PREFETCH_PHASE_RADIUS; step++) {
      for (const phase of [this.phase + step, this.phase - step]) {
        if (phase >= 0 && phase < this.phaseCount) {
          ids.push(imageIdFor(this.series.id, phase, this.slice));
        }
      }
    }
    for (let step = 1; step < this.sliceCount; step++) {
      for (const slice of [this.slice + step, this.slice - step]) {
        if (slice >= 0 && slice < this.sliceCount) {
          ids.push(imageIdFor(this.series.id, this.phase, slice));
        }
      }
    }
    prefetch(ids, () => generation === this.prefetchGeneration);
  }

  /** Canvas position (CSS px, relative to the element) -> world point (mm). */
  canvasToWorld(point) {
    return this.viewport.canvasToWorld(point);
  }

  worldToCanvas(point) {
    return this.viewport.worldToCanvas(point);
  }

  render() {
    this.viewport.render();
  }
}
