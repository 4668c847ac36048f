// The heap's panels outside the playground: the map (with legend, tooltip and
// keyboard focus), the console, the stats and the table of blocks, built with
// DOM calls (no HTML strings) into any root, a page or a shadow root, and wired
// to a session. Used by the lessons page and by <heap-playground>. Ids are
// fixed, so one set per document or shadow root.
import { MapView } from "../map-view.js";
import { COLORS, BLOCK_LEGEND, legendFor, fillLegend } from "../heap-map.js";
import { KERNEL_HINT } from "../kernel-view.js";
import { renderFreeList } from "../free-list-panel.js";
import { renderBlockTable } from "../block-table.js";
import { renderStats } from "../stats-panel.js";
import { mountConsole } from "../console.js";
import { StepView } from "../step-view.js";
import { currentTheme } from "../theme.js";
import { typedGuess } from "../predict.js";

function el(doc, tag, props = {}, ...children) {
  const node = doc.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "text") node.textContent = value;
    else if (key === "class") node.className = value;
    else if (value === true) node.setAttribute(key, "");
    else if (value !== false && value !== null && value !== undefined) node.setAttribute(key, String(value));
  }
  node.append(...children);
  return node;
}

function legend(doc) {
  const items = BLOCK_LEGEND.map(([key, label, kind]) => {
    const swatch = el(doc, "span", { class: kind ? `swatch ${kind}` : "swatch" });
    swatch.style.background = COLORS[key];
    return el(doc, "li", {}, swatch, doc.createTextNode(label));
  });
  return el(doc, "ul", { class: "legend", "aria-label": "Legend" }, ...items);
}

/**
 * Builds the panels' DOM. Returns `{ nodes: { map, console, stats, table }, els }`;
 * the caller places `nodes` where it wants them.
 */
export function buildHeapPanels(doc, { headingLevel = 3 } = {}) {
  const h = `h${headingLevel}`;
  const canvas = el(doc, "canvas", { id: "heap-map", tabindex: 0, role: "application", "aria-label": "Heap map", "aria-describedby": "map-hint" });
  const spacer = el(doc, "div", { class: "map-spacer" });
  const scroller = el(doc, "div", { class: "map-scroller" }, canvas, spacer);
  const tooltip = el(doc, "div", { class: "tooltip", role: "tooltip", hidden: true });
  const announcer = el(doc, "p", { class: "sr-only", "aria-live": "polite" });
  const zoomLabel = el(doc, "span", { class: "zoom-label" });
  const freeTitle = el(doc, h, { text: "Free list" });
  const freeLists = el(doc, "ol", { class: "free-list-lists" });
  const freeList = el(doc, "div", { class: "free-list" }, freeTitle, freeLists);
  const stepCaption = el(doc, "p", { class: "step-caption", "aria-live": "polite" });
  const skip = el(doc, "button", { type: "button", class: "step-skip", text: "Skip to the result", hidden: true });
  const guessInput = el(doc, "input", { id: "predict-address", type: "text", autocomplete: "off", spellcheck: "false", placeholder: "0x141008" });
  const score = el(doc, "output", { class: "predict-score", "aria-live": "polite" });
  const predictForm = el(
    doc,
    "form",
    { class: "predict", novalidate: true, hidden: true },
    el(doc, "label", { for: "predict-address", text: "Or type the address it returns" }),
    guessInput,
    el(doc, "button", { type: "submit", text: "Guess" }),
    score,
  );
  const legendList = legend(doc);
  const hint = el(doc, "p", { id: "map-hint", class: "hint", text: "Hover a block for its details; a click selects it, a double click frees it. The arrows are the free list, in the order the allocator searches it. Keyboard: focus the map, arrow keys move between blocks, Enter or Delete frees, + and − zoom." });
  const map = el(
    doc,
    "div",
    { class: "panel map-panel", "data-panel": "map" },
    legendList,
    el(doc, "div", { class: "step-bar" }, stepCaption, skip),
    predictForm,
    el(doc, "div", { class: "map-wrap" }, scroller, tooltip),
    freeList,
    hint,
    zoomLabel,
    announcer,
  );

  const log = el(doc, "div", { class: "console-log", role: "log", "aria-live": "polite", tabindex: 0, "aria-label": "Console output" });
  const input = el(doc, "input", { id: "console-input", type: "text", autocomplete: "off", spellcheck: "false", placeholder: "p = malloc(24)" });
  const form = el(doc, "form", { class: "console-form", novalidate: true }, el(doc, "label", { for: "console-input", text: "Statement" }), input, el(doc, "button", { type: "submit", text: "Run" }));
  const console = el(doc, "div", { class: "panel console", "data-panel": "console" }, log, form);

  const statsList = el(doc, "dl", { class: "stats" });
  const stats = el(doc, "div", { class: "panel stats-panel", "data-panel": "stats" }, el(doc, h, { text: "Stats" }), statsList);

  const caption = el(doc, "caption", { text: "Blocks in address order" });
  const head = el(doc, "tr", {}, ...["Address", "Size", "Payload", "Requested", "Usable", "State", "Id", "Variable"].map((t) => el(doc, "th", { scope: "col", text: t })));
  const tbody = el(doc, "tbody");
  const tableEl = el(doc, "table", { class: "block-list" }, caption, el(doc, "thead", {}, head), tbody);
  const table = el(doc, "div", { class: "panel table-panel", "data-panel": "table" }, el(doc, "div", { class: "table-scroll", tabindex: 0, role: "region", "aria-label": "Table of blocks, scrollable" }, tableEl));

  return {
    nodes: { map, console, stats, table },
    els: { legend: legendList, hint, scroller, canvas, spacer, tooltip, announcer, zoomLabel, log, input, form, statsList, tbody, caption, freeList, stepCaption, predictForm, guessInput, score, skip },
  };
}

/**
 * Wires built panels to a session. `getSession()` returns the current one;
 * `onResult(result)` hears every action's outcome (console, double-click).
 * `host` (an element) gets the step and predict state in its dataset;
 * `colors()` the map's palette (the site's theme by default);
 * `maxMapHeight()` the most pixels the map may take, or null (the window's room).
 * Returns `{ map, steps, changed({ quiet }), clearLog() }`: call `changed()`
 * after the session changed (or was replaced) to redraw, at most once a
 * frame; `quiet` for changes nobody should watch animate (a setup, a replay).
 * `steps` is the StepView: `setStepMode(on)`, `setPredictMode(on)`.
 */
/** What the map draws before there is a session: no segments, pages or blocks. */
const NO_HEAP = Object.freeze({ version: -1, segments: [], pages: new Uint8Array(0), blocks: new Uint32Array(0), stats: null });

export function mountHeapPanels(els, getSession, { onResult = () => {}, onError = () => {}, host = null, colors = () => currentTheme().colors, maxMapHeight = () => null } = {}) {
  const ids = (payload) => {
    const session = getSession();
    const id = session.idOfPayload(payload);
    return id ? { id, label: session.label(id) } : null;
  };
  const map = new MapView(
    { scroller: els.scroller, canvas: els.canvas, spacer: els.spacer, tooltip: els.tooltip, announcer: els.announcer, zoomLabel: els.zoomLabel },
    {
      // No session yet (or none could start: a bad option): an empty heap,
      // so the map draws nothing and the element's message stays.
      snapshot: () => (getSession() ? steps.shownSnapshot() : NO_HEAP),
      freeLists: (snap) => snap.freeLists ?? getSession()?.freeLists() ?? null,
      onPick: (event, index, address) => steps.pick(address),
      colors,
      ids,
      onSelect: () => schedule(),
      onFree: (info) => {
        if (!info?.used) return;
        onResult(getSession().free(info.id ? { id: info.id } : { address: info.payload }));
      },
      onError,
      maxHeight: maxMapHeight,
    },
  );
  const steps = new StepView({
    session: getSession,
    map,
    host,
    caption: (text) => (els.stepCaption.textContent = text),
    onScore: (text) => (els.score.textContent = text),
    onRelease: () => schedule(),
  });
  els.predictForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const guess = typedGuess(els.guessInput.value);
    if (!steps.asking) onResult({ ok: false, code: "nothing-to-predict", message: "do a malloc first, then guess where it lands" });
    else if (!guess) els.stepCaption.textContent = `Type an address such as 0x141008, not "${els.guessInput.value}".`;
    else steps.answer(guess);
  });
  els.skip.addEventListener("click", () => steps.player.finish());
  const setStepMode = steps.setStepMode.bind(steps);
  steps.setStepMode = (on) => {
    els.skip.hidden = !on;
    setStepMode(on);
  };
  const setPredictMode = steps.setPredictMode.bind(steps);
  steps.setPredictMode = (on) => {
    els.predictForm.hidden = !on;
    setPredictMode(on);
  };
  mountConsole({ form: els.form, input: els.input, log: els.log }, getSession, (result) => (steps.gate.held() ? steps.gate.then(() => onResult(result)) : onResult(result)), { gate: steps.gate });
  let traceLength = 0;
  let watched = null;
  let watchedVersion = -1;
  let scheduled = false;
  function render() {
    // Before the first session exists (or when it failed to start: a bad
    // option) there is nothing to draw, and the element shows its message.
    if (!getSession()) return;
    const snap = steps.panelSnapshot();
    // The legend follows the policy (the kernel heap has its own picture); the embed knows no production allocator.
    const legendKey = `${getSession().options.policy}:${map.view}`;
    if (els.legend && els.legend.dataset.key !== legendKey) {
      fillLegend(els.legend, legendFor(getSession().options.policy, { view: map.view }), colors());
      els.legend.dataset.key = legendKey;
      // The hint under the map, for the kernel view's picture (no free-list arrows there).
      els.hint.dataset.general ??= els.hint.textContent;
      els.hint.textContent = getSession().options.policy === "kmalloc" && map.view !== "address" ? KERNEL_HINT : els.hint.dataset.general;
    }
    renderStats(els.statsList, snap.stats);
    renderBlockTable(els.tbody, snap.blocks, { ids, focus: map.focusIndex(snap), caption: els.caption });
    renderFreeList(els.freeList, snap.freeLists ?? getSession().freeLists(), { blocks: snap.blocks });
  }
  function schedule() {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => {
      scheduled = false;
      try {
        render();
      } catch (error) {
        onError(error);
      }
    });
  }
  return {
    map,
    steps,
    render,
    changed({ quiet = false } = {}) {
      const session = getSession();
      // Once per change of the heap (a page may report one change twice).
      if (session && (session !== watched || session.version !== watchedVersion)) {
        // One operation more than last time (of the same session): watch it.
        const length = session.trace.length;
        const forwardOne = session === watched && length === traceLength + 1;
        traceLength = length;
        watched = session;
        watchedVersion = session.version;
        steps.afterChange(forwardOne ? session.trace[length - 1] : null, { forwardOne, quiet });
      }
      map.refresh();
      schedule();
    },
    clearLog() {
      els.log.replaceChildren();
    },
  };
}
