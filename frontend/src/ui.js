// DOM for the viewer: toolbar, viewport, navigation, ROI list, TIC panel, help and joint dialog.

import { t } from './i18n.js';
import { JOINT_NAMES, OPTIONAL_JOINT_NAMES, SIDES } from './joints.js';
import { OVERLAY_MODES } from './overlay.js';

/** Create an element; `attributes` keys starting with "on" become listeners. */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) {
      continue;
    }
    if (name.startsWith('on')) {
      node.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (name === 'dataset') {
      Object.assign(node.dataset, value);
    } else if (value === true) {
      node.setAttribute(name, '');
    } else {
      node.setAttribute(name, String(value));
    }
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

export const HELP_ROWS = [
  ['helpWheel', 'helpWheelAction'],
  ['helpArrows', 'helpArrowsAction'],
  ['helpRightDrag', 'helpRightDragAction'],
  ['helpMiddleDrag', 'helpMiddleDragAction'],
  ['helpCtrlDrag', 'helpCtrlDragAction'],
  ['helpShiftClick', 'helpShiftClickAction'],
  ['helpR', 'helpRAction'],
  ['helpToolKeys', 'helpToolKeysAction'],
  ['helpLabelKeys', 'helpLabelKeysAction'],
  ['helpO', 'helpOAction'],
  ['helpDelete', 'helpDeleteAction'],
  ['helpUndo', 'helpUndoAction'],
  ['helpEscape', 'helpEscapeAction'],
  ['helpQuestion', 'helpQuestionAction'],
];

const TOOL_BUTTONS = [
  ['roi', 'toolRoi', 'toolRoiTitle'],
  ['windowLevel', 'toolWindowLevel', 'toolWindowLevelTitle'],
  ['joint', 'toolJoint', 'toolJointTitle'],
  ['probe', 'toolProbe', 'toolProbeTitle'],
];

const OVERLAY_LABELS = {
  off: 'overlayOff',
  synovitis: 'overlaySynovitis',
  classes: 'overlayClasses',
  probability: 'overlayProbability',
};

function buildToolbar(parts) {
  parts.toolButtons = {};
  const tools = TOOL_BUTTONS.map(([key, text, title]) => {
    const button = el('button', { type: 'button', title: t(title), 'aria-pressed': 'false' }, t(text));
    button.dataset.tool = key;
    parts.toolButtons[key] = button;
    return button;
  });
  parts.labelSelect = el('select', { title: t('labelChooserTitle'), 'aria-label': t('labelChooser') });
  parts.overlaySelect = el(
    'select',
    { title: t('overlayTitle'), 'aria-label': t('overlay') },
    ...OVERLAY_MODES.map((mode) => el('option', { value: mode }, t(OVERLAY_LABELS[mode]))),
  );
  parts.opacity = el('input', {
    type: 'range',
    min: '0',
    max: '1',
    step: '0.05',
    value: '0.5',
    title: t('opacityTitle'),
    'aria-label': t('opacity'),
  });
  parts.resetButton = el('button', { type: 'button', title: t('resetViewTitle') }, t('resetView'));
  parts.helpButton = el('button', { type: 'button', title: t('helpTitle') }, t('help'));
  return el(
    'div',
    { class: 'pm-toolbar', role: 'toolbar', 'aria-label': t('toolbar') },
    el('div', { class: 'pm-group' }, ...tools),
    el('label', { class: 'pm-group' }, `${t('labelChooser')} `, parts.labelSelect),
    el('label', { class: 'pm-group' }, `${t('overlay')} `, parts.overlaySelect, parts.opacity),
    el('div', { class: 'pm-group pm-right' }, parts.resetButton, parts.helpButton),
  );
}

function buildNavigation(parts, series) {
  const [phases] = series.shape;
  parts.phaseSlider = el('input', {
    type: 'range',
    min: '0',
    max: String(phases - 1),
    step: '1',
    value: '0',
    title: t('phaseSliderTitle'),
    'aria-label': t('phaseSlider'),
  });
  parts.phaseLabel = el('span', { class: 'pm-phase-label' });
  parts.sliceLabel = el('span', { class: 'pm-slice-label' });
  return el('div', { class: 'pm-nav' }, parts.phaseSlider, parts.phaseLabel, parts.sliceLabel);
}

function buildSidePanel(parts) {
  parts.roiList = el('ul', { class: 'pm-roi-list', role: 'listbox', 'aria-multiselectable': 'true' });
  parts.deleteButton = el('button', { type: 'button', title: t('deleteRoiTitle') }, t('deleteRoi'));
  parts.undoButton = el('button', { type: 'button', title: t('undoTitle') }, t('undo'));
  parts.ticChart = el('div', { class: 'pm-tic-chart' });
  parts.ticStats = el('ul', { class: 'pm-tic-stats' });
  parts.sdToggle = el('input', { type: 'checkbox' });
  parts.csvButton = el('button', { type: 'button', title: t('exportCsvTitle') }, t('exportCsv'));
  parts.clearProbesButton = el(
    'button',
    { type: 'button', title: t('clearProbesTitle') },
    t('clearProbes'),
  );
  parts.referenceToggle = el('input', { type: 'checkbox', checked: true });
  parts.analysisBox = el('div', { class: 'pm-analysis-box' });
  parts.jointTableBox = el('div', { class: 'pm-joint-box' });
  return el(
    'aside',
    { class: 'pm-side' },
    el(
      'section',
      { class: 'pm-rois' },
      el('h2', {}, t('roiPanel')),
      parts.roiList,
      el('div', { class: 'pm-buttons' }, parts.deleteButton, parts.undoButton),
    ),
    el(
      'section',
      { class: 'pm-tic' },
      el('h2', {}, t('ticPanel')),
      parts.ticChart,
      parts.ticStats,
      el(
        'div',
        { class: 'pm-buttons' },
        el('label', { title: t('showSdTitle') }, parts.sdToggle, ` ${t('showSd')}`),
        el('label', { title: t('referenceToggleTitle') }, parts.referenceToggle, ` ${t('referenceToggle')}`),
        parts.csvButton,
        parts.clearProbesButton,
      ),
    ),
    el('section', { class: 'pm-analysis' }, el('h2', {}, t('analysisPanel')), parts.analysisBox),
    el('section', { class: 'pm-joints' }, el('h2', {}, t('jointTablePanel')), parts.jointTableBox),
  );
}

function buildHelp(parts) {
  const rows = HELP_ROWS.map(([keys, action]) =>
    el('tr', {}, el('th', { scope: 'row' }, el('kbd', {}, t(keys))), el('td', {}, t(action))),
  );
  parts.helpClose = el('button', { type: 'button' }, t('helpClose'));
  parts.help = el(
    'div',
    { class: 'pm-help', role: 'dialog', 'aria-label': t('helpHeading'), hidden: true },
    el(
      'div',
      { class: 'pm-help-box' },
      el('h2', {}, t('helpHeading')),
      el('table', {}, el('tbody', {}, ...rows)),
      parts.helpClose,
    ),
  );
  return parts.help;
}

/**
 * Joint name, side and slice range chooser. `ask(slice, sliceCount)` resolves to
 * {name, side, slice_start, slice_end} (0-based slices) or null when cancelled.
 */
export class JointDialog {
  constructor() {
    const option = (name) => el('option', { value: name }, name);
    this.nameSelect = el(
      'select',
      { name: 'name' },
      ...JOINT_NAMES.map(option),
      el('optgroup', { label: t('jointOptional') }, ...OPTIONAL_JOINT_NAMES.map(option)),
    );
    this.sideSelect = el(
      'select',
      { name: 'side' },
      ...SIDES.map((side) => el('option', { value: side }, t(`side${side}`))),
    );
    this.sliceText = el('p', {});
    const sliceInput = (name) =>
      el('input', { type: 'number', name, min: 1, step: 1, required: true, oninput: () => this.checkRange() });
    this.firstInput = sliceInput('slice_first');
    this.lastInput = sliceInput('slice_last');
    this.element = el(
      'dialog',
      { class: 'pm-joint-dialog' },
      el(
        'form',
        { method: 'dialog' },
        el('h2', {}, t('jointDialogTitle')),
        this.sliceText,
        el('label', {}, `${t('jointName')} `, this.nameSelect),
        el('label', {}, `${t('jointSide')} `, this.sideSelect),
        el('label', {}, `${t('jointFirstSlice')} `, this.firstInput),
        el('label', {}, `${t('jointLastSlice')} `, this.lastInput),
        el(
          'div',
          { class: 'pm-buttons' },
          el('button', { value: 'save', type: 'submit' }, t('save')),
          el('button', { value: 'cancel', type: 'submit', formnovalidate: true }, t('cancel')),
        ),
      ),
    );
  }

  isOpen() {
    return this.element.open;
  }

  /** Mark the last-slice input invalid while it lies before the first, so the form will not submit. */
  checkRange() {
    const first = this.firstInput.valueAsNumber;
    const last = this.lastInput.valueAsNumber;
    const reversed = Number.isFinite(first) && Number.isFinite(last) && last < first;
    this.lastInput.setCustomValidity(reversed ? t('jointLastBeforeFirst', { first, last }) : '');
  }

  choice() {
    return {
      name: this.nameSelect.value,
      side: this.sideSelect.value,
      // The inputs count from 1 like the slice label; the API counts from 0.
      slice_start: this.firstInput.valueAsNumber - 1,
      slice_end: this.lastInput.valueAsNumber - 1,
    };
  }

  ask(slice, sliceCount) {
    this.sliceText.textContent = t('jointSlices', { n: slice + 1 });
    for (const input of [this.firstInput, this.lastInput]) {
      input.max = String(sliceCount);
      input.value = String(slice + 1);
    }
    this.checkRange();
    this.element.returnValue = '';
    this.element.showModal();
    return new Promise((resolve) => {
      this.element.addEventListener(
        'close',
        () => {
          const saved = this.element.returnValue === 'save';
          resolve(saved ? this.choice() : null);
        },
        { once: true },
      );
    });
  }
}

/** Build the whole viewer inside `root`; returns the parts the app wires up. */
export function buildLayout(root, series) {
  const parts = {};
  parts.viewport = el('div', { class: 'pm-viewport', tabindex: '0' });
  parts.status = el('span', { class: 'pm-status', role: 'status', 'aria-live': 'polite' });
  parts.message = el('div', { class: 'pm-message', role: 'alert', hidden: true });
  parts.notice = el('div', { class: 'pm-notice', hidden: true });
  parts.jointDialog = new JointDialog();
  const imageColumn = el(
    'div',
    { class: 'pm-image-column' },
    // The error bar lies over the image, so showing it does not move the image under the pointer.
    el('div', { class: 'pm-viewport-frame' }, parts.viewport, parts.message),
    buildNavigation(parts, series),
  );
  root.replaceChildren(
    el(
      'div',
      { class: 'pm-viewer', role: 'region', 'aria-label': t('viewerTitle') },
      buildToolbar(parts),
      parts.notice,
      el('div', { class: 'pm-main' }, imageColumn, buildSidePanel(parts)),
      el('div', { class: 'pm-statusbar' }, parts.status),
      buildHelp(parts),
      parts.jointDialog.element,
    ),
  );
  return parts;
}

/** Show `text` as an error banner with a dismiss button. */
export function showMessage(parts, text) {
  const dismiss = el('button', { type: 'button', title: t('dismiss') }, '×');
  dismiss.addEventListener('click', () => {
    parts.message.hidden = true;
  });
  parts.message.replaceChildren(el('span', {}, text), dismiss);
  parts.message.hidden = false;
}

export function clearMessage(parts) {
  parts.message.hidden = true;
  parts.message.replaceChildren();
}
