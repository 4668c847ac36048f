// The playground: loads the wasm heap, creates the session, and wires the
// views (map, table, stats, hex view) and the inputs (controls, console, map
// keys) to it. Every view redraws from the session's snapshot, once a frame at
// most, and only after something changed.
import { loadHeaplab } from "./wasm.js";
import { loadPeers } from "./compare/peers.js";
import { Session } from "./session.js";
import { MapView } from "./map-view.js";
import { MARK_STYLES, legendFor, fillLegend } from "./heap-map.js";
import { KERNEL_HINT } from "./kernel-view.js";
import { isPeer } from "./compare/peers.js";
import { renderFreeList } from "./free-list-panel.js";
import { typedGuess } from "./predict.js";
import { hex } from "./format.js";
import { StepView } from "./step-view.js";
import { currentTheme, onThemeChange } from "./theme.js";
import { renderBlockTable } from "./block-table.js";
import { renderStats } from "./stats-panel.js";
import { describeBlock } from "./blocks.js";
import { hexModel, hexReadLength, parseBytes, renderHexView } from "./hex-view.js";
import { mountControls } from "./controls.js";
import { mountConsole } from "./console.js";
import { Timeline } from "./timeline.js";
import { mountTimelineControls } from "./timeline-controls.js";
import { mountTracePanel } from "./trace-panel.js";
import { mountKeep } from "./keep.js";

const $ = (id) => document.getElementById(id);
const message = $("message");
let session = null;
let timeline = null;
let player = null;
let map = null;
let selected = null; // info of the selected (focused) block
/** Step mode and predict mode (step-view.js). */
let steps = null;
let panelsScheduled = false;
let panelVersion = -1;
let timelineControls = null;
let panelsDrawnAt = 0;

/** While the timeline plays, the panels (table, stats, hex view) follow at most this often; the map every frame. */
const PLAYING_PANEL_MS = 250;

/** Shows a message; errors are marked (colour, icon text and the class the tests read). */
function say(text, isError = false) {
  message.textContent = isError ? `Error: ${text}` : text;
  message.classList.toggle("error", isError);
}

/** The heap the panels (stats, table, free list) show: the one before the operation while its answer is held back. */
function panelSnapshot() {
  return steps ? steps.panelSnapshot() : session.snapshot();
}

/** Shows the outcome of any action. Never throws. */
function act(result) {
  if (!result) return;
  if (steps?.gate.held()) {
    steps.gate.then(() => act(result));
    return;
  }
  if (result.message) say(result.code && !result.ok ? `${result.message} (${result.code})` : result.message, !result.ok);
}

const ids = (payload) => {
  const id = session.idOfPayload(payload);
  return id ? { id, label: session.label(id) } : null;
};

let legendKey = "";
/** The legend for the map's view and the policy (redrawn only when either or the theme changed). */
function renderLegend() {
  const policy = session?.options.policy;
  const theme = currentTheme();
  const key = `${map?.view}:${policy}:${theme.name}`;
  if (key === legendKey) return;
  legendKey = key;
  fillLegend($("legend"), legendFor(policy, { view: map?.view, production: isPeer(policy) }), theme.colors);
  // The hint under the map: the kernel heap's picture has rows of buddy blocks and slabs, no free-list arrows.
  const hint = $("map-hint");
  hint.dataset.general ??= hint.textContent;
  hint.textContent = policy === "kmalloc" && map?.view !== "address" ? KERNEL_HINT : hint.dataset.general;
}

/** Updates everything but the map (which draws itself) after a change or a new selection. */
function schedulePanels() {
  if (panelsScheduled) return;
  panelsScheduled = true;
  requestAnimationFrame(() => {
    const wait = PLAYING_PANEL_MS - (performance.now() - panelsDrawnAt);
    if (timelineControls?.playing && wait > 0) {
      setTimeout(() => {
        panelsScheduled = false;
        schedulePanels();
      }, wait);
      return;
    }
    panelsScheduled = false;
    panelsDrawnAt = performance.now();
    try {
      renderPanels();
    } catch (error) {
      say(`could not draw the panels: ${error.message}`, true);
    }
  });
}

function renderPanels() {
  const snap = panelSnapshot();
  if (panelVersion !== snap.version) renderStats($("stats"), snap.stats);
  // Flush: only with quick lists on and a block waiting on one (in the heap as it is, not as animated).
  $("flush-button").disabled = !(session.options.quickLists && session.snapshot().stats.quickBlocks > 0);
  if (timelineControls?.playing) return; // the table and the selection follow when playing stops (their layout is costly)
  const focus = map.focusIndex(snap);
  selected = focus < 0 ? null : map.focusedInfo();
  renderBlockTable($("block-list").tBodies[0], snap.blocks, { ids, focus, caption: $("block-caption") });
  renderFreeList($("free-list"), snap.freeLists ?? session.freeLists(), { blocks: snap.blocks });
  panelVersion = snap.version;
  renderSelection();
  const status = $("heap-status");
  const corrupt = session.corruption ? `Heap corrupt: check() says ${session.corruption}. Operations are blocked; reset the heap to recover.` : "";
  if (status.textContent !== corrupt) status.textContent = corrupt;
  status.classList.toggle("corrupt", Boolean(corrupt));
  document.body.dataset.version = String(snap.version);
}

function renderSelection() {
  const box = $("selection");
  const freeButton = $("free-selected");
  const hexView = $("hex-view");
  if (!selected) {
    const p = document.createElement("p");
    p.className = "hint";
    p.textContent = "No block selected: click one on the map, pick one in the table of blocks, or focus the map and press an arrow key.";
    box.replaceChildren(p);
    hexView.replaceChildren();
    freeButton.disabled = true;
    return;
  }
  const dl = document.createElement("dl");
  dl.className = "facts";
  for (const [term, value] of describeBlock(selected)) {
    const dt = document.createElement("dt");
    dt.textContent = term;
    const dd = document.createElement("dd");
    dd.textContent = value;
    dl.append(dt, dd);
  }
  box.replaceChildren(dl);
  freeButton.disabled = !selected.used;
  try {
    let length = hexReadLength(selected);
    let bytes;
    try {
      bytes = session.heap.read(selected.address, length);
    } catch {
      length = Math.min(selected.size, length);
      bytes = session.heap.read(selected.address, length);
    }
    renderHexView(hexView, selected, hexModel(selected, bytes));
  } catch (error) {
    const p = document.createElement("p");
    p.className = "error";
    p.textContent = `Cannot read this block: ${error.message}`;
    hexView.replaceChildren(p);
  }
}

function freeBlock(info) {
  if (!info) return;
  if (!info.used) {
    act({ ok: false, code: "not-allocated", message: `the block at ${hex(info.address)} is free: nothing to free` });
    return;
  }
  act(session.free(info.id ? { id: info.id } : { address: info.payload }));
}

function mountWrite() {
  $("write-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (!selected || !selected.used) {
      act({ ok: false, code: "invalid-write", message: "select a used block first (click it on the map, or pick it in the table of blocks)" });
      return;
    }
    let bytes;
    try {
      bytes = parseBytes($("write-data").value, $("write-mode").value);
    } catch (error) {
      act({ ok: false, code: "invalid-bytes", message: error.message });
      return;
    }
    const offset = Number($("write-offset").value === "" ? Number.NaN : $("write-offset").value);
    act(session.write({ id: selected.id }, offset, bytes));
  });
}

/** Step mode and predict mode: the toolbar wired to the StepView. */
function mountSteps() {
  const mode = $("step-mode");
  const caption = $("step-caption");
  const pause = $("step-pause");
  const legend = $("step-legend");
  legend.replaceChildren(
    ...Object.values(MARK_STYLES).map((style) => {
      const li = document.createElement("li");
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = style.fill;
      swatch.style.borderColor = style.color;
      li.append(swatch, document.createTextNode(style.label));
      return li;
    }),
  );
  steps = new StepView({
    session: () => session,
    map,
    host: document.body,
    caption: (text) => (caption.textContent = text),
    onScore: (text) => ($("predict-score").textContent = text),
    onRelease: () => {
      panelVersion = -1;
      schedulePanels();
    },
  });
  player = steps.player;
  player.delay = Number($("step-speed").value);
  $("step-speed").addEventListener("change", () => {
    player.delay = Number($("step-speed").value);
  });
  const showPaused = () => {
    pause.textContent = player.paused ? "Resume" : "Pause";
    pause.setAttribute("aria-pressed", String(player.paused));
  };
  pause.addEventListener("click", () => {
    if (player.paused) player.resume();
    else player.pause();
    showPaused();
  });
  $("step-skip").addEventListener("click", () => {
    player.finish();
    showPaused();
  });
  $("step-next").addEventListener("click", () => {
    if (!mode.checked) {
      act({ ok: false, code: "step-mode-off", message: "turn step mode on first, then do an operation (or step forward in time)" });
      return;
    }
    player.next();
    showPaused();
  });
  $("step-skip").hidden = !mode.checked;
  mode.addEventListener("change", () => {
    legend.hidden = !mode.checked;
    $("step-skip").hidden = !mode.checked;
    steps.setStepMode(mode.checked);
    if (mode.checked) caption.textContent = "Step mode is on: do an operation, or step forward in time (Redo, the right arrow key), to watch what the allocator does.";
    else if (!steps.predictMode) caption.textContent = "";
  });
  const predictBox = $("predict-mode");
  predictBox.addEventListener("change", () => {
    $("predict-form").hidden = !predictBox.checked;
    steps.setPredictMode(predictBox.checked);
    if (predictBox.checked) caption.textContent = "Predict mode is on: do a malloc, then click the free block where you think it will land (or the free pages, for new space at the end of the heap), or type the address it will return.";
  });
  $("predict-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (!steps.asking) {
      act({ ok: false, code: "nothing-to-predict", message: "turn predict mode on and do a malloc first" });
      return;
    }
    const guess = typedGuess($("predict-address").value);
    // Said at once: the answer being held back is the malloc's, not this.
    if (!guess) say(`type an address such as 0x141008, not "${$("predict-address").value}" (invalid-address)`, true);
    else steps.answer(guess);
  });
  let previous = timeline.at;
  timeline.onChange(() => {
    const forwardOne = timeline.at === previous + 1;
    previous = timeline.at;
    steps.afterChange(timeline.ops[timeline.at - 1], { forwardOne, quiet: Boolean(timelineControls?.playing) });
  });
}

function mountViewMode() {
  for (const radio of document.querySelectorAll('input[name="map-view"]')) {
    radio.addEventListener("change", () => {
      if (!radio.checked) return;
      map.setView(radio.value);
      document.body.dataset.mapView = radio.value;
      renderLegend();
    });
  }
  // A row of the table of blocks selects its block.
  $("block-list").tBodies[0].addEventListener("click", (event) => {
    const row = event.target.closest("tr[data-index]");
    if (row) map.setFocus(Number(row.dataset.index), { tooltip: false });
  });
}

/**
 * The statements "Show an example heap" types into the console: blocks of
 * several sizes, two of them freed (the free list gets entries), then a
 * request that a free block holds with room to spare (it is split).
 */
const EXAMPLE = ["a = malloc(24)", "b = malloc(200)", "c = malloc(40)", "d = malloc(120)", "e = malloc(16)", "free(b)", "free(d)", "f = malloc(64)"];

/** The button under the empty map: a first heap in one click, while nothing has been done yet. */
function mountExample() {
  const box = $("map-example");
  const form = $("console-form");
  const input = $("console-input");
  $("example-run").addEventListener("click", () => {
    // Through the console, so each statement is logged, kept in the
    // history and the timeline, and narrated in step mode like typed ones.
    for (const statement of EXAMPLE) {
      input.value = statement;
      form.requestSubmit();
    }
  });
  const show = () => {
    box.hidden = timeline.ops.length > 0;
  };
  timeline.onChange(show);
  show();
}

function mountZoom() {
  $("zoom-in").addEventListener("click", () => map.zoom(0.5));
  $("zoom-out").addEventListener("click", () => map.zoom(2));
  $("zoom-fit").addEventListener("click", () => map.fit());
}

function installDebug() {
  // A small handle for the end-to-end tests and the curious.
  window.heaplabDebug = {
    get session() {
      return session;
    },
    get timeline() {
      return timeline;
    },
    get player() {
      return player;
    },
    get heap() {
      return session.heap;
    },
    get map() {
      return map;
    },
    /** Canvas coordinates (CSS pixels) of the byte at `address`, scrolled into view first. */
    pointOf(address) {
      map.draw();
      let layout = map.layout;
      const y = layout.yOf(address);
      if (y === null) return null;
      const scroller = $("map-scroller");
      if (y < scroller.scrollTop || y + layout.rowHeight > scroller.scrollTop + map.viewHeight) {
        scroller.scrollTop = Math.max(0, y - map.viewHeight / 3);
      }
      map.draw();
      layout = map.layout;
      const r = layout.rects(address, address + 1)[0];
      if (!r) return null;
      return { x: r.x + Math.max(r.w, 1) / 2, y: r.y - map.top + r.h / 2 };
    },
    /** Redraws the map now; returns the milliseconds it took. */
    redraw() {
      return map.draw();
    },
    get frames() {
      return map.frames;
    },
  };
}

/** The heap the map shows (step-view.js: before the operation while its search animates or a guess is awaited). */
function shownSnapshot() {
  return steps ? steps.shownSnapshot() : session.snapshot();
}

async function start() {
  window.addEventListener("error", (event) => say(`unexpected: ${event.message}`, true));
  window.addEventListener("unhandledrejection", (event) => say(`unexpected: ${event.reason?.message ?? event.reason}`, true));
  try {
    await loadHeaplab();
    // The production allocators' modules, so that the policy list can switch to one at once.
    await loadPeers().catch((error) => say(`The production allocators are not available: ${error.message}`, true));
    session = new Session();
  } catch (error) {
    say(`Heaplab could not start: ${error.message}`, true);
    return;
  }
  map = new MapView(
    {
      scroller: $("map-scroller"),
      canvas: $("heap-map"),
      spacer: $("map-spacer"),
      tooltip: $("tooltip"),
      announcer: $("map-announcer"),
      zoomLabel: $("zoom-label"),
    },
    {
      snapshot: shownSnapshot,
      freeLists: (snap) => snap.freeLists ?? session.freeLists(),
      colors: () => currentTheme().colors,
      ids,
      onSelect: () => schedulePanels(),
      onFree: freeBlock,
      onPick: (event, index, address) => steps.pick(address),
      onError: (error) => say(`could not draw the map: ${error.message}`, true),
    },
  );
  renderLegend();
  document.body.dataset.mapView = map.view;
  onThemeChange(() => {
    legendKey = "";
    renderLegend();
    map.refresh();
  });
  session.onChange(() => {
    renderLegend();
    map.refresh();
    schedulePanels();
  });
  timeline = new Timeline(session);
  // The map follows the action: after one operation, its block comes into view.
  timeline.onChange(() => {
    if (timelineControls?.playing || !timeline.at) return;
    const op = timeline.ops[timeline.at - 1];
    let address = op && op.op !== "free" ? session.addressOf(op.id) : undefined;
    if (address === undefined && op?.op === "free") {
      const freed = session.heap.lastEvents().find((e) => e.kind === "free");
      address = freed?.payload;
    }
    if (address !== undefined) map.reveal(address);
  });
  const controls = mountControls(document, { session: () => session, act, setOptions: (changes) => timeline.setOptions(changes) });
  timeline.onChange(() => controls.show(session.options));
  timelineControls = mountTimelineControls(document, timeline, {
    act,
    stopped: () => {
      panelVersion = -1;
      schedulePanels();
    },
  });
  mountSteps();
  mountViewMode();
  mountTracePanel(document, { timeline: () => timeline, act, dropTarget: document.querySelector(".map-wrap") });
  mountConsole({ form: $("console-form"), input: $("console-input"), log: $("console-log") }, () => session, act, { gate: steps.gate });
  mountWrite();
  mountZoom();
  mountExample();
  $("free-selected").addEventListener("click", () => freeBlock(selected));
  installDebug();
  map.draw();
  renderPanels();
  try {
    await mountKeep(document, { timeline: () => timeline, act });
  } catch (error) {
    say(`could not restore saved work: ${error.message}`, true);
  }
  document.body.dataset.ready = "true";
}

start();
