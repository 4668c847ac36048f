// The machine page: the buddy allocator's pages and who holds them (the
// map and its legend), one heap's blocks in close-up (the selected one),
// the console that drives every heap by name, and the narration of what
// the buddy allocator did. Text is set with textContent only.
import { loadHeaplab } from "../wasm.js";
import { onThemeChange } from "../theme.js";
import { hex, formatBytes } from "../format.js";
import { MachineModel } from "./model.js";
import { drawMap, hitBlock, ownerColors } from "./map.js";

const $ = (id) => document.getElementById(id);
/** What the machine runs at start, so that the picture has owners from the first look. */
const START = ["kernel: k = kmalloc(64)", "app1: p = malloc(24)", "app2: q = malloc(3000)"];

let model = null;
let layout = null;
let selected = "app1";
let touched = new Set();

const policyText = (policy) => policy.replace(/-/g, " ");

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") node.className = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (k === "style") Object.assign(node.style, v);
    else node[k] = v;
  }
  node.append(...children);
  return node;
}

function renderLegend(snap, names) {
  const pagesOf = (owner) => snap.blocks.filter((b) => b.owner === owner).reduce((n, b) => n + b.pages, 0);
  const items = names.map((name) => {
    const heap = snap.heaps.find((h) => h.name === name);
    const c = ownerColors(name, names);
    const pages = pagesOf(name);
    const what = heap ? `application heap, ${policyText(heap.policy)}` : "kernel heap, slab caches";
    const live = heap ? `${heap.live} block${heap.live === 1 ? "" : "s"}` : `${snap.stats.objects} object${snap.stats.objects === 1 ? "" : "s"}`;
    const button = el(
      "button",
      { type: "button", className: "owner", dataset: { owner: name }, ariaPressed: String(selected === name), title: `Show ${name}'s blocks` },
      el("span", { className: "swatch", style: { background: c.fill } }),
      el("strong", {}, name),
      el("span", { className: "what" }, ` ${what} · ${pages} page${pages === 1 ? "" : "s"} · ${live}`),
    );
    return el("li", {}, button);
  });
  const free = pagesOf("free");
  items.push(el("li", {}, el("span", { className: "owner free-owner" }, el("span", { className: "swatch free" }), el("strong", {}, "free"), el("span", { className: "what" }, ` ${free} page${free === 1 ? "" : "s"} in the buddy allocator's free lists`))));
  $("legend").replaceChildren(...items);
}

function summary(snap, names) {
  const parts = names.map((n) => `${n} holds ${snap.blocks.filter((b) => b.owner === n).reduce((a, b) => a + b.pages, 0)} pages`);
  const free = snap.blocks.filter((b) => b.free);
  return `${snap.pages} pages in ${snap.blocks.length} buddy blocks: ${parts.join(", ")}; ${free.reduce((a, b) => a + b.pages, 0)} pages free in ${free.length} blocks (largest order ${snap.stats.buddy.largestFreeOrder ?? "none"}).`;
}

function renderZoom(snap, names) {
  const box = $("zoom");
  const heap = snap.heaps.find((h) => h.name === selected);
  const title = $("zoom-title");
  const body = [];
  if (selected === "kernel") {
    title.textContent = "kernel: its slabs (one cache of one object size per slab)";
    const kernelBlocks = snap.blocks.filter((b) => b.owner === "kernel");
    if (kernelBlocks.length === 0) body.push(el("p", { className: "empty" }, "The kernel holds no page now: kmalloc takes a slab from the buddy allocator when it needs one (kernel: k = kmalloc(64))."));
    for (const s of snap.slabs) {
      const fill = Math.max(2, (s.objects / s.perSlab) * 100);
      body.push(
        el(
          "div",
          { className: "slab", dataset: { address: String(s.address) } },
          el("div", { className: "slab-label" }, `${s.cache} slab at ${hex(s.address)} · ${2 ** s.order} page${s.order ? "s" : ""} · ${s.objects} of ${s.perSlab} objects in use${s.names.length ? ` (${s.names.join(", ")})` : ""}`),
          el("div", { className: "bar" }, el("span", { className: "used", style: { width: `${fill}%`, background: ownerColors("kernel", names).fill } })),
        ),
      );
    }
    const large = kernelBlocks.filter((b) => b.cache === "kmalloc large");
    for (const b of large) body.push(el("p", {}, `large kmalloc block at ${hex(b.address)}: ${b.pages} pages straight from the buddy allocator`));
  } else if (heap) {
    title.textContent = `${heap.name}: its blocks (${policyText(heap.policy)})`;
    if (heap.runs.length === 0) body.push(el("p", { className: "empty" }, `${heap.name} holds no page: its first malloc takes a buddy block (${heap.name}: p = malloc(24)).`));
    const c = ownerColors(heap.name, names);
    for (const [address, order] of heap.runs) {
      const end = address + 4096 * 2 ** order;
      const inRun = heap.blocks.filter((b) => b.address >= address && b.address < end);
      const used = inRun.reduce((n, b) => n + b.size, 0);
      const strip = el("div", { className: "strip" });
      // The run's first bytes not covered by blocks: the heap's own page map.
      const meta = inRun.length ? inRun[0].address - address : end - address;
      if (meta > 0) strip.append(el("span", { className: "block meta", style: { flexGrow: String(meta) }, title: "the heap's page map" }, "page map"));
      for (const b of inRun) {
        const label = b.used ? `${b.name ?? "block"} ${formatBytes(b.requested)}` : `free ${formatBytes(b.size)}`;
        strip.append(
          el("span", { className: b.used ? "block used" : "block free", style: { flexGrow: String(b.size), ...(b.used ? { background: c.fill, color: c.ink } : {}) }, title: `${b.used ? "used" : "free"} block at ${hex(b.address)}, ${b.size} bytes` }, label),
        );
      }
      const rest = end - address - meta - used;
      if (rest > 0 && inRun.length) strip.append(el("span", { className: "block rest", style: { flexGrow: String(rest) } }, ""));
      body.push(el("div", { className: "run" }, el("div", { className: "run-label" }, `buddy block ${hex(address)} · order ${order} (${2 ** order} pages)`), strip));
    }
  }
  box.replaceChildren(...body);
}

function render() {
  const snap = model.snapshot();
  const names = model.heapNames();
  renderLegend(snap, names);
  layout = drawMap($("map"), snap, { names, selected, touched });
  $("map-summary").textContent = summary(snap, names);
  renderZoom(snap, names);
  document.body.dataset.blocks = String(snap.blocks.length);
  return snap;
}

function logLine(text, kind) {
  const li = el("li", { className: kind }, text);
  $("log").append(li);
  $("log").scrollTop = $("log").scrollHeight;
}

function narrate(result) {
  $("narration").textContent = result.ok ? result.message : `Refused: ${result.message}`;
  $("narration").classList.toggle("error", !result.ok);
  const steps = result.steps.length ? result.steps.map((s) => el("li", {}, `the buddy allocator ${s}`)) : [el("li", { className: "quiet" }, result.ok ? "the buddy allocator did nothing: the heap had room in the pages it holds" : "nothing changed")];
  $("steps").replaceChildren(...steps);
}

/** Runs one console line and shows it. */
function run(line) {
  const result = model.run(line);
  if (result.kind === "empty") return result;
  logLine(`${line}`, "input");
  if (result.lines) {
    logLine(result.message, "output");
    for (const l of result.lines) logLine(l, "output");
    return result;
  }
  logLine(result.ok ? result.message : `error: ${result.message}`, result.ok ? "output" : "error");
  if (result.ok && result.heap) selected = result.heap;
  touched = new Set();
  let events = { buddy: [] };
  try {
    events = model.raw.lastEvents();
  } catch {
    // no events to mark
  }
  for (const e of events.buddy) if (e.kind === "buddy-merge" || e.kind === "buddy-alloc") touched.add(Math.min(e.addr, e.with ?? e.addr));
  narrate(result);
  render();
  return result;
}

function reset() {
  model?.dispose();
  model = new MachineModel();
  selected = "app1";
  touched = new Set();
  $("log").replaceChildren();
  for (const line of START) run(line);
  $("narration").textContent = "The machine started: the kernel took a slab for kmalloc(64); app1 and app2 each took a buddy block on their first malloc. Try app2: free(q).";
  $("narration").classList.remove("error");
  render();
}

async function start() {
  try {
    await loadHeaplab();
  } catch (error) {
    $("narration").textContent = `Heaplab could not start: ${error.message}`;
    return;
  }
  reset();
  $("console-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("console-input");
    const line = input.value;
    input.value = "";
    run(line);
  });
  $("reset").addEventListener("click", reset);
  $("legend").addEventListener("click", (event) => {
    const owner = event.target.closest("button[data-owner]")?.dataset.owner;
    if (!owner) return;
    selected = owner;
    render();
  });
  $("map").addEventListener("click", (event) => {
    const rect = event.currentTarget.getBoundingClientRect();
    const box = layout && hitBlock(layout, event.clientX - rect.left, event.clientY - rect.top);
    if (box && box.block.owner !== "free") {
      selected = box.block.owner;
      render();
    }
  });
  for (const button of document.querySelectorAll("[data-example]")) button.addEventListener("click", () => run(button.dataset.example));
  onThemeChange(() => render());
  window.addEventListener("resize", () => render());
  // A small handle for the end-to-end tests and the curious.
  window.heaplabMachine = {
    get model() {
      return model;
    },
    run,
    snapshot: () => model.snapshot(),
  };
  document.body.dataset.ready = "true";
}

start();
