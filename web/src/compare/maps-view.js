// The compare page's heap maps: one per policy, side by side, drawn by the
// playground's heap-map.js at one shared scale (bytes per row), so the maps
// line up and a bigger heap is a taller map.
import { computeLayout, fitBytesPerRow } from "../layout.js";
import { drawHeapMap } from "../heap-map.js";
import { formatBytes, formatPercent } from "../format.js";
import { PEAK_UTILIZATION_DEFINITION, currentUtilization } from "../stats-panel.js";
import { policySwatch } from "./charts-view.js";
import { onThemeChange } from "../theme.js";

const ROW_HEIGHT = 8;
const MAX_CANVAS_HEIGHT = 4000;
/** Rows the biggest heap of the comparison gets. */
export const FIT_ROWS = 40;

export class MapsView {
  constructor({ container, scaleLabel, onError }) {
    this.container = container;
    this.scaleLabel = scaleLabel;
    this.onError = onError;
    this.cards = new Map();
    this.frames = [];
    this.bytesPerRow = 4096;
    new ResizeObserver(() => this.draw()).observe(container);
    // heap-map.js draws in the theme's colours once it reads theme.js's currentTheme().
    onThemeChange(() => this.draw());
  }

  reset(policies) {
    this.cards.clear();
    this.frames = [];
    this.container.replaceChildren(
      ...policies.map((policy) => {
        const card = document.createElement("article");
        card.className = "map-card";
        card.dataset.policy = policy;
        const title = document.createElement("h3");
        const name = document.createElement("span");
        name.textContent = policy;
        title.append(policySwatch(policy), name);
        const scroller = document.createElement("div");
        scroller.className = "map-scroll";
        const canvas = document.createElement("canvas");
        canvas.setAttribute("role", "img");
        canvas.setAttribute("aria-label", `Heap map of ${policy}`);
        canvas.height = 0;
        scroller.append(canvas);
        const facts = document.createElement("dl");
        facts.className = "facts";
        card.append(title, scroller, facts);
        this.cards.set(policy, { card, canvas, facts });
        return card;
      }),
    );
  }

  /** The scale: fits the biggest heap of the whole comparison (so it stays put while scrubbing). */
  setPeakHeap(bytes) {
    this.bytesPerRow = fitBytesPerRow(Math.max(bytes, 4096), FIT_ROWS);
    this.scaleLabel.textContent = formatBytes(this.bytesPerRow);
  }

  /** Draws every policy's heap (frames from the workers, in policy order). */
  show(frames) {
    this.frames = frames;
    this.draw();
  }

  draw() {
    const dpr = window.devicePixelRatio || 1;
    for (const frame of this.frames) {
      const entry = this.cards.get(frame.policy);
      if (!entry) continue;
      const { canvas, card, facts } = entry;
      const width = canvas.parentElement.clientWidth;
      if (!width) continue;
      try {
        const layout = computeLayout(frame.segments, { width, bytesPerRow: this.bytesPerRow, rowHeight: ROW_HEIGHT, gap: 10, left: 64 });
        const height = Math.max(ROW_HEIGHT, Math.min(MAX_CANVAS_HEIGHT, layout.height));
        canvas.style.height = `${height}px`;
        canvas.width = Math.round(width * dpr);
        canvas.height = Math.round(height * dpr);
        drawHeapMap(canvas.getContext("2d"), layout, frame, { top: 0, height, width, dpr });
      } catch (error) {
        this.onError(`the map of ${frame.policy} could not be drawn: ${error.message}`);
      }
      card.dataset.index = String(frame.index);
      card.dataset.bytesPerRow = String(this.bytesPerRow);
      const s = frame.stats;
      const rows = [
        ["heap", formatBytes(s.heapBytes)],
        ["live requested", formatBytes(s.liveRequested)],
        ["peak utilization", formatPercent(s.highWaterMark ? s.peakLiveRequested / s.highWaterMark : 0)],
        ["fragmentation", formatPercent(s.externalFragmentation)],
        ["blocks", `${s.liveBlocks} used, ${s.freeBlocks} free`],
      ];
      facts.replaceChildren(
        ...rows.flatMap(([term, value]) => {
          const dt = document.createElement("dt");
          dt.textContent = term;
          const dd = document.createElement("dd");
          dd.textContent = value;
          if (term === "peak utilization") {
            // The peak stays after everything is freed: the figure now beside it, the definition on hover.
            dd.textContent = `${value} (now ${formatPercent(currentUtilization(s))})`;
            dt.title = PEAK_UTILIZATION_DEFINITION;
            dt.classList.add("defined");
          }
          return [dt, dd];
        }),
      );
    }
  }
}
