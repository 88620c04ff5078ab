// "TIC analysis" side-panel section: status of the analyses, layer chooser, colour bar and display
// range of maps, shape-type legend with toggles, mask swatch and overlay opacity.

import { lutGradient } from './colormap.js';
import { formatNumber, t } from './i18n.js';
import { NO_LAYER } from './analysisOverlay.js';
import { el } from './ui.js';

/** Layers offered in the chooser, in this order, when the analysis has them. */
export const LAYER_ORDER = [
  'me', 'ire', 'mis', 'ttp', 'iauc', 'ser', 'washout', 'shape_types', 'arterial_mask', 'synovitis',
];

/** Display name of a layer: field terms (ME, IRE, TTP, …) or translated names. */
export function layerName(name) {
  return t(`layer_${name}`);
}

/** Unit as shown next to values; the dimensionless unit "1" is left out. */
export function displayUnit(unit) {
  return unit && unit !== '1' ? unit : '';
}

/** Translated name of a TIC shape type; the server's name for values the viewer does not know. */
export function shapeTypeName(value, legend = []) {
  const key = `shapeType${value}`;
  const text = t(key);
  return text === key ? (legend.find((entry) => entry.value === value)?.name ?? String(value)) : text;
}

/** Digits after the decimal point that suit the span of a display range. */
export function rangeDigits(min, max) {
  const span = Math.abs(max - min);
  if (span >= 100) {
    return 0;
  }
  return span >= 1 ? 1 : 3;
}

function formatValue(value, digits) {
  return Number.isFinite(value) ? formatNumber(value, digits) : '–';
}

export class AnalysisPanel {
  /**
   * @param {import('./analysis.js').AnalysisSource} source
   * @param {import('./analysisOverlay.js').AnalysisOverlay} overlay
   * @param {(name: string) => void} onLayerChosen called after the user picks a layer
   */
  constructor(source, overlay, onLayerChosen) {
    this.source = source;
    this.overlay = overlay;
    this.onLayerChosen = onLayerChosen;
    this.element = this.build();
    overlay.on('range', (range) => this.showRange(range));
  }

  build() {
    this.status = el('p', { class: 'pm-analysis-status', role: 'status', 'aria-live': 'polite' });
    this.summary = el('p', { class: 'pm-analysis-summary' });
    this.layerSelect = el('select', { class: 'pm-layer-select', 'aria-label': t('analysisLayer') });
    this.layerSelect.addEventListener('change', () => this.chooseLayer(this.layerSelect.value));
    this.opacity = el('input', {
      type: 'range', min: '0', max: '1', step: '0.05', value: String(this.overlay.opacity),
      'aria-label': t('layerOpacity'), title: t('layerOpacityTitle'),
    });
    this.opacity.addEventListener('input', () => this.overlay.setOpacity(Number(this.opacity.value)));
    this.mapControls = this.buildMapControls();
    this.legend = el('ul', { class: 'pm-legend', hidden: true });
    this.maskLegend = el('p', { class: 'pm-mask-legend', hidden: true });
    this.description = el('p', { class: 'pm-hint pm-layer-description' });
    return el(
      'div',
      { class: 'pm-analysis-controls' },
      this.status,
      this.summary,
      el('label', { class: 'pm-row' }, `${t('analysisLayer')} `, this.layerSelect),
      el('label', { class: 'pm-row' }, `${t('layerOpacity')} `, this.opacity),
      el('p', { class: 'pm-hint' }, t('oneOverlayNote')),
      this.description,
      this.mapControls,
      this.legend,
      this.maskLegend,
    );
  }

  buildMapControls() {
    this.colorbar = el('div', { class: 'pm-colorbar', role: 'img' });
    this.colorbar.style.background = lutGradient(this.overlay.lut);
    this.colorbarLabel = el('div', { class: 'pm-colorbar-label' });
    const numberInput = (label) =>
      el('input', { type: 'number', step: 'any', class: 'pm-range-input', 'aria-label': t(label) });
    this.minInput = numberInput('rangeMin');
    this.maxInput = numberInput('rangeMax');
    for (const input of [this.minInput, this.maxInput]) {
      input.addEventListener('change', () => this.applyRange());
    }
    this.autoButton = el('button', { type: 'button', title: t('rangeAutoTitle') }, t('rangeAuto'));
    this.autoButton.addEventListener('click', () => this.overlay.setRange(0, 1, true));

    this.hideBelow = el('input', { type: 'checkbox', checked: this.overlay.hideBelow });
    this.hideBelow.addEventListener('change', () => this.overlay.setHideBelow(this.hideBelow.checked));
    this.hideNoise = el('input', { type: 'checkbox', checked: this.overlay.hideNoise });
    this.hideNoise.addEventListener('change', () => {
      this.overlay.range.auto = true;
      this.overlay.setHideNoise(this.hideNoise.checked);
    });

    return el(
      'div',
      { class: 'pm-map-controls', hidden: true },
      this.colorbar,
      this.colorbarLabel,
      el(
        'div',
        { class: 'pm-row' },
        el('label', {}, `${t('rangeMin')} `, this.minInput),
        el('label', {}, `${t('rangeMax')} `, this.maxInput),
        this.autoButton,
      ),
      el('label', { class: 'pm-row' }, this.hideBelow, ` ${t('hideBelow')}`),
      el('label', { class: 'pm-row', title: t('hideNoiseTitle') }, this.hideNoise, ` ${t('hideNoise')}`),
    );
  }

  /** Rebuild for the shown analysis (or none) and report the newest one's status. */
  update() {
    const current = this.source.current;
    this.showStatus();
    if (this.shownId !== undefined && current?.id === this.shownId) {
      return;
    }
    this.shownId = current?.id;
    this.summary.textContent = current
      ? t('analysisSummary', { id: current.id, version: current.code_version || '–' })
      : '';
    const names = current ? LAYER_ORDER.filter((name) => this.source.layer(name)) : [];
    const options = [NO_LAYER, ...names].map((name) =>
      el('option', { value: name }, name === NO_LAYER ? t('layerNone') : layerName(name)),
    );
    this.layerSelect.replaceChildren(...options);
    this.layerSelect.disabled = !current;
    const keep = names.includes(this.overlay.layerName) ? this.overlay.layerName : NO_LAYER;
    this.layerSelect.value = keep;
    this.overlay.setLayer(keep);
    this.showLayerControls();
  }

  showStatus() {
    const latest = this.source.latest();
    let text = '';
    if (!latest) {
      text = t('analysisNone');
    } else if (latest.status === 'queued') {
      text = t('analysisQueued');
    } else if (latest.status === 'running') {
      text = t('analysisRunning');
    } else if (latest.status === 'failed') {
      text = t('analysisFailed', { id: latest.id, error: latest.error || '–' });
    }
    this.status.textContent = text;
    this.status.hidden = !text;
    this.status.dataset.status = latest?.status ?? 'none';
  }

  chooseLayer(name) {
    this.overlay.setLayer(name);
    this.showLayerControls();
    this.onLayerChosen(name);
  }

  /** Select `name` without notifying (used when the prediction overlay takes over). */
  setLayer(name) {
    this.layerSelect.value = name;
    this.overlay.setLayer(name);
    this.showLayerControls();
  }

  showLayerControls() {
    const layer = this.overlay.layer();
    this.mapControls.hidden = layer?.kind !== 'map';
    this.legend.hidden = layer?.kind !== 'categorical';
    this.maskLegend.hidden = layer?.kind !== 'mask';
    this.description.textContent = layer?.description ?? '';
    this.description.hidden = !layer?.description;
    if (layer?.kind === 'categorical') {
      this.renderLegend(layer);
    } else if (layer?.kind === 'mask') {
      this.renderMaskLegend(layer);
    }
  }

  renderLegend(layer) {
    const counts = this.source.current?.results?.shape_type_counts ?? {};
    const items = layer.legend.map((entry) => {
      const toggle = el('input', { type: 'checkbox', 'data-value': entry.value });
      toggle.checked = !this.overlay.hiddenTypes.has(entry.value);
      toggle.addEventListener('change', () => this.overlay.setTypeShown(entry.value, toggle.checked));
      const swatch = el('span', { class: 'pm-swatch' });
      swatch.style.background = entry.color;
      const count = counts[String(entry.value)];
      const text = `${entry.value} ${shapeTypeName(entry.value, layer.legend)}`;
      return el(
        'li',
        { 'data-value': entry.value },
        el('label', {}, toggle, swatch, text),
        count === undefined ? null : el('small', {}, t('voxelCount', { n: formatNumber(count, 0) })),
      );
    });
    this.legend.replaceChildren(...items);
  }

  renderMaskLegend(layer) {
    const swatch = el('span', { class: 'pm-swatch' });
    swatch.style.background = this.overlay.maskColors[layer.name] ?? '#ff00ff';
    this.maskLegend.replaceChildren(swatch, layerName(layer.name));
  }

  applyRange() {
    const min = this.minInput.valueAsNumber;
    const max = this.maxInput.valueAsNumber;
    if (Number.isFinite(min) && Number.isFinite(max) && max > min) {
      this.overlay.setRange(min, max);
    } else {
      this.showRange(this.overlay.range);
    }
  }

  /** Colour-bar label ("ME 0–250 %") and range inputs for the current display range. */
  showRange({ min, max }) {
    const layer = this.overlay.layer();
    if (!layer || layer.kind !== 'map') {
      return;
    }
    const digits = rangeDigits(min, max);
    const unit = displayUnit(layer.unit);
    const text = `${layerName(layer.name)} ${formatValue(min, digits)}–${formatValue(max, digits)}`;
    this.colorbarLabel.textContent = unit ? `${text} ${unit}` : text;
    this.colorbar.setAttribute('aria-label', this.colorbarLabel.textContent);
    if (document.activeElement !== this.minInput && document.activeElement !== this.maxInput) {
      this.minInput.value = String(Number(min.toFixed(digits)));
      this.maxInput.value = String(Number(max.toFixed(digits)));
    }
  }
}
