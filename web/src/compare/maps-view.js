// The compare page's heap maps: one per policy, side by side, in the
// playground's block view (block-layout.js, block-view.js) at one shared
// zoom, so the same block is the same box in every map, labels stay inside
// their boxes, and a heap with more blocks is a taller map.
import { computeBlockLayout, MIN_BLOCK_ZOOM } from "../block-layout.js";
import { drawBlockView } from "../block-view.js";
import { formatBytes, formatPercent } from "../format.js";
import { PEAK_UTILIZATION_DEFINITION, currentUtilization } from "../stats-panel.js";
import { policySwatch } from "./charts-view.js";
import { onThemeChange, currentTheme } from "../theme.js";
import { computeKernelLayout, drawKernelView } from "../kernel-view.js";
import { isPeer } from "./peers.js";

const MAX_CANVAS_HEIGHT = 4000;
/** The height the map with the most blocks should fit in, when the zoom allows. */
export const FIT_HEIGHT = 420;

export class MapsView {
  constructor({ container, scaleLabel, onError }) {
    this.container = container;
    this.scaleLabel = scaleLabel;
    this.onError = onError;
    this.cards = new Map();
    this.frames = [];
    /** The block view's zoom, shared by every map. */
    this.zoom = 1;
    this.zoomKey = "";
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
        if (isPeer(policy)) {
          const badge = document.createElement("span");
          badge.className = "production";
          badge.textContent = "production";
          title.append(badge);
        }
        const scroller = document.createElement("div");
        scroller.className = "map-scroll";
        scroller.tabIndex = 0;
        scroller.setAttribute("role", "region");
        scroller.setAttribute("aria-label", `Heap map of ${policy}, scrollable`);
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

  /** One zoom for every map: the largest that fits the map with the most blocks into FIT_HEIGHT. */
  #fitZoom(width) {
    const key = `${width}:${this.frames.map((f) => `${f.policy}@${f.index}`).join(",")}`;
    if (key === this.zoomKey) return this.zoom;
    let z = 1;
    // (The kernel heap's picture has no zoom: one row per buddy block.)
    const fits = (zoom) => this.frames.every((f) => f.kernel || computeBlockLayout(f, { width, zoom }).height <= FIT_HEIGHT);
    while (z > MIN_BLOCK_ZOOM && !fits(z)) z = Math.max(MIN_BLOCK_ZOOM, z / 1.25);
    this.zoom = z;
    this.zoomKey = key;
    this.scaleLabel.textContent = `block view ×${z.toFixed(2)}`;
    return z;
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
        const layout = frame.kernel ? computeKernelLayout(frame, { width }) : computeBlockLayout(frame, { width, zoom: this.#fitZoom(width) });
        const height = Math.max(40, Math.min(MAX_CANVAS_HEIGHT, layout.height));
        canvas.style.height = `${height}px`;
        canvas.width = Math.round(width * dpr);
        canvas.height = Math.round(height * dpr);
        const view = { top: 0, height, width, dpr, freeLists: frame.freeLists ?? null };
        const drawn = frame.kernel ? drawKernelView(canvas.getContext("2d"), layout, frame, { ...view, colors: currentTheme().colors }) : drawBlockView(canvas.getContext("2d"), layout, frame, view);
        card.dataset.blocksDrawn = String(drawn.blocks);
        card.dataset.segments = String(frame.segments.length);
      } catch (error) {
        this.onError(`the map of ${frame.policy} could not be drawn: ${error.message}`);
      }
      card.dataset.index = String(frame.index);
      card.dataset.zoom = String(this.zoom);
      const s = frame.stats;
      const rows = [
        ["heap", formatBytes(s.heapBytes)],
        ["live requested", formatBytes(s.liveRequested)],
        ["peak utilization", formatPercent(s.highWaterMark ? s.peakLiveRequested / s.highWaterMark : 0)],
        ["fragmentation", s.externalFragmentation === null ? "not shown by this allocator" : formatPercent(s.externalFragmentation)],
        ["blocks", s.freeBlocks === null ? `${s.liveBlocks} used; free ones not shown` : `${s.liveBlocks} used, ${s.freeBlocks} free`],
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
