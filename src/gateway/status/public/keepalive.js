// @ts-check
// The keep-alive interval in use, where it comes from, what was learned, and its chart.
import { byId, el, facts, term } from './dom.js';
import { duration } from './format.js';

/**
 * @typedef {import('./types.js').Status} Status
 * @typedef {import('./types.js').IntervalPoint} IntervalPoint
 * @typedef {import('./dom.js').Child} Child
 * @typedef {typeof import('uplot')} UPlotClass
 * @typedef {import('uplot')} UPlot
 * @typedef {import('uplot').AlignedData} AlignedData
 */

/** @type {UPlot | null} */
let chart = null;

/** uPlot, loaded by its own script tag (an IIFE that sets `window.uPlot`); undefined if it failed. */
const uPlotClass = () => /** @type {{ uPlot?: UPlotClass }} */ (/** @type {unknown} */ (window)).uPlot;

/** @param {Status} status */
export function renderKeepalive(status) {
  const { advice, words, effectiveMs, limitedByPolicy, drops, probeDrops } = status.keepalive;
  const power = status.power;
  /** @type {[Child, Child][]} */
  const rows = [
    [term('In use', 'keep-alive interval'), effectiveMs === null ? '—' : `every ${duration(effectiveMs)}`],
    [
      'Comes from',
      limitedByPolicy
        ? `the power policy: mode ${power.mode} keeps alive at most every ${duration(power.minIntervalMs)} (the cloud advises every ${duration(advice?.intervalMs)})`
        : // The words of docs/keepalive-learning.md, as the cloud's API gives them: not re-worded here.
          (words?.comesFrom ?? 'waiting for the cloud’s advice'),
    ],
  ];
  if (words?.warning) rows.push(['Needs attention', el('span', { class: 'error-text' }, words.warning)]);
  rows.push(
    [
      term(
        'Longest idle that worked',
        'L, the lower bound of the idle timeout: an idle gap this long still worked',
      ),
      advice?.lowerBoundMs == null ? 'none yet' : duration(advice.lowerBoundMs),
    ],
    [
      term(
        'Shortest idle that failed',
        'U, the upper bound of the idle timeout: an idle gap this long was cut',
      ),
      advice?.upperBoundMs == null ? 'none yet' : duration(advice.upperBoundMs),
    ],
    [
      term(
        'Longest a line may live',
        'lifetime cap: some middleboxes end a connection at a fixed age, idle or not',
      ),
      advice?.lifetimeCapMs ? duration(advice.lifetimeCapMs) : 'no limit seen',
    ],
    [
      term('Learning', 'converged: the bounds are as close as the learner needs'),
      advice ? (advice.converged ? 'done' : 'still narrowing down') : '—',
    ],
    [
      term('Drops', 'push lines that went down after being up: each one a real outage of that line'),
      el('span', { 'data-drops': drops }, drops === 0 ? 'none' : String(drops)),
    ],
    [
      term(
        'Planned test cuts',
        'probe drops: the firewall cutting the probe line while it measures; not outages',
      ),
      el('span', { 'data-probe-drops': probeDrops }, probeDrops === 0 ? 'none' : String(probeDrops)),
    ],
  );
  facts(byId('keepalive-facts'), rows);
  renderChart(status);
}

/**
 * The interval advised and in use, stepped, and the drops as a running count.
 * @param {Status} status
 * @returns {AlignedData}
 */
function chartData(status) {
  /** @type {{ at: number, point?: IntervalPoint, drop?: 'real' | 'probe' }[]} */
  const events = [
    ...status.history.points.map((p) => ({ at: p.at, point: p })),
    ...status.history.drops.map((d) => ({
      at: d.at,
      drop: /** @type {'real' | 'probe'} */ (d.role === 'probe' ? 'probe' : 'real'),
    })),
  ].sort((a, b) => a.at - b.at);
  /** @type {number[]} */
  const x = [];
  /** @type {(number | null)[]} */
  const advised = [];
  /** @type {(number | null)[]} */
  const inUse = [];
  /** @type {number[]} */
  const dropped = [];
  /** @type {number[]} */
  const cut = [];
  /** @type {IntervalPoint | null} */
  let last = null;
  let count = 0;
  let cuts = 0;
  for (const e of events) {
    if (e.point) last = e.point;
    if (e.drop === 'real') count++;
    if (e.drop === 'probe') cuts++;
    x.push(e.at / 1000);
    advised.push(last && last.adviceMs !== null ? last.adviceMs / 1000 : null);
    inUse.push(last && last.effectiveMs !== null ? last.effectiveMs / 1000 : null);
    dropped.push(count);
    cut.push(cuts);
  }
  return [x, advised, inUse, dropped, cut];
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
          {
            label: 'planned test cuts',
            stroke: '#9aa5b1',
            width: 1,
            dash: [2, 3],
            paths: stepped,
            scale: 'drops',
          },
        ],
        axes: [
          {},
          { scale: 's', label: 'interval (s)' },
          { scale: 'drops', side: 1, label: 'drops, test cuts', grid: { show: false } },
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
