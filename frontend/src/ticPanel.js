// TIC panel: uPlot chart of the selected ROIs' mean curves and of probed pixels, plus CSV export.

import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

import { formatNumber, t } from './i18n.js';

const PROBE_COLORS = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#42d4f4'];
const MAX_PROBES = PROBE_COLORS.length;
const CHART_HEIGHT = 240;

function fadeColor(hex, alpha) {
  const value = Number.parseInt(hex.replace('#', ''), 16);
  return `rgba(${(value >> 16) & 255}, ${(value >> 8) & 255}, ${value & 255}, ${alpha})`;
}

/** Quote a CSV field when it contains a comma, quote or line break. */
function csvField(value) {
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
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

  addProbe({ slice, row, column, curve }) {
    const color = PROBE_COLORS[this.probeCurves.length % PROBE_COLORS.length];
    this.probeCurves.push({
      name: t('probeCurve', { slice: slice + 1, row, column }),
      color,
      times: curve.times_s,
      values: curve.values,
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

  setShowSd(show) {
    this.showSd = show;
    this.rebuild();
  }

  setPhase(phase) {
    this.currentPhase = phase;
    this.chart?.redraw(false, false);
  }

  hasCurves() {
    return this.roiCurves.length + this.probeCurves.length > 0;
  }

  times() {
    return this.roiCurves[0]?.tic.times_s ?? this.probeCurves[0]?.times ?? this.series.phase_times_s;
  }

  /** uPlot data columns and series options, in the same order. */
  buildSeries() {
    const data = [this.times()];
    const series = [{ label: t('axisTime') }];
    const bands = [];
    for (const curve of this.roiCurves) {
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
      const item = document.createElement('li');
      const swatch = document.createElement('span');
      swatch.className = 'pm-swatch';
      swatch.style.background = curve.color;
      const pixels = t('pixelCount', { n: curve.tic.pixel_count });
      const area = t('area', { area: formatNumber(curve.tic.area_mm2, 1) });
      item.append(swatch, `${curve.name}: ${pixels} · ${area}`);
      return item;
    });
    this.statsElement.replaceChildren(...lines);
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
    for (const curve of this.roiCurves) {
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
