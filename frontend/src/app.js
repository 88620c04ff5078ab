// ViewerApp wires the stack viewer, ROI and joint state, prediction overlay, TIC analysis and TIC
// panel together.

import { Enums as csEnums, eventTarget } from '@cornerstonejs/core';

import { AnalysisSource } from './analysis.js';
import { AnalysisForm } from './analysisForm.js';
import { AnalysisOverlay, NO_LAYER } from './analysisOverlay.js';
import { AnalysisPanel, displayUnit, layerName, shapeTypeName } from './analysisPanel.js';
import { AnalysisResults } from './analysisResults.js';
import { ApiClient } from './api.js';
import { worldToPixel } from './geometry.js';
import { formatNumber, t } from './i18n.js';
import { JointManager } from './joints.js';
import { JointTable } from './jointTable.js';
import { bindKeyboard } from './keyboard.js';
import { PredictionOverlay } from './overlay.js';
import { bindPointer } from './pointer.js';
import { renderRoiList } from './roiList.js';
import { RoiManager } from './rois.js';
import { StackViewer } from './stackViewer.js';
import { TicPanel, weightedMeanCurve } from './ticPanel.js';
import { buildLayout, clearMessage, el, showMessage } from './ui.js';

// Status keys of completed edits. Each one clears the error bar, because the error it shows
// belongs to an earlier action.
const SUCCESS_KEYS = new Set(['roiSaved', 'roiDeleted', 'roiLabelChanged', 'undone', 'jointSaved']);

export class ViewerApp {
  /**
   * @param {HTMLElement} root the #pannusmap-viewer element
   * @param {{seriesId: string, mode: 'annotate'|'review', apiRoot: string, username: string,
   *          predictionId: string|null}} options from the element's data-* attributes
   */
  constructor(root, options) {
    this.root = root;
    this.options = options;
    this.client = new ApiClient(options.apiRoot);
    this.ticRequest = 0;
    this.ticCache = new Map();
    /** @type {Map<number, object>} ROI id -> loaded TIC of the selected ROIs */
    this.ticValues = new Map();
    this.lastOverlayMode = 'synovitis';
    this.referenceRequest = 0;
    this.referenceTimer = null;
    this.analysisFormFilled = false;
  }

  /** Build the page and load everything; the root's `data-state` becomes 'ready' or 'error'. */
  async start() {
    this.root.dataset.state = 'loading';
    this.root.textContent = t('loadingSeries');
    const seriesRequest = this.client.getJson(`series/${this.options.seriesId}/`);
    const labelsRequest = this.client.getJson('labels/');
    labelsRequest.catch(() => {});
    let series;
    let labelList;
    let action = 'actionLoadSeries';
    try {
      series = await seriesRequest;
      action = 'actionLoadLabels';
      labelList = await labelsRequest;
    } catch (error) {
      this.root.textContent = this.describeError(action, error);
      this.root.dataset.state = 'error';
      return;
    }
    this.series = series;
    this.labels = new Map(
      [...labelList].sort((a, b) => a.order - b.order).map((label) => [label.name, label]),
    );
    this.canAnnotate = Boolean(series.can_annotate) && this.options.mode === 'annotate';
    // The server lets reviewers mark joint regions too, in either mode.
    this.canMarkJoints = Boolean(series.can_annotate || series.can_review);
    this.parts = buildLayout(this.root, series);
    this.setStatus('loadingPhase', { n: 1 });
    if (!this.labels.size) {
      showMessage(this.parts, t('noLabels'));
    }

    await this.startViewer();
    this.createManagers();
    this.wireControls();
    bindKeyboard(this);
    bindPointer(this);
    this.showModeNotice();
    this.chooseTool(this.canAnnotate ? 'roi' : 'windowLevel');
    await this.loadAnnotations();
    this.setStatus('ready');
    this.root.dataset.state = 'ready';
  }

  async startViewer() {
    this.viewer = new StackViewer(this.parts.viewport, this.series, this.client, {
      roiTextLines: (data) => this.roiTextLines(data),
      jointTextLines: (data) => [data.label],
    });
    this.viewer.on('image', (position) => this.onImage(position));
    this.viewer.on('status', (key, params) => this.setStatus(key, params));
    this.viewer.on('error', (error) => this.reportError('actionLoadImage', error));
    eventTarget.addEventListener(csEnums.Events.IMAGE_LOAD_ERROR, (event) => {
      const error = event.detail?.error;
      if (error && error.name !== 'AbortError') {
        this.reportError('actionLoadImage', error);
      }
    });
    try {
      await this.viewer.start();
    } catch (error) {
      this.reportError('actionLoadImage', error);
    }
  }

  createManagers() {
    const common = { client: this.client, series: this.series, viewer: this.viewer };
    this.rois = new RoiManager({ ...common, labels: this.labels, canAnnotate: this.canAnnotate });
    this.joints = new JointManager({
      ...common,
      dialog: this.parts.jointDialog,
      canAnnotate: this.canMarkJoints,
    });
    this.overlay = new PredictionOverlay({
      ...common,
      labels: this.labels,
      predictionId: this.options.predictionId,
    });
    this.tic = new TicPanel(this.parts.ticChart, this.parts.ticStats, this.series);
    this.tic.rebuild();

    for (const source of [this.rois, this.joints]) {
      source.on('message', (kind, key, params) => this.onMessage(kind, key, params));
      source.on('error', (action, error) => this.reportError(action, error));
      source.start();
    }
    this.rois.on('change', () => {
      this.renderRoiList();
      this.scheduleReference();
    });
    this.rois.on('selection', (selected) => this.showTics(selected));
    this.overlay.on('error', (action, error) => this.reportError(action, error));
    this.overlay.attach();
    this.createAnalysisViews();
  }

  async loadAnnotations() {
    const tasks = [
      this.rois.load().catch((error) => this.reportError('actionLoadRois', error)),
      this.joints.load().catch((error) => this.reportError('actionLoadJoints', error)),
      this.loadPrediction(),
      this.analysis.load(),
    ];
    await Promise.all(tasks);
  }

  async loadPrediction() {
    try {
      const prediction = await this.overlay.load();
      this.parts.overlaySelect.disabled = !prediction;
      this.parts.opacity.disabled = !prediction;
      this.parts.overlaySelect.title = prediction ? t('overlayTitle') : t('noPrediction');
      if (prediction && this.options.mode === 'review') {
        this.setOverlayMode('synovitis');
      }
    } catch (error) {
      this.parts.overlaySelect.disabled = true;
      this.reportError('actionLoadPrediction', error);
    }
  }

  // ---- TIC analysis ------------------------------------------------------------------------------

  createAnalysisViews() {
    const { parts, series } = this;
    this.analysis = new AnalysisSource(this.client, series);
    this.analysisOverlay = new AnalysisOverlay({
      source: this.analysis,
      viewer: this.viewer,
      series,
      maskColors: {
        arterial_mask: this.labels.get('artery')?.color ?? '#ff3030',
        synovitis: this.labels.get('synovitis')?.color ?? '#ff00ff',
      },
    });
    this.analysisOverlay.attach(this.overlay.canvas);
    this.analysisOverlay.on('error', (action, error) => this.reportError(action, error));
    this.analysisPanel = new AnalysisPanel(this.analysis, this.analysisOverlay, (name) =>
      this.onLayerChosen(name),
    );
    this.analysisResults = new AnalysisResults(series);
    this.analysisForm = new AnalysisForm(series.shape[0], (parameters) => this.recompute(parameters));
    this.jointTable = new JointTable((summary) => this.showJoint(summary));

    parts.analysisBox.append(
      this.analysisPanel.element,
      this.analysisResults.element,
      this.analysisForm.element,
    );
    parts.jointTableBox.append(this.jointTable.element);

    this.analysis.on('change', (current, previous) => this.onAnalysisChange(current, previous));
    this.analysis.on('error', (action, error) => this.reportError(action, error));
    if (!series.can_annotate && !series.can_review) {
      this.analysisForm.button.disabled = true;
      this.analysisForm.button.title = t('recomputeNotAllowed');
    }
  }

  onAnalysisChange(current, previous) {
    this.analysisPanel.update();
    this.analysisResults.show(current);
    if (!this.analysisFormFilled || current?.id !== previous?.id) {
      this.analysisFormFilled = true;
      this.analysisForm.fill(current?.parameters ?? this.analysis.latest()?.parameters ?? {});
      this.jointTable.show(current?.results?.joints);
    }
    this.root.dataset.analysis = current ? String(current.id) : '';
    this.root.dataset.analysisStatus = this.analysis.latest()?.status ?? 'none';
  }

  async recompute(parameters) {
    const analysis = await this.analysis.recompute(parameters);
    this.setStatus(analysis.status === 'done' ? 'analysisExists' : 'analysisRequested', { id: analysis.id });
  }

  /** Only one overlay is drawn at a time: an analysis layer turns the prediction overlay off. */
  onLayerChosen(name) {
    if (name !== NO_LAYER && this.overlay.mode !== 'off') {
      this.setOverlayMode('off');
      this.setStatus('overlaySwitched', { name: t('overlay') });
    }
    this.viewer.element.focus();
  }

  async showJoint(summary) {
    const joint = this.joints.joints.find((item) => item.id === summary.joint_id);
    if (joint) {
      this.viewer.setSlice(joint.slice_start);
    }
    try {
      const tic = await this.client.getJson(`joints/${summary.joint_id}/curve/`);
      this.tic.setJointCurve({ name: t('jointCurve', { name: summary.name, side: summary.side }), tic });
    } catch (error) {
      this.reportError('actionLoadJointCurve', error);
    }
  }

  /** Describe one pixel's shape type and map values; '' without a finished analysis. */
  async describePixel(slice, row, column) {
    let pixel;
    try {
      pixel = await this.analysis.pixelValues(slice, row, column);
    } catch (error) {
      this.reportError('actionLoadLayer', error);
      return '';
    }
    if (!pixel) {
      return '';
    }
    const legend = this.analysis.layer('shape_types')?.legend ?? [];
    const parts = [t('probeShapeType', { name: shapeTypeName(pixel.shapeType, legend) })];
    for (const { name, unit, value } of pixel.values) {
      const text = Number.isFinite(value) ? formatNumber(value, name === 'ser' ? 2 : 1) : '–';
      parts.push(`${layerName(name)} ${text}${displayUnit(unit) ? ` ${displayUnit(unit)}` : ''}`);
    }
    return parts.join(' · ');
  }

  // ---- muscle reference curve ------------------------------------------------------------------

  scheduleReference() {
    clearTimeout(this.referenceTimer);
    this.referenceTimer = setTimeout(() => this.loadReference(), 300);
  }

  /** Mean TIC of the muscle ROIs: the user's own when annotating, everyone's when reviewing. */
  async loadReference() {
    const own = this.options.mode !== 'review';
    const request = ++this.referenceRequest;
    try {
      const rois = await this.client.getJson(`series/${this.series.id}/rois/${own ? '?author=me' : ''}`);
      const muscles = rois.filter((roi) => roi.label === 'muscle');
      const tics = await Promise.all(muscles.map((roi) => this.fetchTic(roi)));
      if (request !== this.referenceRequest) {
        return;
      }
      const reference = weightedMeanCurve(tics);
      this.tic.setReference(reference, reference ? '' : t(own ? 'referenceNoneOwn' : 'referenceNoneAll'));
    } catch (error) {
      this.reportError('actionLoadReference', error);
    }
  }

  // ---- state shown in the page -----------------------------------------------------------------

  onImage({ phase, slice }) {
    const times = this.series.phase_times_s;
    const z = this.series.slice_positions_mm?.[slice];
    this.parts.phaseLabel.textContent = t('phaseLabel', {
      n: phase + 1,
      total: this.viewer.phaseCount,
      // Estimated times (no usable acquisition time in the files) are marked with ≈.
      time: `${this.series.time_is_estimated ? '≈' : ''}${formatNumber(times[phase] ?? 0, 1)}`,
    });
    this.parts.sliceLabel.textContent = t('sliceLabel', {
      n: slice + 1,
      total: this.viewer.sliceCount,
      z: z === undefined ? '–' : formatNumber(z, 1),
    });
    this.parts.phaseSlider.value = String(phase);
    this.root.dataset.phase = String(phase);
    this.root.dataset.slice = String(slice);
    this.rois?.syncAnnotations();
    this.joints?.syncAnnotations();
    this.tic?.setPhase(phase);
    this.renderRoiList();
  }

  setStatus(key, params) {
    if (this.parts) {
      this.parts.status.textContent = t(key, params);
    }
  }

  onMessage(kind, key, params) {
    if (kind === 'error') {
      showMessage(this.parts, t(key, params));
      return;
    }
    if (SUCCESS_KEYS.has(key)) {
      clearMessage(this.parts);
    }
    this.setStatus(key, params);
  }

  describeError(actionKey, error) {
    const detail = error?.detail ?? error?.message ?? String(error);
    return t('apiError', { action: t(actionKey), detail });
  }

  reportError(actionKey, error) {
    console.error(error);
    if (this.parts) {
      showMessage(this.parts, this.describeError(actionKey, error));
    }
  }

  showModeNotice() {
    let key = null;
    if (this.options.mode === 'review') {
      key = 'modeReview';
    } else if (!this.canAnnotate) {
      key = 'readOnly';
    }
    if (key) {
      this.parts.notice.textContent = t(key);
      this.parts.notice.hidden = false;
    }
    this.parts.toolButtons.roi.disabled = !this.canAnnotate;
    this.parts.toolButtons.joint.disabled = !this.canMarkJoints;
    this.parts.labelSelect.disabled = !this.canAnnotate;
    this.parts.deleteButton.disabled = !this.canAnnotate;
    this.parts.undoButton.disabled = !this.canAnnotate;
  }

  /** Text box of a selected ROI: label, author, and the server TIC value at the shown phase. */
  roiTextLines(data) {
    if (!data.pannusSelected) {
      return [];
    }
    const lines = [data.label];
    const tic = this.ticValues.get(data.pannusRoiId);
    if (tic) {
      const phase = this.viewer.phase;
      const value = formatNumber(tic.mean[phase], 1);
      lines.push(t('statMean', { n: phase + 1, value, unit: tic.unit || this.series.unit || '' }));
      lines.push(t('statArea', { value: formatNumber(tic.area_mm2, 1) }));
    }
    return lines;
  }

  renderRoiList() {
    if (this.rois) {
      renderRoiList(this.parts.roiList, this.rois, this.viewer.slice, (roi, event) =>
        this.onRoiListClick(roi, event),
      );
    }
  }

  onRoiListClick(roi, event) {
    if (event.ctrlKey || event.metaKey) {
      this.rois.toggle(roi.id);
    } else {
      this.rois.selectOnly(roi.id);
    }
    if (roi.slice_index !== this.viewer.slice) {
      this.viewer.setSlice(roi.slice_index);
    }
    if (roi.editable) {
      this.parts.labelSelect.value = roi.label;
      this.rois.currentLabel = roi.label;
    }
  }

  // ---- TIC panel ---------------------------------------------------------------------------------

  async fetchTic(roi) {
    const key = `${roi.id}:${roi.version}`;
    if (!this.ticCache.has(key)) {
      const request = this.client.getJson(`rois/${roi.id}/tic/`);
      this.ticCache.set(key, request);
      request.catch(() => this.ticCache.delete(key));
    }
    return this.ticCache.get(key);
  }

  async showTics(selected) {
    const request = ++this.ticRequest;
    if (!selected.length) {
      this.ticValues.clear();
      this.tic.setRoiCurves([]);
      return;
    }
    this.setStatus('loadingTic');
    try {
      const tics = await Promise.all(selected.map((roi) => this.fetchTic(roi)));
      if (request !== this.ticRequest) {
        return;
      }
      const curves = selected.map((roi, index) => ({
        id: roi.id,
        name: t('roiCurve', { id: roi.id, label: this.rois.labelDisplay(roi.label) }),
        color: this.rois.labelColor(roi.label),
        tic: tics[index],
      }));
      this.ticValues = new Map(selected.map((roi, index) => [roi.id, tics[index]]));
      this.viewer.render();
      this.tic.setRoiCurves(curves);
      if (this.parts.status.textContent === t('loadingTic')) {
        this.setStatus('ready');
      }
    } catch (error) {
      this.reportError('actionLoadTic', error);
    }
  }

  async probe(canvasPoint) {
    const imageId = this.viewer.currentImageId();
    const [x, y] = worldToPixel(imageId, this.viewer.canvasToWorld(canvasPoint));
    const [, , rows, columns] = this.series.shape;
    const column = Math.round(x);
    const row = Math.round(y);
    if (row < 0 || column < 0 || row >= rows || column >= columns) {
      return;
    }
    const slice = this.viewer.slice;
    const query = new URLSearchParams({ slice, row, column });
    const details = this.describePixel(slice, row, column);
    try {
      const curve = await this.client.getJson(`series/${this.series.id}/curve/?${query}`);
      this.tic.addProbe({ slice, row, column, curve, details: await details });
    } catch (error) {
      this.reportError('actionLoadCurve', error);
    }
  }

  // ---- controls ----------------------------------------------------------------------------------

  chooseTool(key) {
    if (this.parts.toolButtons[key]?.disabled) {
      return;
    }
    this.viewer.setPrimaryTool(key);
    for (const [name, button] of Object.entries(this.parts.toolButtons)) {
      button.setAttribute('aria-pressed', String(name === key));
    }
    this.root.dataset.tool = key;
  }

  chooseLabel(name) {
    if (!this.labels.has(name)) {
      return;
    }
    this.parts.labelSelect.value = name;
    this.rois.chooseLabel(name);
  }

  setOverlayMode(mode) {
    if (mode !== 'off') {
      this.lastOverlayMode = mode;
    }
    this.parts.overlaySelect.value = mode;
    this.overlay.setMode(mode);
    if (mode !== 'off' && this.analysisOverlay.layerName !== NO_LAYER) {
      this.analysisPanel.setLayer(NO_LAYER);
      this.setStatus('overlaySwitched', { name: t('analysisPanel') });
    }
  }

  toggleOverlay() {
    if (!this.overlay.prediction) {
      showMessage(this.parts, t('noPrediction'));
      return;
    }
    this.setOverlayMode(this.overlay.mode === 'off' ? this.lastOverlayMode : 'off');
  }

  toggleHelp(show = this.parts.help.hidden) {
    this.parts.help.hidden = !show;
    if (show) {
      this.parts.helpClose.focus();
    }
  }

  wireControls() {
    const { parts } = this;
    for (const [key, button] of Object.entries(parts.toolButtons)) {
      button.addEventListener('click', () => this.chooseTool(key));
    }

    for (const label of this.labels.values()) {
      const option = el('option', { value: label.name }, label.display_name);
      option.style.color = label.color;
      parts.labelSelect.append(option);
    }
    if (this.rois.currentLabel) {
      parts.labelSelect.value = this.rois.currentLabel;
    }
    // Focus goes back to the image after a choice, so the arrow keys step through the series
    // instead of changing the chosen option (which would relabel a selected ROI).
    parts.labelSelect.addEventListener('change', () => {
      this.chooseLabel(parts.labelSelect.value);
      this.viewer.element.focus();
    });
    parts.overlaySelect.addEventListener('change', () => {
      this.setOverlayMode(parts.overlaySelect.value);
      this.viewer.element.focus();
    });
    parts.opacity.addEventListener('input', () => this.overlay.setOpacity(Number(parts.opacity.value)));

    parts.resetButton.addEventListener('click', () => this.viewer.resetView());
    parts.helpButton.addEventListener('click', () => this.toggleHelp());
    parts.helpClose.addEventListener('click', () => this.toggleHelp(false));
    parts.phaseSlider.addEventListener('input', () => this.viewer.setPhase(Number(parts.phaseSlider.value)));

    parts.deleteButton.addEventListener('click', () => this.rois.deleteSelected());
    parts.undoButton.addEventListener('click', () => this.rois.undo());
    parts.sdToggle.addEventListener('change', () => this.tic.setShowSd(parts.sdToggle.checked));
    parts.clearProbesButton.addEventListener('click', () => this.tic.clearProbes());
    parts.referenceToggle.addEventListener('change', () =>
      this.tic.setShowReference(parts.referenceToggle.checked),
    );
    parts.csvButton.addEventListener('click', () =>
      this.tic.downloadCsv(`series-${this.series.id}-tic.csv`),
    );
  }

  selectAt(canvasPoint) {
    const imageId = this.viewer.currentImageId();
    const point = worldToPixel(imageId, this.viewer.canvasToWorld(canvasPoint));
    const roi = this.rois.hitTest(this.viewer.slice, point);
    if (roi) {
      this.onRoiListClick(roi, {});
    } else {
      this.rois.clearSelection();
    }
  }
}
