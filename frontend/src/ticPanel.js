// TIC panel: uPlot chart of the selected ROIs' mean curves, of probed pixels, of a joint region's
// mean and of the muscle reference curve, plus CSV export.

import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

import { formatNumber, t } from './i18n.js';

const PROBE_COLORS = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#42d4f4'];
const MAX_PROBES = PROBE_COLORS.length;
const CHART_HEIGHT = 240;
const REFERENCE_COLOR = '#c8c8c8';
const JOINT_COLOR = '#4fc3f7';

function fadeColor(hex, alpha) {
  const value = Number.parseInt(hex.replace('#', ''), 16);
  return `rgba(${(value >> 16) & 255}, ${(value >> 8) & 255}, ${value & 255}, ${alpha})`;
}

/** Quote a CSV field when it contains a comma, quote or line break. */
function csvField(value) {
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** Build one line of the stats list: a colour swatch and a text. */
function statLine(color, text, className = '') {
  const item = document.createElement('li');
  if (className) {
    item.className = className;
  }
  const swatch = document.createElement('span');
  swatch.className = 'pm-swatch';
  swatch.style.background = color;
  item.append(swatch, text);
  return item;
}

/**
 * Average ROI TICs weighted by pixel count, which gives the mean over all their pixels.
 * @param {object[]} tics from /api/rois/{id}/tic/, all with the same times
 * @returns {{times_s, mean, pixel_count, roi_count, unit}|null} null when no ROI has pixels
 */
export function weightedMeanCurve(tics) {
  const used = tics.filter((tic) => tic.pixel_count > 0);
  const total = used.reduce((sum, tic) => sum + tic.pixel_count, 0);
  if (!total) {
    return null;
  }
  const mean = used[0].mean.map((_, phase) =>
    used.reduce((sum, tic) => sum + tic.mean[phase] * tic.pixel_count, 0) / total,
  );
  return { times_s: used[0].times_s, mean, pixel_count: total, roi_count: used.length, unit: used[0].unit };
}

export class TicPanel {
  /**
   * @param {HTMLElement} container where the chart goes
   * @param {HTMLElement} statsElement where pixel counts and areas go
   * @param {object} series series JSON (phase_times_s, unit)
   */
  constructor(container, statsElement, series) {
    this.container = container;
    this.statsElement = statsElement;
    this.series = series;
    this.unit = series.unit || 'modality units';
    this.roiCurves = [];
    this.probeCurves = [];
    /** Pixel-count-weighted mean of the muscle ROIs: {times_s, mean, pixel_count, roi_count}, or null. */
    this.reference = null;
    this.referenceNote = '';
    this.showReference = true;
    /** Mean curve of one joint region: {name, tic} with tic from /api/joints/{id}/curve/, or null. */
    this.jointCurve = null;
    this.showSd = false;
    this.currentPhase = 0;
    this.chart = null;
    new ResizeObserver(() => this.resize()).observe(container);
  }

  /** @param {Array<{id, name, color, tic}>} curves `tic` as returned by /api/rois/{id}/tic/ */
  setRoiCurves(curves) {
    this.roiCurves = curves;
    this.rebuild();
  }

  /** @param {{slice, row, column, curve, details?: string}} probe `details` describes the pixel's analysis values */
  addProbe({ slice, row, column, curve, details = '' }) {
    const color = PROBE_COLORS[this.probeCurves.length % PROBE_COLORS.length];
    this.probeCurves.push({
      name: t('probeCurve', { slice: slice + 1, row, column }),
      color,
      times: curve.times_s,
      values: curve.values,
      details,
    });
    if (this.probeCurves.length > MAX_PROBES) {
      this.probeCurves.shift();
    }
    this.rebuild();
  }

  clearProbes() {
    this.probeCurves = [];
    this.rebuild();
  }

  /** @param {object|null} reference see `this.reference`; `note` explains a missing curve */
  setReference(reference, note = '') {
    this.reference = reference;
    this.referenceNote = note;
    this.rebuild();
  }

  setShowReference(show) {
    this.showReference = show;
    this.rebuild();
  }

  setJointCurve(jointCurve) {
    this.jointCurve = jointCurve;
    this.rebuild();
  }

  shownReference() {
    return this.showReference ? this.reference : null;
  }

  setShowSd(show) {
    this.showSd = show;
    this.rebuild();
  }

  setPhase(phase) {
    this.currentPhase = phase;
    this.chart?.redraw(false, false);
  }

  hasCurves() {
    const extra = Number(Boolean(this.shownReference())) + Number(Boolean(this.jointCurve));
    return this.roiCurves.length + this.probeCurves.length + extra > 0;
  }

  /** Mean curves with optional SD: the selected ROIs, then the joint region. */
  meanCurves() {
    return this.jointCurve
      ? [...this.roiCurves, { name: this.jointCurve.name, color: JOINT_COLOR, tic: this.jointCurve.tic }]
      : this.roiCurves;
  }

  times() {
    return this.meanCurves()[0]?.tic.times_s ?? this.probeCurves[0]?.times ?? this.series.phase_times_s;
  }

  /** uPlot data columns and series options, in the same order. */
  buildSeries() {
    const data = [this.times()];
    const series = [{ label: t('axisTime') }];
    const bands = [];
    for (const curve of this.meanCurves()) {
      data.push(curve.tic.mean);
      series.push({ label: curve.name, stroke: curve.color, width: 2 });
      if (this.showSd && curve.tic.sd) {
        const meanIndex = data.length - 1;
        data.push(curve.tic.mean.map((m, i) => m + curve.tic.sd[i]));
        data.push(curve.tic.mean.map((m, i) => m - curve.tic.sd[i]));
        const faint = { stroke: fadeColor(curve.color, 0.4), width: 1, dash: [4, 4] };
        series.push({ label: `${curve.name} +SD`, ...faint });
        series.push({ label: `${curve.name} −SD`, ...faint });
        bands.push({ series: [meanIndex + 1, meanIndex + 2], fill: fadeColor(curve.color, 0.15) });
      }
    }
    for (const curve of this.probeCurves) {
      data.push(curve.values);
      series.push({ label: curve.name, stroke: curve.color, width: 1.5, dash: [6, 3] });
    }
    const reference = this.shownReference();
    if (reference) {
      data.push(reference.mean);
      series.push({ label: t('referenceCurve'), stroke: REFERENCE_COLOR, width: 2, dash: [10, 5] });
    }
    return { data, series, bands };
  }

  rebuild() {
    this.chart?.destroy();
    this.chart = null;
    this.container.replaceChildren();
    this.renderStats();
    if (!this.hasCurves()) {
      const empty = document.createElement('p');
      empty.className = 'pm-empty';
      empty.textContent = t('ticEmpty');
      this.container.append(empty);
      return;
    }
    const { data, series, bands } = this.buildSeries();
    const options = {
      width: Math.max(200, this.container.clientWidth),
      height: CHART_HEIGHT,
      scales: { x: { time: false } },
      axes: [
        { label: t('axisTime'), stroke: '#ccc', grid: { stroke: '#333' }, ticks: { stroke: '#555' } },
        {
          label: t('axisSignal', { unit: this.unit }),
          stroke: '#ccc',
          grid: { stroke: '#333' },
          ticks: { stroke: '#555' },
          size: 60,
        },
      ],
      series,
      bands,
      legend: { live: true },
      hooks: { draw: [(chart) => this.drawPhaseMarker(chart)] },
    };
    this.chart = new uPlot(options, data, this.container);
  }

  drawPhaseMarker(chart) {
    const time = this.times()[this.currentPhase];
    if (time === undefined) {
      return;
    }
    const x = chart.valToPos(time, 'x', true);
    const { top, height } = chart.bbox;
    const context = chart.ctx;
    context.save();
    context.strokeStyle = 'rgba(255, 255, 255, 0.5)';
    context.setLineDash([3, 3]);
    context.beginPath();
    context.moveTo(x, top);
    context.lineTo(x, top + height);
    context.stroke();
    context.restore();
  }

  renderStats() {
    const lines = this.roiCurves.map((curve) => {
      const pixels = t('pixelCount', { n: curve.tic.pixel_count });
      const area = t('area', { area: formatNumber(curve.tic.area_mm2, 1) });
      return statLine(curve.color, `${curve.name}: ${pixels} · ${area}`);
    });
    if (this.jointCurve) {
      const { tic, name } = this.jointCurve;
      const volume = t('volume', { volume: formatNumber(tic.volume_mm3, 0) });
      lines.push(statLine(JOINT_COLOR, `${name}: ${t('voxelCount', { n: formatNumber(tic.voxel_count, 0) })} · ${volume}`));
    }
    for (const curve of this.probeCurves) {
      if (curve.details) {
        lines.push(statLine(curve.color, `${curve.name}: ${curve.details}`, 'pm-probe-info'));
      }
    }
    if (this.showReference && (this.reference || this.referenceNote)) {
      lines.push(this.referenceLine());
    }
    this.statsElement.replaceChildren(...lines);
  }

  referenceLine() {
    const reference = this.reference;
    if (!reference) {
      return statLine(REFERENCE_COLOR, this.referenceNote, 'pm-reference-info');
    }
    const pixels = t('pixelCount', { n: reference.pixel_count });
    const text = t('referenceSummary', { n: reference.roi_count, pixels });
    return statLine(REFERENCE_COLOR, text, 'pm-reference-info');
  }

  resize() {
    if (this.chart) {
      this.chart.setSize({ width: Math.max(200, this.container.clientWidth), height: CHART_HEIGHT });
    }
  }

  /** CSV text: one row per phase; times in s, signals in the series unit. */
  toCsv() {
    const times = this.times();
    const header = [t('csvTime')];
    const columns = [];
    for (const curve of this.meanCurves()) {
      header.push(`${curve.name} mean (${this.unit})`);
      columns.push(curve.tic.mean);
      if (curve.tic.sd) {
        header.push(`${curve.name} SD (${this.unit})`);
        columns.push(curve.tic.sd);
      }
    }
    for (const curve of this.probeCurves) {
      header.push(`${curve.name} (${this.unit})`);
      columns.push(curve.values);
    }
    const reference = this.shownReference();
    if (reference) {
      header.push(`${t('referenceCurve')} mean (${this.unit})`);
      columns.push(reference.mean);
    }
    const rows = [header.map(csvField).join(',')];
    times.forEach((time, index) => {
      rows.push([time, ...columns.map((column) => column[index])].join(','));
    });
    return `${rows.join('\n')}\n`;
  }

  downloadCsv(fileName) {
    const blob = new Blob([this.toCsv()], { type: 'text/csv' });
    const link = document.createElement('a');
    link.href = URL.createObjectURL(blob);
    link.download = fileName;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 0);
  }
}
