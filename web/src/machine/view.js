// The machine view: the buddy allocator's pages and who holds them (the map
// and its legend), one heap's blocks in close-up (the selected one), the
// console that drives every heap by name, and the narration of what the
// buddy allocator did. `mountMachineView` builds it in a container, for the
// machine page and for the lesson that embeds it. Text is set with
// textContent only.
import { onThemeChange, prefersReducedMotion } from "../theme.js";
import { hex, formatBytes } from "../format.js";
import { drawMap, hitBlock, ownerColors, applyBuddyEvent } from "./map.js";
import { machineQuestion, recordGuess } from "./predict.js";
import { Score } from "../predict.js";

/** Milliseconds each step of the buddy allocator stays on screen. */
const STEP_MS = 650;

const policyText = (policy) => (policy === "segregated" ? "segregated fit" : policy.replace(/-/g, " "));
const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") node.className = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (k === "style") Object.assign(node.style, v);
    else if (k.startsWith("aria-")) node.setAttribute(k, v);
    else node[k] = v;
  }
  node.append(...children);
  return node;
}

/** The view's elements, built in `container`; `h` is the heading level of its sections. */
function build(container, h) {
  const heading = (text, id) => el(`h${h}`, { id }, text);
  const legend = el("ul", { className: "legend", "aria-label": "Owners of the pages" });
  const map = el("canvas", { className: "machine-map", role: "img", "aria-label": "Page map: each buddy block coloured by the heap that holds it" });
  const summary = el("p", { className: "visually-hidden" });
  summary.id = `${container.id || "machine"}-map-summary`;
  map.setAttribute("aria-describedby", summary.id);
  const narration = el("p", { className: "narration", role: "status", "aria-live": "polite" }, "Loading the machine…");
  const steps = el("ol", { className: "steps", "aria-label": "What the buddy allocator did" });
  const input = el("input", { type: "text", spellcheck: false, placeholder: "app1: p = malloc(24)", className: "machine-input" });
  input.id = `${container.id || "machine"}-input`;
  const form = el(
    "form",
    { className: "machine-console", autocomplete: "off" },
    el("label", { htmlFor: input.id }, "Statement (", el("code", {}, "help"), " lists them)"),
    el("div", { className: "row" }, input, el("button", { type: "submit" }, "Run")),
  );
  const examples = el("div", { className: "examples", role: "group", "aria-label": "Examples" });
  const log = el("ol", { className: "log", "aria-label": "Console log", tabIndex: 0 });
  // Predict mode's question: above the map it is about, with a choice per answer.
  const question = el("p", { className: "question" });
  question.id = `${container.id || "machine"}-question`;
  const choices = el("div", { className: "choices", role: "group" });
  choices.setAttribute("aria-labelledby", question.id);
  const verdict = el("p", { className: "verdict", role: "status", "aria-live": "polite" });
  const predict = el("div", { className: "predict-box", hidden: true, tabIndex: -1 }, el("p", { className: "predict-title" }, "Predict"), question, choices, verdict);
  const zoomTitle = heading("Blocks", `${container.id || "machine"}-zoom-title`);
  const zoom = el("div", { className: "zoom" });
  container.replaceChildren(
    el(
      "section",
      { className: "pages" },
      heading("Who holds which pages"),
      el("p", { className: "hint" }, "Each box is one buddy block: 2", el("sup", {}, "order"), " pages of 4 KiB, coloured by the heap that holds it. Click a box or a name to see that heap's blocks."),
      legend,
      predict,
      map,
      summary,
    ),
    el("section", { className: "act" }, heading("Drive the heaps by name"), narration, steps, form, examples, log),
    el("section", { className: "zoom-panel", "aria-labelledby": zoomTitle.id }, zoomTitle, zoom),
  );
  container.classList.add("machine");
  return { legend, map, summary, narration, steps, input, form, examples, log, zoomTitle, zoom, predict, question, choices, verdict };
}

/**
 * Mounts the machine view in `container`. `examples` are console lines
 * offered as buttons; `onRun(result)` is called after each line runs (in
 * predict mode, once its answer shows).
 * Returns `{ setModel(model, { selected, narration }), run(line), render(), setPredictMode(on), answer(value), get model, get asking }`.
 */
export function mountMachineView(container, { examples = [], headingLevel = 2, onRun = () => {} } = {}) {
  const els = build(container, headingLevel);
  let model = null;
  let layout = null;
  let selected = "app1";
  let touched = new Set();
  let predictMode = false;
  /** Predict mode's waiting question: { question, result, before } (the line has run; its answer is held back). */
  let waiting = null;
  const score = new Score();

  function renderLegend(snap, names) {
    const pagesOf = (owner) => snap.blocks.filter((b) => b.owner === owner).reduce((n, b) => n + b.pages, 0);
    const items = names.map((name) => {
      const heap = snap.heaps.find((x) => x.name === name);
      const c = ownerColors(name, names);
      const what = heap ? `application heap, ${policyText(heap.policy)}` : "kernel heap, slab caches";
      const live = heap ? plural(heap.live, "block") : plural(snap.stats.objects + snap.stats.largeBlocks, "object");
      const button = el(
        "button",
        { type: "button", className: "owner", dataset: { owner: name }, "aria-pressed": String(selected === name), title: `Show ${name}'s blocks` },
        el("span", { className: "swatch", style: { background: c.fill } }),
        el("strong", {}, name),
        el("span", { className: "what" }, ` ${what} · ${plural(pagesOf(name), "page")} · ${live}`),
      );
      return el("li", {}, button);
    });
    const own = pagesOf("buddy");
    if (own) items.push(el("li", {}, el("span", { className: "owner", dataset: { owner: "buddy" } }, el("span", { className: "swatch", style: { background: ownerColors("buddy", names).fill } }), el("strong", {}, "buddy map"), el("span", { className: "what" }, ` the buddy allocator's own bookkeeping (its free lists and page map) · ${plural(own, "page")}`))));
    const free = pagesOf("free");
    items.push(el("li", {}, el("span", { className: "owner free-owner", dataset: { owner: "free" } }, el("span", { className: "swatch free" }), el("strong", {}, "free"), el("span", { className: "what" }, ` ${plural(free, "page")} in the buddy allocator's free lists`))));
    els.legend.replaceChildren(...items);
  }

  function summary(snap, names) {
    const parts = names.map((n) => `${n} holds ${plural(snap.blocks.filter((b) => b.owner === n).reduce((a, b) => a + b.pages, 0), "page")}`);
    const free = snap.blocks.filter((b) => b.free);
    return `${snap.pages} pages in ${snap.blocks.length} buddy blocks: ${parts.join(", ")}; ${free.reduce((a, b) => a + b.pages, 0)} pages free in ${free.length} blocks.`;
  }

  function renderZoom(snap, names) {
    const heap = snap.heaps.find((x) => x.name === selected);
    const body = [];
    if (selected === "kernel") {
      els.zoomTitle.textContent = "kernel: its slabs (each holds objects of one cache, one size)";
      const kernelBlocks = snap.blocks.filter((b) => b.owner === "kernel");
      if (kernelBlocks.length === 0) body.push(el("p", { className: "empty" }, "The kernel holds no page now: kmalloc takes a slab from the buddy allocator when it needs one (kernel: k = kmalloc(64))."));
      for (const s of snap.slabs) {
        const fill = Math.max(2, (s.objects / s.perSlab) * 100);
        body.push(
          el(
            "div",
            { className: "slab", dataset: { address: String(s.address) } },
            el("div", { className: "slab-label" }, `${s.cache} slab at ${hex(s.address)} · ${plural(2 ** s.order, "page")} · ${s.objects} of ${s.perSlab} objects in use${s.names.length ? ` (${s.names.join(", ")})` : ""}`),
            el("div", { className: "bar" }, el("span", { className: "used", style: { width: `${fill}%`, background: ownerColors("kernel", names).fill } })),
          ),
        );
      }
      for (const b of kernelBlocks.filter((x) => x.cache === "kmalloc large")) body.push(el("p", {}, `large kmalloc block at ${hex(b.address)}: ${plural(b.pages, "page")} straight from the buddy allocator`));
    } else if (heap) {
      els.zoomTitle.textContent = `${heap.name}: its blocks (${policyText(heap.policy)})`;
      if (heap.runs.length === 0) body.push(el("p", { className: "empty" }, `${heap.name} holds no page: its next malloc takes a buddy block (${heap.name}: p = malloc(24)).`));
      const c = ownerColors(heap.name, names);
      for (const [address, order] of heap.runs) {
        const end = address + 4096 * 2 ** order;
        const inRun = heap.blocks.filter((b) => b.address >= address && b.address < end);
        const strip = el("div", { className: "strip" });
        // Before the first block: the heap's own page map (its first run).
        const meta = inRun.length ? inRun[0].address - address : 0;
        if (meta > 0) strip.append(el("span", { className: "block meta", style: { flexGrow: String(meta) }, title: "the heap's own page map" }, "heap's page map"));
        for (const b of inRun) {
          const label = b.used ? `${b.name ?? "block"}: ${formatBytes(b.requested)}` : `free ${formatBytes(b.size)}`;
          strip.append(el("span", { className: b.used ? "block used" : "block free", style: { flexGrow: String(b.size), ...(b.used ? { background: c.fill, color: c.ink } : {}) }, title: `${b.used ? "used" : "free"} block at ${hex(b.address)}, ${b.size} bytes` }, label));
        }
        const last = inRun.at(-1);
        const rest = end - (last ? last.address + last.size : address);
        if (rest > 0) strip.append(el("span", { className: "block rest", style: { flexGrow: String(rest) }, title: "pages the heap holds but has not carved into blocks yet" }, `spare pages ${formatBytes(rest)}`));
        body.push(el("div", { className: "run" }, el("div", { className: "run-label" }, `buddy block ${hex(address)} · order ${order} (${plural(2 ** order, "page")})`), strip));
      }
    }
    els.zoom.replaceChildren(...body);
  }

  /** Draws the machine as it is, or with `blocks` (a frame of an animation) in the map. */
  function render(blocks = null) {
    if (!model) return null;
    // While a question waits, the machine as it was before the line.
    const snap = waiting ? waiting.before : model.snapshot();
    if (blocks) {
      const names = model.heapNames();
      layout = drawMap(els.map, { ...snap, blocks }, { names, selected, touched });
      return snap;
    }
    const names = model.heapNames();
    renderLegend(snap, names);
    layout = drawMap(els.map, snap, { names, selected, touched });
    els.summary.textContent = summary(snap, names);
    renderZoom(snap, names);
    container.dataset.blocks = String(snap.blocks.length);
    return snap;
  }

  function logLine(text, kind) {
    els.log.append(el("li", { className: kind }, text));
    els.log.scrollTop = els.log.scrollHeight;
  }

  let animation = null;

  /**
   * Plays the buddy allocator's steps of the last line on the map, one per
   * STEP_MS, from the blocks before it (each step's line marked in the
   * list), then the machine as it is. Without motion: at once.
   */
  function animate(before, result) {
    clearTimeout(animation);
    const events = (result.events ?? []).filter((e) => e.kind.startsWith("buddy-"));
    const items = [...els.steps.children];
    if (!before || events.length === 0 || prefersReducedMotion()) return render();
    const owners = new Map(model.snapshot().blocks.map((b) => [b.address, b.owner]));
    let blocks = before;
    let i = 0;
    const step = () => {
      if (i === events.length) {
        items.forEach((li) => li.removeAttribute("aria-current"));
        container.dataset.animating = "false";
        render();
        return;
      }
      const e = events[i];
      blocks = applyBuddyEvent(blocks, e, (a) => owners.get(a) ?? "?");
      touched = new Set([Math.min(e.addr, e.with ?? e.addr)]);
      items.forEach((li, k) => (k === i ? li.setAttribute("aria-current", "step") : li.removeAttribute("aria-current")));
      render(blocks);
      i++;
      animation = setTimeout(step, STEP_MS);
    };
    container.dataset.animating = "true";
    render(before);
    animation = setTimeout(step, STEP_MS);
  }

  function narrate(result) {
    els.narration.textContent = result.ok ? result.message : `Refused: ${result.message}`;
    els.narration.classList.toggle("error", !result.ok);
    const steps = result.steps.length ? result.steps.map((s) => el("li", {}, `the buddy allocator ${s}`)) : [el("li", { className: "quiet" }, result.ok ? "the buddy allocator did nothing: the heap had room in the pages it holds" : "nothing changed")];
    els.steps.replaceChildren(...steps);
  }

  /** Runs one console line, logs it, narrates it and redraws; in predict mode a line that moves pages asks first. */
  function run(line) {
    clearTimeout(animation);
    reveal();
    const before = model.snapshot();
    const result = model.run(line);
    if (result.kind === "empty") return result;
    logLine(line, "input");
    if (result.lines) {
      logLine(result.message, "output");
      for (const l of result.lines) logLine(l, "output");
      return result;
    }
    els.predict.hidden = true;
    const question = predictMode ? machineQuestion(before, result) : null;
    if (question) ask(question, result, before);
    else show(result, before.blocks);
    return result;
  }

  /** Holds the line's answer back and asks `question` over the machine as it was before the line. */
  function ask(question, result, before) {
    waiting = { question, result, before };
    container.dataset.predict = "waiting";
    els.narration.textContent = `${result.line}: before its answer shows, predict what the buddy allocator will do (the question above the map).`;
    els.narration.classList.remove("error");
    els.steps.replaceChildren();
    els.question.textContent = question.text;
    els.choices.replaceChildren(...question.options.map((o) => el("button", { type: "button", dataset: { value: String(o.value) } }, o.label)));
    els.verdict.textContent = "";
    els.verdict.className = "verdict";
    els.predict.hidden = false;
    touched = new Set();
    if (result.heap) selected = result.heap;
    render();
    els.predict.scrollIntoView?.({ block: "nearest" });
    // The learner answers before anything else: the keyboard goes to the first choice.
    els.choices.firstElementChild?.focus({ preventScroll: true });
  }

  /** Predict mode's guess (a free block's address, or an order): judges it, says right or wrong, then shows the line's answer. */
  function answer(value) {
    if (!waiting) return null;
    const { question, result, before } = waiting;
    waiting = null;
    const prediction = recordGuess(result, question, value, model.snapshot());
    score.add(prediction.right);
    container.dataset.predict = prediction.right ? "right" : "wrong";
    els.verdict.textContent = `${prediction.said} Predictions: ${score}.`;
    els.verdict.className = `verdict ${prediction.right ? "right" : "wrong"}`;
    // The answer and the guess marked in words too, not by colour alone.
    for (const b of els.choices.children) {
      b.disabled = true;
      const answered = b.dataset.value === String(question.answer);
      if (answered) b.classList.add("answer");
      if (b.dataset.value === String(value)) b.setAttribute("aria-pressed", "true");
      if (answered) b.append(el("span", { className: "mark" }, " ✓ the answer"));
      else if (b.dataset.value === String(value)) b.append(el("span", { className: "mark" }, " ✗ your guess"));
    }
    // The choices are disabled now: the keyboard stays in the box, where the verdict is.
    if (els.predict.contains(document.activeElement)) els.predict.focus({ preventScroll: true });
    show(result, before.blocks);
    return prediction;
  }

  /** Shows a waiting question's answer unjudged (another line came, or the machine changed). */
  function reveal() {
    if (!waiting) return;
    const { result, before } = waiting;
    waiting = null;
    container.dataset.predict = "";
    els.predict.hidden = true;
    show(result, before.blocks);
  }

  /** Shows what a line did: the log, the narration, the map (its buddy steps played). */
  function show(result, before) {
    logLine(result.ok ? result.message : `error: ${result.message}`, result.ok ? "output" : "error");
    if (result.ok && result.heap) selected = result.heap;
    touched = new Set((result.events ?? []).filter((e) => e.kind === "buddy-merge" || e.kind === "buddy-alloc").map((e) => Math.min(e.addr, e.with ?? e.addr)));
    narrate(result);
    render();
    if (result.ok) animate(before, result);
    onRun(result);
  }

  els.form.addEventListener("submit", (event) => {
    event.preventDefault();
    const line = els.input.value;
    els.input.value = "";
    if (model) run(line);
  });
  els.legend.addEventListener("click", (event) => {
    const owner = event.target.closest("button[data-owner]")?.dataset.owner;
    if (!owner) return;
    selected = owner;
    render();
  });
  els.map.addEventListener("click", (event) => {
    const rect = event.currentTarget.getBoundingClientRect();
    const box = layout && hitBlock(layout, event.clientX - rect.left, event.clientY - rect.top);
    if (waiting && box) return pick(box.block);
    if (box && box.block.owner !== "free" && box.block.owner !== "buddy") {
      selected = box.block.owner;
      render();
    }
  });
  /** A click on the map's `block` while a question waits. */
  function pick(block) {
    const { question } = waiting;
    if (question.kind !== "take") {
      els.verdict.textContent = "This question asks for an order: choose one of the buttons above the map.";
      return;
    }
    if (!block.free) {
      els.verdict.textContent = `That block is held by ${block.owner === "buddy" ? "the buddy allocator's own map" : block.owner}: new pages come from a free block (a light one). Try again.`;
      return;
    }
    answer(block.address);
  }
  els.choices.addEventListener("click", (event) => {
    const value = event.target.closest("button[data-value]")?.dataset.value;
    if (value !== undefined && waiting) answer(Number(value));
  });

  els.examples.hidden = examples.length === 0;
  els.examples.replaceChildren(...examples.map((line) => el("button", { type: "button", dataset: { example: line } }, line)));
  els.examples.addEventListener("click", (event) => {
    const line = event.target.closest("button[data-example]")?.dataset.example;
    if (line && model) run(line);
  });
  onThemeChange(() => render());
  window.addEventListener("resize", () => render());

  return {
    els,
    get model() {
      return model;
    },
    /** Shows `next` (a MachineModel, or null: none), with `narration` as the first line; a waiting question is dropped. */
    setModel(next, { narration = "", selected: first = "app1" } = {}) {
      clearTimeout(animation);
      waiting = null;
      container.dataset.predict = "";
      els.predict.hidden = true;
      model = next;
      selected = first;
      touched = new Set();
      els.log.replaceChildren();
      els.steps.replaceChildren();
      els.narration.textContent = narration;
      els.narration.classList.remove("error");
      render();
    },
    get asking() {
      return waiting !== null;
    },
    /** Predict mode on or off: before a line that moves pages shows its answer, the learner predicts it. */
    setPredictMode(on) {
      predictMode = Boolean(on);
      if (!predictMode) reveal();
      container.dataset.predictMode = String(predictMode);
    },
    answer,
    run,
    render,
  };
}
