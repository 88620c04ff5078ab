// Collapsible "Parameters" form of the TIC analysis. It starts from the parameters of the shown
// analysis, so settings the form does not list are sent back unchanged, and posts a recompute.

import { t } from './i18n.js';
import { el } from './ui.js';

/**
 * Form fields. `path` is the parameter's place in the API object; `scale` converts the API value
 * to the shown one (plateau band as a fraction -> %); `offset` turns a 0-based phase index into
 * the 1-based phase number shown everywhere in the viewer. A blank `optional` field is sent as null
 * (automatic choice); any other blank field is left out, so the server uses its default. A field
 * with `method` applies only to that arterial threshold method and is disabled under the others.
 */
export const PARAMETER_FIELDS = [
  { path: ['shape', 'plateau_band'], label: 'paramPlateauBand', scale: 100, min: 0, step: 'any' },
  { path: ['shape', 'early_window_s'], label: 'paramEarlyWindow', min: 0, step: 'any' },
  { path: ['shape', 'fast_fraction'], label: 'paramFastFraction', min: 0, max: 1, step: 'any' },
  { path: ['shape', 'enhancement_fraction'], label: 'paramEnhancementFraction', min: 0, step: 'any' },
  { path: ['maps', 'iauc_window_s'], label: 'paramIaucWindow', min: 0, step: 'any' },
  { path: ['arterial', 'arterial_fraction'], label: 'paramArterialFraction', min: 0, max: 1, step: 'any', method: 'arterial_fraction' },
  { path: ['arterial', 'threshold_sd'], label: 'paramThresholdSd', min: 0, step: 'any', method: 'sd' },
  { path: ['baseline_phases'], label: 'paramBaselinePhases', optional: true, integer: true, min: 1, step: 1 },
  { path: ['arterial_phase'], label: 'paramArterialPhase', optional: true, integer: true, offset: 1, min: 1, step: 1 },
];

const METHOD_PATH = ['arterial', 'threshold_method'];
/** Arterial threshold methods of the server; the first is its default. */
export const THRESHOLD_METHODS = ['arterial_fraction', 'sd', 'otsu'];

function readPath(object, path) {
  return path.reduce((value, key) => (value === null || value === undefined ? undefined : value[key]), object);
}

function writePath(object, path, value) {
  let target = object;
  for (const key of path.slice(0, -1)) {
    target[key] = { ...(target[key] ?? {}) };
    target = target[key];
  }
  target[path[path.length - 1]] = value;
}

/** API value -> shown value; the scale is applied with rounding so 0.1 shows as 10, not 10.000000000000002. */
function toShown(field, value) {
  if (value === null || value === undefined) {
    return '';
  }
  const shown = value * (field.scale ?? 1) + (field.offset ?? 0);
  return String(Number(shown.toPrecision(12)));
}

function toApi(field, shown) {
  return Number(((shown - (field.offset ?? 0)) / (field.scale ?? 1)).toPrecision(12));
}

export class AnalysisForm {
  /**
   * @param {number} phaseCount phases of the series, the upper bound of the arterial phase field
   * @param {(parameters: object) => Promise<void>} submit posts the parameters; rejects with an ApiError
   */
  constructor(phaseCount, submit) {
    this.phaseCount = phaseCount;
    this.submit = submit;
    this.base = {};
    this.inputs = new Map();
    this.element = this.build();
  }

  build() {
    const rows = PARAMETER_FIELDS.map((field) => {
      const input = el('input', {
        type: 'number', name: field.path.join('.'), min: field.min, max: field.max, step: field.step,
        placeholder: t(field.optional ? 'paramAuto' : 'paramDefault'),
      });
      this.inputs.set(field, input);
      return el('label', { class: 'pm-param' }, el('span', {}, t(field.label, { n: this.phaseCount })), input);
    });
    this.method = el(
      'select',
      { name: METHOD_PATH.join('.') },
      ...THRESHOLD_METHODS.map((method) => el('option', { value: method }, t(`thresholdMethod_${method}`))),
    );
    this.method.addEventListener('change', () => this.enableMethodFields());
    const methodRow = el('label', { class: 'pm-param' }, el('span', {}, t('paramThresholdMethod')), this.method);
    // The method chooser goes above the fields that depend on it.
    const firstMethodField = PARAMETER_FIELDS.findIndex((field) => field.method);
    rows.splice(firstMethodField, 0, methodRow);
    this.motion = el('input', { type: 'checkbox', name: 'motion_correction' });
    this.error = el('p', { class: 'pm-form-error', role: 'alert', hidden: true });
    this.button = el('button', { type: 'submit' }, t('recompute'));
    this.form = el(
      'form',
      { class: 'pm-param-form', novalidate: true },
      ...rows,
      el('label', { class: 'pm-param pm-param-check' }, this.motion, ` ${t('paramMotion')}`),
      el('div', { class: 'pm-buttons' }, this.button),
      this.error,
    );
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.send();
    });
    return el(
      'details',
      { class: 'pm-parameters' },
      el('summary', {}, t('parameters')),
      el('p', { class: 'pm-hint' }, t('parametersHint')),
      this.form,
    );
  }

  /** Fill the fields from an analysis' parameters (the defaults when `parameters` is empty). */
  fill(parameters) {
    this.base = structuredClone(parameters ?? {});
    for (const [field, input] of this.inputs) {
      input.value = toShown(field, readPath(this.base, field.path));
    }
    this.method.value = readPath(this.base, METHOD_PATH) ?? THRESHOLD_METHODS[0];
    this.enableMethodFields();
    this.motion.checked = Boolean(this.base.motion_correction);
  }

  enableMethodFields() {
    for (const [field, input] of this.inputs) {
      if (field.method) {
        input.disabled = field.method !== this.method.value;
      }
    }
  }

  /** Read the parameters from the fields; throws an Error naming the field when one is invalid. */
  read() {
    const parameters = structuredClone(this.base);
    writePath(parameters, METHOD_PATH, this.method.value);
    for (const [field, input] of this.inputs) {
      if (input.disabled) {
        // The chosen method does not use this value; the shown analysis' value is kept.
        continue;
      }
      const label = t(field.label, { n: this.phaseCount });
      // A number input reports text it cannot parse as an empty value with validity.badInput set.
      if (input.value.trim() === '' && !input.validity.badInput) {
        // JSON.stringify drops undefined members, so the server default applies.
        writePath(parameters, field.path, field.optional ? null : undefined);
        continue;
      }
      const shown = input.valueAsNumber;
      if (!Number.isFinite(shown) || (field.integer && !Number.isInteger(shown))) {
        throw new Error(t(field.integer ? 'paramNotInteger' : 'paramNotNumber', { field: label, value: input.value || '…' }));
      }
      if (field.offset && (shown < 1 || shown > this.phaseCount)) {
        throw new Error(t('paramPhaseRange', { field: label, value: shown, n: this.phaseCount }));
      }
      writePath(parameters, field.path, toApi(field, shown));
    }
    parameters.motion_correction = this.motion.checked;
    return parameters;
  }

  async send() {
    this.showError('');
    let parameters;
    try {
      parameters = this.read();
    } catch (error) {
      this.showError(error.message);
      return;
    }
    this.button.disabled = true;
    try {
      await this.submit(parameters);
    } catch (error) {
      this.showError(error.detail ?? error.message ?? String(error));
    } finally {
      this.button.disabled = false;
    }
  }

  showError(text) {
    this.error.textContent = text;
    this.error.hidden = !text;
  }
}
