// Results of the shown TIC analysis: bolus arrival, arterial phase, voxel counts and volumes, and
// a small plot of the mutual information (MI) between phases with the arterial phase marked.

import uPlot from 'uplot';

import { formatNumber, t } from './i18n.js';
import { el } from './ui.js';

const CHART_HEIGHT = 150;
const MI_COLOR = '#4fc3f7';
const MARK_COLOR = '#ff6b6b';

/** Translated name of the rule that chose the arterial phase. */
function ruleName(rule) {
  const key = `arterialRule_${rule}`;
  const text = t(key);
  return text === key ? String(rule) : text;
}

function phaseText(index, times) {
  if (index === null || index === undefined) {
    return '–';
  }
  return t('phaseAt', { n: index + 1, time: formatNumber(times[index] ?? 0, 1) });
}

export class AnalysisResults {
  /** @param {object} series series JSON (phase_times_s) */
  constructor(series) {
    this.series = series;
    this.list = el('dl', { class: 'pm-results' });
    this.chartBox = el('div', { class: 'pm-mi-chart' });
    this.element = el('div', { class: 'pm-analysis-results' }, this.list, this.chartBox);
    this.chart = null;
    this.shownId = null;
    new ResizeObserver(() => this.resize()).observe(this.chartBox);
  }

  /** Show the results of `analysis` (status done), or nothing for null. */
  show(analysis) {
    if (analysis?.id === this.shownId) {
      return;
    }
    this.shownId = analysis?.id ?? null;
    this.chart?.destroy();
    this.chart = null;
    this.chartBox.replaceChildren();
    this.element.hidden = !analysis;
    if (!analysis) {
      this.list.replaceChildren();
      return;
    }
    this.list.replaceChildren(...this.rows(analysis.results).flatMap(([term, value]) => [
      el('dt', {}, term),
      el('dd', {}, value),
    ]));
    this.plotMutualInformation(analysis.results);
  }

  rows(results) {
    const times = this.series.phase_times_s;
    const arrival = phaseText(results.arrival_phase, times);
    const voxelMm3 = results.voxel_volume_mm3;
    return [
      [t('resultBaseline'), String(results.baseline_phases)],
      [t('resultArrival'), results.arrival_detected === false ? `${arrival} ${t('arrivalNotDetected')}` : arrival],
      [t('resultArterialPhase'), `${phaseText(results.arterial_phase, times)} · ${ruleName(results.arterial_phase_rule)}`],
      [t('resultNoise'), `${formatNumber(results.noise_sd ?? NaN, 1)} ${t('modalityUnits')}`],
      [t('resultNvoxel'), t('voxelsAndVolume', {
        n: formatNumber(results.enhancing_voxels, 0),
        volume: formatNumber(results.enhancing_voxels * (voxelMm3 ?? NaN), 0),
      })],
      [t('resultSynovitis'), t('voxelsAndVolume', {
        n: formatNumber(results.synovitis_voxels, 0),
        volume: formatNumber(results.synovitis_volume_mm3, 0),
      })],
      [t('resultArterial'), t('voxelCount', { n: formatNumber(results.arterial_voxels ?? NaN, 0) })],
    ];
  }

  plotMutualInformation(results) {
    const values = results.mutual_information_nats ?? [];
    if (!values.length) {
      return;
    }
    const phases = values.map((_, index) => index + 1);
    const arterial = results.arterial_phase;
    const options = {
      width: Math.max(200, this.chartBox.clientWidth),
      height: CHART_HEIGHT,
      scales: { x: { time: false } },
      legend: { show: false },
      axes: [
        { label: t('axisPhase'), stroke: '#ccc', grid: { stroke: '#333' }, ticks: { stroke: '#555' } },
        {
          label: t('axisMi'),
          stroke: '#ccc',
          grid: { stroke: '#333' },
          ticks: { stroke: '#555' },
          size: 56,
          values: (chart, ticks) => ticks.map((tick) => formatNumber(tick, 2)),
        },
      ],
      series: [{}, { label: 'MI', stroke: MI_COLOR, width: 1.5, points: { show: true, size: 4 } }],
      hooks: { draw: [(chart) => this.markPhase(chart, arterial)] },
    };
    this.chart = new uPlot(options, [phases, values], this.chartBox);
    this.chartBox.setAttribute('aria-label', t('miChartLabel', { n: arterial === null ? '–' : arterial + 1 }));
  }

  /** Vertical line at the chosen arterial phase (1-based on the x axis). */
  markPhase(chart, arterialIndex) {
    if (arterialIndex === null || arterialIndex === undefined) {
      return;
    }
    const x = chart.valToPos(arterialIndex + 1, 'x', true);
    const { top, height } = chart.bbox;
    const context = chart.ctx;
    context.save();
    context.strokeStyle = MARK_COLOR;
    context.lineWidth = 2;
    context.beginPath();
    context.moveTo(x, top);
    context.lineTo(x, top + height);
    context.stroke();
    context.fillStyle = MARK_COLOR;
    context.font = `${12 * (window.devicePixelRatio || 1)}px sans-serif`;
    context.fillText(t('arterialMark', { n: arterialIndex + 1 }), x + 4, top + height - 6);
    context.restore();
  }

  resize() {
    this.chart?.setSize({ width: Math.max(200, this.chartBox.clientWidth), height: CHART_HEIGHT });
  }
}
