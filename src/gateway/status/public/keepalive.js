// @ts-check
// The keep-alive interval in use, where it comes from, what was learned, and its chart.
import { byId, facts } from './dom.js';
import { duration } from './format.js';

/**
 * @typedef {import('./types.js').Status} Status
 * @typedef {import('./types.js').IntervalPoint} IntervalPoint
 * @typedef {typeof import('uplot')} UPlotClass
 * @typedef {import('uplot')} UPlot
 * @typedef {import('uplot').AlignedData} AlignedData
 */

/** @type {Record<string, string>} */
const ADVICE_SOURCES = {
  default: 'default (nothing learned yet)',
  history: 'this gateway’s own history',
  domain: 'the domain’s shared history',
  probe: 'probing',
};

/** @type {UPlot | null} */
let chart = null;

/** uPlot, loaded by its own script tag (an IIFE that sets `window.uPlot`); undefined if it failed. */
const uPlotClass = () => /** @type {{ uPlot?: UPlotClass }} */ (/** @type {unknown} */ (window)).uPlot;

/** @param {Status} status */
export function renderKeepalive(status) {
  const { advice, effectiveMs, limitedByPolicy, drops } = status.keepalive;
  const power = status.power;
  const source = advice ? ADVICE_SOURCES[advice.source] || advice.source : 'waiting for the cloud';
  facts(byId('keepalive-facts'), [
    ['In use', duration(effectiveMs)],
    [
      'Comes from',
      limitedByPolicy
        ? `power policy: mode ${power.mode} keeps alive at most every ${duration(power.minIntervalMs)} (cloud advises ${duration(advice?.intervalMs)} from ${source})`
        : `the cloud's advice, learned from ${source}`,
    ],
    [
      'Learned bounds',
      advice
        ? `${duration(advice.lowerBoundMs)} (L, worked) < timeout ≤ ${duration(advice.upperBoundMs)} (U, failed)`
        : '—',
    ],
    ['Lifetime cap', advice?.lifetimeCapMs ? duration(advice.lifetimeCapMs) : 'none seen'],
    ['Converged', advice ? (advice.converged ? 'yes' : 'not yet') : '—'],
    ['Drops', String(drops)],
  ]);
  renderChart(status);
}

/**
 * The interval advised and in use, stepped, and the drops as a running count.
 * @param {Status} status
 * @returns {AlignedData}
 */
function chartData(status) {
  /** @type {{ at: number, point?: IntervalPoint, drop?: boolean }[]} */
  const events = [
    ...status.history.points.map((p) => ({ at: p.at, point: p })),
    ...status.history.drops.map((d) => ({ at: d.at, drop: true })),
  ].sort((a, b) => a.at - b.at);
  /** @type {number[]} */
  const x = [];
  /** @type {(number | null)[]} */
  const advised = [];
  /** @type {(number | null)[]} */
  const inUse = [];
  /** @type {number[]} */
  const dropped = [];
  /** @type {IntervalPoint | null} */
  let last = null;
  let count = 0;
  for (const e of events) {
    if (e.point) last = e.point;
    if (e.drop) count++;
    x.push(e.at / 1000);
    advised.push(last && last.adviceMs !== null ? last.adviceMs / 1000 : null);
    inUse.push(last && last.effectiveMs !== null ? last.effectiveMs / 1000 : null);
    dropped.push(count);
  }
  return [x, advised, inUse, dropped];
}

/** @param {Status} status */
function renderChart(status) {
  const box = byId('chart');
  const data = chartData(status);
  box.dataset.points = String(data[0].length);
  const UPlot = uPlotClass();
  if (!UPlot) return;
  const width = Math.max(280, box.clientWidth);
  if (!chart) {
    const stepped = UPlot.paths.stepped?.({ align: 1 });
    chart = new UPlot(
      {
        width,
        height: 240,
        // Log scale: intervals run from seconds (a strict NAT) to a week (the probe ladder's top).
        scales: {
          x: { time: true },
          s: { distr: 3 },
          drops: { range: (_u, _min, max) => [0, Math.max(1, max)] },
        },
        series: [
          {},
          { label: 'advised (s)', stroke: '#2563eb', width: 2, paths: stepped, scale: 's' },
          { label: 'in use (s)', stroke: '#16a34a', width: 2, dash: [6, 4], paths: stepped, scale: 's' },
          {
            label: 'drops',
            stroke: '#dc2626',
            width: 1,
            paths: stepped,
            scale: 'drops',
            points: { show: true },
          },
        ],
        axes: [
          {},
          { scale: 's', label: 'interval (s)' },
          { scale: 'drops', side: 1, label: 'drops', grid: { show: false } },
        ],
      },
      data,
      box,
    );
  } else {
    chart.setData(data);
  }
}

/** The chart follows its box (window resized, phone turned): uPlot draws at a fixed width. */
export function followChartBox() {
  const box = byId('chart');
  new ResizeObserver(() => {
    if (chart) chart.setSize({ width: Math.max(280, box.clientWidth), height: 240 });
  }).observe(box);
}
