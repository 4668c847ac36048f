// A small line chart on a Canvas 2D: nice scales and ticks (pure, unit-tested),
// one line per policy in its colour and dash pattern, labelled axes with units,
// and a cursor at the timeline's operation. Drawing takes a context and data;
// hover and the DOM live in compare/charts-view.js.
import { formatBytes } from "../format.js";
import { PALETTES } from "../theme.js";

/** Okabe-Ito colours and dash patterns, one pair per policy (colour-blind safe twice over). */
export const POLICY_STYLE = Object.freeze({
  "first-fit": { color: "#0072B2", dash: [] },
  "next-fit": { color: "#E69F00", dash: [8, 4] },
  "best-fit": { color: "#009E73", dash: [2, 3] },
  "worst-fit": { color: "#D55E00", dash: [10, 3, 2, 3] },
  segregated: { color: "#CC79A7", dash: [4, 2, 4, 2, 1, 2] },
  // The production allocators: the palette's sky blue and dark tones of
  // other hues (Tol's indigo and wine among them), each with its own dash.
  talc: { color: "#332288", dash: [1, 3] },
  rlsf: { color: "#56B4E9", dash: [6, 2, 1, 2] },
  dlmalloc: { color: "#7A4A1E", dash: [12, 3] },
  linked_list_allocator: { color: "#5F5F5F", dash: [3, 3, 8, 3] },
  buddy_system_allocator: { color: "#882255", dash: [2, 2, 2, 6] },
  // The kernel heap (slab caches over a buddy allocator): Tol's olive, dotted and long.
  kmalloc: { color: "#999933", dash: [1, 2, 6, 2] },
});

/** A "nice" step (1, 2 or 5 × 10^k) that cuts `span` into about `count` parts (the nearest, on a log scale). */
export function niceStep(span, count = 5) {
  if (!(span > 0) || !Number.isFinite(span)) return 1;
  const raw = span / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const fraction = raw / power;
  const nice = fraction < Math.SQRT2 ? 1 : fraction < Math.sqrt(10) ? 2 : fraction < Math.sqrt(50) ? 5 : 10;
  return nice * power;
}

/** Removes floating-point dust (0.30000000000000004 → 0.3). */
const clean = (v) => Number(v.toPrecision(12));

/**
 * Ticks of a linear axis from 0 (or `min`) up to at least `max`, `count` or so
 * of them, on nice values; for bytes the step is a nice number of B, KiB, MiB
 * or GiB. Returns `{ ticks, max }`, `max` the last tick (the axis' top).
 */
export function ticks(min, max, { count = 5, unit = "count" } = {}) {
  if (!(max > min)) max = min + (unit === "percent" ? 1 : 1);
  let base = 1;
  if (unit === "bytes") {
    for (const b of [1024, 1024 ** 2, 1024 ** 3]) if ((max - min) / count >= b / 2) base = b;
  }
  const step = niceStep((max - min) / base, count) * base;
  const first = Math.floor(min / step) * step;
  const out = [];
  for (let v = first; v < max + step * 1e-9; v = clean(v + step)) out.push(clean(v));
  if (out[out.length - 1] < max) out.push(clean(out[out.length - 1] + step));
  return { ticks: out, max: out[out.length - 1], step };
}

/** A linear map from [d0, d1] to [r0, r1], with `invert`. */
export function scale(d0, d1, r0, r1) {
  const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
  const f = (v) => r0 + (v - d0) * k;
  f.invert = (p) => (k === 0 ? d0 : d0 + (p - r0) / k);
  return f;
}

/** `1.5k`, `2M`: a count for an axis. */
export function formatCount(n) {
  const a = Math.abs(n);
  if (a >= 1e6) return `${clean(n / 1e6)}M`;
  if (a >= 1e3) return `${clean(n / 1e3)}k`;
  return String(clean(n));
}

/** A tick label in the axis' unit. */
export function formatTick(value, unit) {
  if (unit === "bytes") return formatBytes(value);
  if (unit === "percent") return `${clean(value * 100)}%`;
  return formatCount(value);
}

/** Index of the sample whose x is nearest `x` (xs ascending), or -1 when empty. */
export function nearestIndex(xs, x) {
  let lo = 0;
  let hi = xs.length - 1;
  if (hi < 0) return -1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  if (lo > 0 && Math.abs(xs[lo - 1] - x) <= Math.abs(xs[lo] - x)) return lo - 1;
  return lo;
}

export const MARGIN = Object.freeze({ left: 70, right: 14, top: 12, bottom: 40 });
const FONT = "11px system-ui, sans-serif";

/**
 * Draws one chart. `chart` is `{ unit, yLabel, xLabel, xMax, series, cursor }`
 * with `series` `[{ policy, x: ArrayLike, y: ArrayLike, n }]` (n points used)
 * and `cursor` an x value or null. `box` is `{ width, height, dpr, colors }` in
 * CSS px, `colors` a theme palette (theme.js PALETTES; light by default).
 * Returns the geometry for hit-testing: `{ x, y, plot }`.
 */
export function drawChart(ctx, chart, box) {
  const { width, height, dpr = 1, colors = PALETTES.light } = box;
  const plot = { left: MARGIN.left, top: MARGIN.top, right: width - MARGIN.right, bottom: height - MARGIN.bottom };
  ctx.save();
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.fillStyle = colors.background;
  ctx.fillRect(0, 0, width, height);

  let yMax = chart.unit === "percent" ? 1 : 0;
  for (const s of chart.series) for (let i = 0; i < s.n; i++) if (s.y[i] > yMax) yMax = s.y[i];
  const yAxis = ticks(0, yMax, { count: 4, unit: chart.unit });
  const xAxis = ticks(0, Math.max(1, chart.xMax), { count: 6, unit: "count" });
  const x = scale(0, xAxis.max, plot.left, plot.right);
  const y = scale(0, yAxis.max, plot.bottom, plot.top);

  // Grid and tick labels.
  ctx.font = FONT;
  ctx.lineWidth = 1;
  ctx.strokeStyle = colors.grid;
  ctx.fillStyle = colors.text;
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (const t of yAxis.ticks) {
    const py = Math.round(y(t)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(plot.left, py);
    ctx.lineTo(plot.right, py);
    ctx.stroke();
    ctx.fillText(formatTick(t, chart.unit), plot.left - 6, py);
  }
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  for (const t of xAxis.ticks) {
    const px = Math.round(x(t)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(px, plot.top);
    ctx.lineTo(px, plot.bottom);
    ctx.stroke();
    ctx.fillText(formatCount(t), px, plot.bottom + 4);
  }
  ctx.strokeStyle = colors.axis;
  ctx.strokeRect(plot.left + 0.5, plot.top + 0.5, plot.right - plot.left, plot.bottom - plot.top);

  // Axis titles, with units.
  ctx.fillStyle = colors.text;
  ctx.fillText(chart.xLabel, (plot.left + plot.right) / 2, height - 16);
  ctx.save();
  ctx.translate(12, (plot.top + plot.bottom) / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textBaseline = "middle";
  ctx.fillText(chart.yLabel, 0, 0);
  ctx.restore();

  // One line per policy.
  ctx.save();
  ctx.beginPath();
  ctx.rect(plot.left, plot.top - 2, plot.right - plot.left, plot.bottom - plot.top + 4);
  ctx.clip();
  ctx.lineWidth = 2;
  ctx.lineJoin = "round";
  for (const s of chart.series) {
    const style = POLICY_STYLE[s.policy] ?? { color: colors.focus, dash: [] };
    ctx.strokeStyle = style.color;
    ctx.setLineDash(style.dash);
    ctx.beginPath();
    for (let i = 0; i < s.n; i++) {
      const px = x(s.x[i]);
      const py = y(s.y[i]);
      if (i === 0) ctx.moveTo(px, py);
      else ctx.lineTo(px, py);
    }
    if (s.n === 1) ctx.lineTo(x(s.x[0]) + 1, y(s.y[0]));
    ctx.stroke();
  }
  ctx.restore();

  // The timeline's cursor.
  if (chart.cursor !== null && chart.cursor !== undefined) {
    const px = Math.round(x(chart.cursor)) + 0.5;
    ctx.strokeStyle = colors.focus;
    ctx.setLineDash([3, 3]);
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(px, plot.top);
    ctx.lineTo(px, plot.bottom);
    ctx.stroke();
    ctx.setLineDash([]);
  }
  ctx.restore();
  return { x, y, plot };
}
