// The compare page: pick a trace (a seeded workload or a file), run it on two
// to five policies at once (one Web Worker each), then read the charts, the
// aligned heap maps on one timeline, and the results table; export the table
// as CSV and each chart as PNG.
import { POLICIES, KMALLOC } from "../heaplab.js";
import { loadHeaplab } from "../wasm.js";
import { GENERATORS, describeOp } from "./generators.js";
import { loadTrace, Comparison } from "./runner.js";
import { ChartsView, download, policySwatch } from "./charts-view.js";
import { MapsView } from "./maps-view.js";
import { COLUMNS, INDEX, INDEX_FORMULA, resultRow, summarizeResults, toCsv } from "./metrics.js";
import { PEERS, isPeer } from "./peers.js";
import { TOY_VS_PRODUCTION, presetTrace } from "./presets.js";

const $ = (id) => document.getElementById(id);
const state = { trace: null, comparison: null, rows: [], index: 0, count: 0 };

function say(text, error = false) {
  $("message").textContent = text;
  $("message").classList.toggle("error", error);
}

const charts = new ChartsView({ container: $("charts"), legend: $("chart-legend"), tooltip: $("chart-tooltip"), onError: (m) => say(m, true) });
const maps = new MapsView({ container: $("maps"), scaleLabel: $("maps-scale"), onError: (m) => say(m, true) });

// --- Trace input -----------------------------------------------------------

function setTrace(trace) {
  state.trace = trace;
  const count = trace.ops.length / 3;
  $("trace-info").textContent = `Trace: ${trace.name}, ${count.toLocaleString("en-US")} operations on ${trace.ids.toLocaleString("en-US")} ids.`;
  $("trace-error").textContent = "";
  document.body.dataset.trace = trace.name;
}

async function useSource(source) {
  $("workload-button").disabled = true;
  try {
    setTrace(await loadTrace(source));
    return true;
  } catch (error) {
    const where = error.line ? `line ${error.line}: ` : "";
    $("trace-error").textContent = `${source.name ?? "The trace"} was not loaded (${where}${error.reason ?? error.message}). The trace in use is unchanged.`;
    return false;
  } finally {
    $("workload-button").disabled = false;
  }
}

function workloadSource() {
  const seed = Number($("workload-seed").value);
  return { kind: "workload", key: $("workload").value, count: Number($("workload-count").value), seed: Number.isInteger(seed) && seed >= 0 ? seed : 1 };
}

$("workload-button").addEventListener("click", () => useSource(workloadSource()));
$("trace-file").addEventListener("change", async () => {
  const file = $("trace-file").files[0];
  if (!file) return;
  await useSource({ kind: "file", name: file.name, text: await file.text() });
});

// --- Running a comparison --------------------------------------------------

function chosenPolicies() {
  return [...document.querySelectorAll("#policy-list input:checked, #peer-list input:checked, #kernel-list input:checked")].map((box) => box.value);
}

function options() {
  return { align: Number($("opt-align").value), coalesce: $("opt-coalesce").value, splitMin: Number($("opt-split").value) };
}

function setRunning(running) {
  $("compare-button").disabled = running;
  $("cancel-button").disabled = !running;
  document.body.dataset.running = String(running);
}

function setTimelineEnabled(enabled) {
  for (const id of ["tl-start", "tl-back", "tl-step", "tl-end", "tl-range", "tl-index"]) $(id).disabled = !enabled;
}

function start() {
  const policies = chosenPolicies();
  if (policies.length < 2 || policies.length > 5) return say("Choose two to five policies to compare.", true);
  if (!state.trace) return say("Choose a trace first.", true);
  const split = Number($("opt-split").value);
  if (!Number.isInteger(split) || split < 0 || split > 4096) return say("The split minimum is a whole number of bytes from 0 to 4096.", true);
  state.comparison?.cancel();
  const { trace } = state;
  const count = trace.ops.length / 3;
  const progress = new Map(policies.map((p) => [p, 0]));
  state.count = count;
  state.rows = [];
  renderResults([]);
  $("results-summary").textContent = "";
  charts.reset(policies, trace.ops);
  maps.reset(policies);
  setTimelineEnabled(false);
  setRunning(true);
  $("progress").value = 0;
  document.body.dataset.compared = "false";
  say(`Replaying ${count.toLocaleString("en-US")} operations on ${policies.join(", ")}…`);
  const comparison = new Comparison(trace.ops, policies, options(), {
    onProgress(policy, message) {
      if (state.comparison !== comparison) return;
      progress.set(policy, message.done);
      if (message.series) charts.setSeries(policy, message.series);
      const done = [...progress.values()].reduce((a, b) => a + b, 0);
      const ratio = done / (count * policies.length);
      $("progress").value = Math.min(999, Math.floor(ratio * 1000));
      $("progress-text").textContent = message.timing ? `${policy}: timing the trace in wasm…` : `${Math.floor(ratio * 100)}% replayed`;
    },
    onDone(results) {
      if (state.comparison !== comparison) return;
      finish(comparison, results);
    },
    onError(text) {
      if (state.comparison !== comparison) return;
      setRunning(false);
      say(`The comparison stopped: ${text}`, true);
    },
  });
  state.comparison = comparison;
}

function finish(comparison, results) {
  setRunning(false);
  $("progress").value = 1000;
  $("progress-text").textContent = `done in ${comparison.seconds.toFixed(1)} s`;
  state.rows = results.map((r) => resultRow(r.result));
  renderResults(state.rows);
  $("results-summary").textContent = summarizeResults(state.rows, { isPeer });
  for (const r of results) charts.setSeries(r.policy, r.series);
  maps.show(results.map((r) => r.frame));
  $("tl-range").max = $("tl-index").max = String(state.count);
  setTimelineEnabled(true);
  showIndex(state.count);
  document.body.dataset.compared = "true";
  document.body.dataset.seconds = comparison.seconds.toFixed(2);
  const failed = state.rows.filter((r) => r.failure);
  say(`Compared ${results.length} policies on ${state.trace.name} (${state.count.toLocaleString("en-US")} operations) in ${comparison.seconds.toFixed(1)} s.${failed.length ? ` ${failed.map((r) => `${r.policy}: ${r.failure}`).join("; ")}.` : ""}`, failed.length > 0);
}

$("setup-form").addEventListener("submit", (event) => {
  event.preventDefault();
  start();
});
$("cancel-button").addEventListener("click", () => {
  state.comparison?.cancel();
  state.comparison = null;
  setRunning(false);
  $("progress-text").textContent = "cancelled";
  say("Comparison cancelled.");
});

// --- Timeline --------------------------------------------------------------

function showIndex(index) {
  const i = Math.max(0, Math.min(state.count, Math.round(index)));
  state.index = i;
  $("tl-range").value = String(i);
  $("tl-index").value = String(i);
  $("tl-range").setAttribute("aria-valuetext", `${i} operations done`);
  $("tl-op").textContent = i === 0 ? `Operation 0 of ${state.count.toLocaleString("en-US")}: the empty heaps.` : `Operation ${i.toLocaleString("en-US")} of ${state.count.toLocaleString("en-US")}: ${describeOp(state.trace.ops, i - 1)}`;
  charts.setCursor(i);
  const comparison = state.comparison;
  comparison?.seek(i).then((frames) => {
    if (frames && comparison === state.comparison) maps.show(frames);
  });
}

$("tl-range").addEventListener("input", () => showIndex(Number($("tl-range").value)));
$("tl-index").addEventListener("change", () => showIndex(Number($("tl-index").value)));
$("tl-start").addEventListener("click", () => showIndex(0));
$("tl-back").addEventListener("click", () => showIndex(state.index - 1));
$("tl-step").addEventListener("click", () => showIndex(state.index + 1));
$("tl-end").addEventListener("click", () => showIndex(state.count));

// --- Results ---------------------------------------------------------------

function renderResults(rows) {
  const head = document.createElement("tr");
  for (const c of COLUMNS) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = c.title;
    if (c.definition) {
      th.title = c.definition;
      th.classList.add("defined");
    }
    head.append(th);
  }
  $("results").tHead.replaceChildren(head);
  const body = $("results").tBodies[0];
  if (!rows.length) {
    const td = document.createElement("td");
    td.colSpan = COLUMNS.length;
    td.textContent = "Run a comparison to fill this table.";
    const tr = document.createElement("tr");
    tr.append(td);
    body.replaceChildren(tr);
  } else {
    body.replaceChildren(
      ...rows.map((row) => {
        const tr = document.createElement("tr");
        tr.dataset.policy = row.policy;
        for (const c of COLUMNS) {
          const cell = document.createElement(c.key === "policy" ? "th" : "td");
          if (c.key === "policy") {
            cell.scope = "row";
            cell.append(policySwatch(row.policy), ` ${row.policy}${row.failure ? ` (${row.failure})` : ""}`);
          } else cell.textContent = c.show(row[c.key], row);
          cell.dataset.key = c.key;
          tr.append(cell);
        }
        return tr;
      }),
    );
  }
  $("csv-button").disabled = rows.length === 0;
}

$("csv-button").addEventListener("click", () => {
  const csv = toCsv(state.rows, { trace: state.trace?.name ?? "" });
  download(new Blob([csv], { type: "text/csv" }), "heaplab-compare.csv");
});

// --- Start-up --------------------------------------------------------------

for (const g of GENERATORS) {
  const option = document.createElement("option");
  option.value = g.key;
  option.textContent = `${g.label}: ${g.about}`;
  $("workload").append(option);
}
// The policy names are the wasm module's: heaplab.js fills POLICIES when it loads
// (the replays themselves run in the worker).
try {
  await loadHeaplab();
} catch (error) {
  say(error.message, true);
}
/** A checkbox for a policy, with its swatch and (production allocators) a line about it on hover. */
function policyChoice(policy, checked, about = "") {
  const label = document.createElement("label");
  label.className = "policy-choice";
  const box = document.createElement("input");
  box.type = "checkbox";
  box.value = policy;
  box.checked = checked;
  box.id = `policy-${policy}`;
  if (about) label.title = about;
  label.append(box, policySwatch(policy), policy);
  return label;
}
$("policy-list").replaceChildren(...POLICIES.map((policy) => policyChoice(policy, true)));
$("peer-list").replaceChildren(...PEERS.map((p) => policyChoice(p.key, false, p.about)));
$("kernel-list").replaceChildren(policyChoice(KMALLOC, false, "kmalloc: slab caches (size classes 8 B to 4 KiB) over a buddy page allocator; larger requests take 2^order pages"));

// --- The "toy vs production" preset ----------------------------------------

async function toyVsProduction() {
  $("preset-button").disabled = true;
  try {
    const loaded = await useSource({ kind: "file", ...(await presetTrace()) });
    if (!loaded) return;
    for (const box of document.querySelectorAll("#policy-list input, #peer-list input, #kernel-list input")) box.checked = TOY_VS_PRODUCTION.policies.includes(box.value);
    start();
  } catch (error) {
    say(`The preset's trace did not load (${error.message}).`, true);
  } finally {
    $("preset-button").disabled = false;
  }
}
$("preset-button").addEventListener("click", toyVsProduction);
$("index-formula").textContent = INDEX_FORMULA;
$("index-notes").textContent =
  `w = ${INDEX.weight} weighs peak utilization U (peak live requested bytes ÷ heap span, the heap's high-water mark: malloc-lab's definition); ` +
  `1 − w = ${(1 - INDEX.weight).toFixed(1)} weighs throughput T (operations per second of the whole trace replayed in wasm, best of several runs, or their mean when a run is shorter than 2 ms, the browser's clock ticking every 0.1 ms), ` +
  `capped at Tlibc = ${INDEX.libcKops} Kops/s, the reference the course's mdriver.c uses (AVG_LIBC_THRUPUT 600E3 in its config.h). ` +
  `The course prints 100·P. A wasm heap in a browser is usually faster than Tlibc, so most policies get the whole throughput term and differ by utilization.`;
renderResults([]);

window.heaplabCompare = { state };
// compare.html?preset=toy-vs-production (the lessons link here) runs the preset at once.
const preset = new URLSearchParams(location.search).get("preset");
(preset === TOY_VS_PRODUCTION.key ? toyVsProduction() : useSource(workloadSource())).then(() => {
  document.body.dataset.ready = "true";
});
if (preset && preset !== TOY_VS_PRODUCTION.key) say(`There is no preset called "${preset}"; the built-in workload is loaded instead.`, true);
