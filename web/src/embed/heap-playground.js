// <heap-playground>: a Heaplab heap in any page, with one line:
//
//   <script type="module" src="https://…/heap-playground.js"></script>
//   <heap-playground policy="best-fit" trace="demo.rep" panels="map stats"></heap-playground>
//
// Attributes: policy, align, coalesce, split-min, max-bytes (heap options);
// trace (inline .rep or JSON text, or a URL to fetch, relative to the page;
// without it, the text of a child <script type="text/plain">); autoplay
// (play the trace through once loaded); panels (which of map, console,
// stats, table show; default map stats table); height (of the
// element, e.g. 480 or 30rem); step (the heap after that many operations);
// animate (each step forward is animated event by event, with captions);
// predict (before each allocation's answer shows, the reader clicks where it
// will land, or types its address; the element keeps the score);
// theme (light or dark; by default the Heaplab site's theme choice, else the
// reader's prefers-color-scheme).
// Methods: goto(n) (also goTo), play(), pause(); properties: step, length,
// session; `ready` resolves once the heap and trace are loaded (or failed).
// Events: "heap-step" ({ detail: { step, length } }) after every move.
// A value that means nothing shows a message inside the element and logs one
// console warning; nothing throws. The full contract: docs/embedding.md.
//
// Each element has its own heap (a wasm Heap of its own) and its own shadow
// root, so several on one page stay independent; they share one wasm module,
// compiled once. Text from the trace and the heap reaches the page through
// textContent only. The module can be imported where there is no DOM (a docs
// tool rendering pages on the server): it then defines nothing.
import { loadHeaplab } from "../wasm.js";
import { Session } from "../session.js";
import { Timeline } from "../timeline.js";
import { parseTrace } from "../trace.js";
import { buildHeapPanels, mountHeapPanels } from "./heap-panels.js";
import { EMBED_STYLE } from "./embed-style.js";
import { iconButton, setIconLabel } from "../icons.js";
import { currentTheme, hostTheme, onThemeChange, PALETTES } from "../theme.js";
import { readHeapOptions, readLayout, isInlineTrace, sessionOps, describeOp, mergeOptions, readStep, EMBED_ATTRIBUTES } from "./embed-options.js";

/** Milliseconds between steps when playing. */
export const PLAY_INTERVAL = 700;

let sheet = null;
function styleSheet() {
  if (!sheet) {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(EMBED_STYLE);
  }
  return sheet;
}

/** A button with an icon, a short visible label and a longer name (`label`, also its tooltip). */
function stepButton(doc, icon, text, label, options) {
  const button = iconButton(doc, icon, text, options);
  button.title = label;
  button.setAttribute("aria-label", label);
  return button;
}

/** The type of the child that may hold the trace: `<script type="text/plain">…</script>`. */
export const TRACE_SCRIPT = 'script[type="text/plain"]';

/** Pixels the map keeps at least in an element of fixed height. */
const MIN_FIXED_MAP = 90;

// On a server (no DOM) the class extends nothing and is never defined.
const Base = globalThis.HTMLElement ?? class {};

export class HeapPlayground extends Base {
  static observedAttributes = EMBED_ATTRIBUTES;

  #session = null;
  #panels = null;
  #els = null;
  #ops = []; // the trace, as recorded session operations
  /** Time travel (timeline.js, as in the playground): checkpoints and fast replays, not a replay from step 0 per step. */
  #timeline = null;
  /** The ops and options the timeline was last loaded with. */
  #loaded = null;
  #traceOptions = null;
  #step = 0;
  #timer = null;
  #loadVersion = 0;
  #reloadScheduled = false;
  #resolveReady = null;
  #stopTheme = null;
  /** Messages already logged, so that each bad value warns once. */
  #warned = new Set();
  /** What is wrong with the layout attributes (panels, height, theme, step), shown until fixed. */
  #layoutErrors = [];
  #childTrace = null;

  constructor() {
    super();
    this.ready = new Promise((resolve) => (this.#resolveReady = resolve));
  }

  /** The number of operations in the trace (the last step). */
  get length() {
    return this.#ops.length;
  }

  /** The step shown: the heap after this many operations. */
  get step() {
    return this.#step;
  }

  set step(n) {
    // Before the heap is loaded (a framework setting properties first): the attribute, read by the load.
    if (this.#session) this.goTo(n);
    else this.setAttribute("step", String(n));
  }

  /** This element's session (heap, trace, ids), once loaded. */
  get session() {
    return this.#session;
  }

  connectedCallback() {
    if (!this.#els) this.#build();
    this.#followTheme();
    this.#scheduleReload();
  }

  /** Watches the children for a trace in a `<script type="text/plain">` (parsed after the element, or changed later). */
  #watchChildren() {
    new MutationObserver(() => {
      if (this.hasAttribute("trace")) return;
      const text = this.#traceScriptText();
      if (text !== this.#childTrace) this.#scheduleReload();
    }).observe(this, { childList: true, subtree: true, characterData: true });
  }

  #traceScriptText() {
    return this.querySelector(TRACE_SCRIPT)?.textContent ?? null;
  }

  disconnectedCallback() {
    this.pause();
    this.#stopTheme?.();
    this.#stopTheme = null;
    // Moving the element in the DOM reconnects it at once: keep the heap then.
    queueMicrotask(() => {
      if (this.isConnected || !this.#session) return;
      this.#session.dispose();
      this.#session = null;
    });
  }

  attributeChangedCallback(name, oldValue, value) {
    if (!this.#els || oldValue === value) return;
    if (name === "panels" || name === "height") this.#applyLayout();
    else if (name === "animate" || name === "predict") this.#applyModes();
    else if (name === "theme") {
      this.#applyTheme();
      this.#applyLayout();
    } else if (name === "step") {
      const n = readStep(value);
      if (n === null || this.#layoutErrors.length) this.#applyLayout(); // reports a bad step, or clears one fixed
      if (n !== null && n !== this.#step && this.#session) this.goto(n);
    } else if (name !== "autoplay") this.#scheduleReload();
  }

  // ------------------------------------------------------------------ DOM

  #build() {
    const root = this.attachShadow({ mode: "open" });
    root.adoptedStyleSheets = [styleSheet()];
    const doc = this.ownerDocument;
    const built = buildHeapPanels(doc, { headingLevel: 3 });
    const first = stepButton(doc, "first", "First", "First step");
    const back = stepButton(doc, "back", "Back", "Step back");
    const play = iconButton(doc, "play", "Play");
    const forward = stepButton(doc, "forward", "Step", "Step forward", { after: true });
    const last = stepButton(doc, "last", "Last", "Last step");
    const slider = doc.createElement("input");
    slider.type = "range";
    slider.min = "0";
    slider.max = "0";
    slider.value = "0";
    slider.id = "step-slider";
    const sliderLabel = doc.createElement("label");
    sliderLabel.htmlFor = "step-slider";
    sliderLabel.textContent = "Step";
    const where = doc.createElement("output");
    where.className = "where";
    where.setAttribute("aria-live", "polite");
    const bar = doc.createElement("div");
    bar.className = "bar";
    bar.setAttribute("role", "group");
    bar.setAttribute("aria-label", "Steps through the trace");
    bar.append(first, back, play, forward, last, sliderLabel, slider);
    const message = doc.createElement("p");
    message.className = "message";
    message.setAttribute("role", "status");
    const frame = doc.createElement("div");
    frame.className = "frame";
    frame.setAttribute("part", "frame");
    frame.append(bar, where, message, built.nodes.map, built.nodes.console, built.nodes.stats, built.nodes.table);
    root.append(frame);
    this.#els = { ...built.els, nodes: built.nodes, frame, first, back, play, forward, last, slider, where, message };

    first.addEventListener("click", () => this.goTo(0));
    back.addEventListener("click", () => this.goTo(this.#step - 1));
    forward.addEventListener("click", () => this.goTo(this.#step + 1));
    last.addEventListener("click", () => this.goTo(this.#ops.length));
    play.addEventListener("click", () => (this.#timer ? this.pause() : this.play()));
    slider.addEventListener("input", () => this.goTo(Number(slider.value)));

    this.#panels = mountHeapPanels(built.els, () => this.#session, {
      host: this,
      colors: () => PALETTES[this.theme],
      onResult: (result) => this.#onConsole(result),
      onError: (error) => this.#say(`could not draw the heap: ${error.message}`, true),
      maxMapHeight: () => this.#mapRoom(),
    });
    // A change of the element's width or height reflows the panels: the map redraws to fit.
    new ResizeObserver(() => this.#panels.changed()).observe(frame);
    this.#watchChildren();
    this.#applyLayout();
    this.#applyModes();
  }

  /**
   * In an element of fixed height, the pixels the map may take so that what
   * comes before it and the console after it fit in the element (the stats
   * and the table below may scroll): the frame's height less what those
   * parts take. Null when the height follows the content.
   */
  #mapRoom() {
    const { frame, scroller, nodes } = this.#els;
    if (!frame.classList.contains("fixed")) return null;
    const shown = [...frame.children].filter((child) => !child.hidden && child.getClientRects().length);
    if (!shown.length) return null;
    const style = getComputedStyle(frame);
    const inner = frame.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom);
    const last = shown.includes(nodes.console) ? nodes.console : shown.at(-1);
    const used = last.getBoundingClientRect().bottom - shown[0].getBoundingClientRect().top;
    const others = used - scroller.offsetHeight;
    return Math.max(MIN_FIXED_MAP, Math.floor(inner - others - 4));
  }

  /** Step mode and predict mode from the `animate` and `predict` attributes (present = on). */
  #applyModes() {
    this.#panels.steps.setStepMode(this.hasAttribute("animate"));
    this.#panels.steps.setPredictMode(this.hasAttribute("predict"));
  }

  /**
   * The theme shown: the `theme` attribute if light or dark; else the theme
   * the host page marks on its <html> (a docs site's dark mode); else the
   * Heaplab site's choice, or the reader's system on other sites.
   */
  get theme() {
    const asked = this.getAttribute("theme");
    return asked === "light" || asked === "dark" ? asked : (hostTheme() ?? currentTheme().name);
  }

  /** Sets the `theme` attribute ("light", "dark" or "auto"). */
  set theme(name) {
    this.setAttribute("theme", String(name));
  }

  /** Follows the theme as it changes; the map redraws in its colours. */
  #followTheme() {
    this.#applyTheme();
    if (this.#stopTheme) return;
    const stopSite = onThemeChange(() => this.#applyTheme());
    // A docs site's theme toggle changes its <html> attributes.
    const host = new MutationObserver(() => this.#applyTheme());
    host.observe(this.ownerDocument.documentElement, { attributes: true, attributeFilter: ["data-theme", "class"] });
    this.#stopTheme = () => {
      stopSite();
      host.disconnect();
    };
  }

  #applyTheme() {
    const name = this.theme;
    if (this.#els.frame.dataset.theme === name) return;
    this.#els.frame.dataset.theme = name;
    this.#panels?.changed();
  }

  #applyLayout() {
    const { panels, height, errors } = readLayout((name) => this.getAttribute(name));
    for (const [name, node] of Object.entries(this.#els.nodes)) node.hidden = !panels.includes(name);
    this.#els.frame.style.height = height ?? "";
    this.#els.frame.classList.toggle("fixed", Boolean(height));
    this.#layoutErrors = errors;
    if (errors.length) this.#warn(errors.join("; "));
    else if (this.#els.message.dataset.source === "layout") this.#say("");
    this.#panels?.changed();
  }

  #say(text, isError = false, source = "") {
    this.#els.message.textContent = text;
    this.#els.message.classList.toggle("error", isError);
    this.#els.message.dataset.source = source;
  }

  /** Shows a problem with the element's attributes inside it, and logs it once as a console warning. */
  #warn(text, source = "layout") {
    this.#say(`Heaplab: ${text}`, true, source);
    if (this.#warned.has(text)) return;
    this.#warned.add(text);
    const name = this.id ? `<heap-playground id="${this.id}">` : "<heap-playground>";
    console.warn(`${name}: ${text}`);
  }

  // ------------------------------------------------------------------ loading

  #scheduleReload() {
    if (this.#reloadScheduled) return;
    this.#reloadScheduled = true;
    queueMicrotask(() => {
      this.#reloadScheduled = false;
      if (this.isConnected) this.#load();
    });
  }

  async #load() {
    const version = ++this.#loadVersion;
    this.pause();
    let ops = [];
    let traceOptions = null;
    try {
      await loadHeaplab();
      const fromChild = this.hasAttribute("trace") ? null : this.#traceScriptText();
      this.#childTrace = fromChild;
      const text = fromChild ?? this.getAttribute("trace");
      if (fromChild !== null && fromChild.trim()) {
        const trace = parseTrace(fromChild, { name: "trace" });
        ops = sessionOps(trace);
        traceOptions = trace.options ?? null;
      } else if (fromChild === null && text && text.trim()) {
        const inline = isInlineTrace(text);
        const source = inline ? text : await this.#fetchTrace(text.trim());
        if (version !== this.#loadVersion) return;
        const trace = parseTrace(source, { name: inline ? "trace" : text.trim() });
        ops = sessionOps(trace);
        traceOptions = trace.options ?? null;
      }
    } catch (error) {
      if (version === this.#loadVersion) this.#fail(error);
      return;
    }
    if (version !== this.#loadVersion) return;
    const { options, errors } = readHeapOptions((name) => this.getAttribute(name));
    if (errors.length) return this.#fail(new Error(errors.join("; ")));
    this.#ops = ops;
    this.#traceOptions = traceOptions;
    const merged = mergeOptions(traceOptions, options);
    if (!this.#session) {
      try {
        this.#session = new Session(merged);
      } catch (error) {
        return this.#fail(error);
      }
      this.#session.onChange(() => this.#panels.changed());
      this.#timeline = new Timeline(this.#session);
    }
    this.#loaded = null;
    const autoplay = this.hasAttribute("autoplay");
    const start = autoplay ? 0 : (readStep(this.getAttribute("step")) ?? ops.length);
    if (this.#layoutErrors.length) this.#warn(this.#layoutErrors.join("; "));
    else this.#say("");
    if (!this.#show(start, merged)) return;
    this.dataset.ready = "true";
    this.#resolveReady(this);
    if (autoplay && ops.length) this.play();
  }

  async #fetchTrace(url) {
    const response = await fetch(new URL(url, this.ownerDocument.baseURI));
    if (!response.ok) throw new Error(`the trace ${url} could not be loaded (HTTP ${response.status})`);
    return response.text();
  }

  #fail(error) {
    this.#warn(error.message, "load");
    this.dataset.ready = "error";
    this.#resolveReady(this);
  }

  // ------------------------------------------------------------------ steps

  /** Shows the heap after `n` operations (clamped to 0 … length). */
  goto(n) {
    if (!this.#session) return;
    const step = Math.max(0, Math.min(this.#ops.length, Math.trunc(Number(n) || 0)));
    this.#show(step, this.#session.options);
  }

  /** The same as `goto(n)`. */
  goTo(n) {
    this.goto(n);
  }

  #show(step, options) {
    // New operations or options: load them (the timeline checks every one and
    // keeps checkpoints); else a jump through time from the nearest checkpoint.
    const key = JSON.stringify(options);
    let result;
    if (this.#loaded?.ops !== this.#ops || this.#loaded.key !== key) {
      result = this.#timeline.load(this.#ops, options, step);
      if (result.code && result.code !== "replay-failed") {
        this.#fail(new Error(result.message));
        return false;
      }
      if (!result.ok) {
        // Operations the heap refused are dropped from the trace.
        this.#ops = this.#timeline.ops.slice();
        step = Math.min(step, this.#ops.length);
      }
      this.#loaded = { ops: this.#ops, key };
    } else result = this.#timeline.goto(step);
    if (!result.ok) this.#say(result.message, true);
    this.#step = step;
    const { slider, where, back, forward, first, last } = this.#els;
    slider.max = String(this.#ops.length);
    slider.value = String(step);
    slider.setAttribute("aria-valuetext", `step ${step} of ${this.#ops.length}`);
    where.textContent = `Step ${step} of ${this.#ops.length}: ${describeOp(this.#ops[step - 1])}`;
    first.disabled = back.disabled = step === 0;
    forward.disabled = last.disabled = step === this.#ops.length;
    const asked = readStep(this.getAttribute("step"));
    if (asked !== null && asked !== step) {
      // Keep the attribute in step with what is shown (no reload: same value is ignored);
      // a bad value stays, and so does its message, until the page fixes it.
      this.setAttribute("step", String(step));
    }
    this.dataset.step = String(step);
    this.#panels.changed();
    this.dispatchEvent(new CustomEvent("heap-step", { detail: { step, length: this.#ops.length } }));
    return true;
  }

  /** Plays the trace from the current step to the end, one step every PLAY_INTERVAL ms. */
  play() {
    if (!this.#session || this.#timer) return;
    if (this.#step >= this.#ops.length) this.goTo(0);
    setIconLabel(this.#els.play, "pause", "Pause");
    this.#timer = setInterval(() => {
      if (this.#step >= this.#ops.length) return this.pause();
      this.goTo(this.#step + 1);
    }, PLAY_INTERVAL);
  }

  pause() {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    if (this.#els) setIconLabel(this.#els.play, "play", "Play");
  }

  /** A console statement ran: what the learner did becomes the trace from here on. */
  #onConsole(result) {
    if (!result) return;
    this.pause();
    if (result.message) this.#say(result.ok ? result.message : `Error: ${result.message}`, !result.ok);
    if (result.ok && this.#session.trace.length !== this.#step) {
      // The timeline dropped the future and recorded the new operation.
      this.#ops = this.#timeline.ops.slice();
      this.#loaded = { ops: this.#ops, key: JSON.stringify(this.#session.options) };
      this.#step = this.#ops.length;
      const { slider, where, forward, last, back, first } = this.#els;
      slider.max = String(this.#ops.length);
      slider.value = String(this.#step);
      where.textContent = `Step ${this.#step} of ${this.#ops.length}: ${describeOp(this.#ops[this.#step - 1])}`;
      forward.disabled = last.disabled = true;
      first.disabled = back.disabled = this.#step === 0;
    }
  }
}

if (globalThis.customElements && !customElements.get("heap-playground")) customElements.define("heap-playground", HeapPlayground);
