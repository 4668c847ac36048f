// The compare page's charts: one canvas per metric with a line per policy,
// hover for the operation and every policy's value, the timeline's cursor,
// a legend that shows or hides policies, and PNG export (canvas.toBlob).
import { PEAK_UTILIZATION_DEFINITION } from "../stats-panel.js";
import { currentTheme, onThemeChange } from "../theme.js";
import { drawChart, nearestIndex, formatTick, POLICY_STYLE, MARGIN } from "./chart.js";
import { describeOp } from "./generators.js";
import { summarizeChart } from "./metrics.js";

/** The charts: metric key (as engine.js samples it), title, y-axis label with unit, unit. */
export const CHARTS = Object.freeze([
  { metric: "heapBytes", title: "Heap size", yLabel: "heap size (bytes)", unit: "bytes" },
  { metric: "liveRequested", title: "Live requested bytes", yLabel: "live requested (bytes)", unit: "bytes" },
  { metric: "utilization", title: "Peak utilization", yLabel: "peak utilization (%)", unit: "percent" },
  { metric: "fragmentation", title: "External fragmentation", yLabel: "fragmentation (%)", unit: "percent" },
  { metric: "examined", title: "Blocks examined per operation", yLabel: "blocks / operation", unit: "count" },
]);
const X_LABEL = "operations done (count)";

/** A short line in the policy's colour and dash pattern (SVG), for legends. */
export function policySwatch(policy) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("width", "28");
  svg.setAttribute("height", "10");
  svg.setAttribute("aria-hidden", "true");
  svg.classList.add("swatch-line");
  const line = document.createElementNS(ns, "line");
  const style = POLICY_STYLE[policy];
  line.setAttribute("x1", "1");
  line.setAttribute("x2", "27");
  line.setAttribute("y1", "5");
  line.setAttribute("y2", "5");
  line.setAttribute("stroke", style.color);
  line.setAttribute("stroke-width", "2.5");
  if (style.dash.length) line.setAttribute("stroke-dasharray", style.dash.join(" "));
  svg.append(line);
  return svg;
}

export class ChartsView {
  constructor({ container, legend, tooltip, onError }) {
    this.container = container;
    this.legend = legend;
    this.tooltip = tooltip;
    this.onError = onError;
    this.series = new Map(); // policy → samples
    this.policies = [];
    this.hidden = new Set();
    this.cursor = null;
    this.ops = null;
    this.xMax = 1;
    this.frame = 0;
    this.charts = CHARTS.map((chart) => this.#figure(chart));
    new ResizeObserver(() => this.draw()).observe(container);
    onThemeChange(() => this.draw());
  }

  #figure(chart) {
    const figure = document.createElement("figure");
    const caption = document.createElement("figcaption");
    const title = document.createElement("span");
    title.textContent = chart.title;
    if (chart.metric === "utilization") {
      title.title = PEAK_UTILIZATION_DEFINITION;
      title.classList.add("defined");
    }
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = "Download PNG";
    button.setAttribute("aria-label", `Download PNG: ${chart.title.toLowerCase()} chart`);
    button.dataset.metric = chart.metric;
    caption.append(title, button);
    const canvas = document.createElement("canvas");
    canvas.id = `chart-${chart.metric}`;
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", `${chart.title} per policy over the trace; the results table gives the figures`);
    const summary = document.createElement("p");
    summary.className = "chart-summary";
    summary.id = `summary-${chart.metric}`;
    summary.setAttribute("aria-live", "polite");
    figure.append(caption, canvas, summary);
    this.container.append(figure);
    const entry = { ...chart, canvas, summary, geometry: null };
    button.addEventListener("click", () => this.exportPng(entry));
    canvas.addEventListener("mousemove", (event) => this.#hover(entry, event));
    canvas.addEventListener("mouseleave", () => (this.tooltip.hidden = true));
    return entry;
  }

  /** Starts over with these policies and the trace's operations (for hover text). */
  reset(policies, ops) {
    this.policies = policies;
    this.ops = ops;
    this.xMax = ops.length / 3;
    this.series.clear();
    this.cursor = null;
    this.legend.replaceChildren(
      ...policies.map((policy) => {
        const label = document.createElement("label");
        const box = document.createElement("input");
        box.type = "checkbox";
        box.checked = !this.hidden.has(policy);
        box.dataset.policy = policy;
        box.addEventListener("change", () => {
          if (box.checked) this.hidden.delete(policy);
          else this.hidden.add(policy);
          this.container.dataset.hidden = [...this.hidden].join(" ");
          this.draw();
        });
        const text = document.createElement("span");
        text.textContent = policy;
        label.append(box, policySwatch(policy), text);
        return label;
      }),
    );
    this.draw();
  }

  setSeries(policy, series) {
    this.series.set(policy, series);
    this.schedule();
  }

  setCursor(index) {
    this.cursor = index;
    this.container.dataset.cursor = String(index);
    this.schedule();
  }

  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  draw() {
    const dpr = window.devicePixelRatio || 1;
    for (const chart of this.charts) {
      const { canvas } = chart;
      const width = canvas.clientWidth;
      const height = canvas.clientHeight;
      if (!width || !height) continue;
      if (canvas.width !== Math.round(width * dpr)) canvas.width = Math.round(width * dpr);
      if (canvas.height !== Math.round(height * dpr)) canvas.height = Math.round(height * dpr);
      const series = this.policies
        .filter((p) => this.series.has(p) && !this.hidden.has(p))
        .map((policy) => {
          const s = this.series.get(policy);
          return { policy, x: s.x, y: s[chart.metric], n: s.n };
        });
      const sentence = summarizeChart(chart.metric, series, chart.unit);
      if (chart.summary.textContent !== sentence) chart.summary.textContent = sentence;
      try {
        chart.geometry = drawChart(canvas.getContext("2d"), { unit: chart.unit, yLabel: chart.yLabel, xLabel: X_LABEL, xMax: this.xMax, series, cursor: this.cursor }, { width, height, dpr, colors: currentTheme().colors });
      } catch (error) {
        this.onError(`the ${chart.title.toLowerCase()} chart could not be drawn: ${error.message}`);
      }
    }
  }

  /** The hover text at canvas point x: the operation and each shown policy's value. */
  describeAt(chart, x) {
    const g = chart.geometry;
    if (!g || x < g.plot.left || x > g.plot.right) return null;
    const first = this.policies.find((p) => this.series.has(p) && !this.hidden.has(p));
    if (!first) return null;
    const s = this.series.get(first);
    const k = nearestIndex(s.x.subarray(0, s.n), g.x.invert(x));
    if (k < 0) return null;
    const done = s.x[k];
    const op = done > 0 ? describeOp(this.ops, done - 1) : "";
    const lines = this.policies
      .filter((p) => this.series.has(p) && !this.hidden.has(p) && k < this.series.get(p).n)
      .map((p) => ({ policy: p, value: formatTick(this.series.get(p)[chart.metric][k], chart.unit) }));
    return { done, title: `after operation ${done.toLocaleString("en-US")}${op ? `: ${op}` : " (start)"}`, lines };
  }

  #hover(chart, event) {
    const rect = chart.canvas.getBoundingClientRect();
    const info = this.describeAt(chart, event.clientX - rect.left);
    if (!info) {
      this.tooltip.hidden = true;
      return;
    }
    const head = document.createElement("strong");
    head.textContent = `${chart.title}, ${info.title}`;
    const list = document.createElement("ul");
    for (const { policy, value } of info.lines) {
      const item = document.createElement("li");
      item.append(policySwatch(policy), ` ${policy}: ${value}`);
      list.append(item);
    }
    this.tooltip.replaceChildren(head, list);
    this.tooltip.hidden = false;
    const host = this.tooltip.offsetParent ?? document.body;
    const hostRect = host.getBoundingClientRect();
    const left = Math.min(event.clientX - hostRect.left + 14, hostRect.width - this.tooltip.offsetWidth - 4);
    this.tooltip.style.left = `${Math.max(0, left)}px`;
    this.tooltip.style.top = `${event.clientY - hostRect.top + 14}px`;
  }

  exportPng(chart) {
    chart.canvas.toBlob((blob) => {
      if (!blob) return this.onError("the chart could not be exported");
      download(blob, `heaplab-${chart.metric}.png`);
    }, "image/png");
  }
}

/** Saves `blob` as a file named `name` (through a temporary link). */
export function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export { MARGIN };
