// Traces in and out, on the page: the file picker and drag-and-drop onto the
// map (read with trace-files.js; a malformed file reports its first bad line
// and changes nothing), export as .rep or JSON (a download), and the built-in
// workloads (workloads.js). DOM only; the timeline does the work. A load of
// many operations (a big file, link or saved work: see `loadOps`) replays in a
// worker, with its progress and a Cancel button next to the trace controls.
import { readTraceText, traceText, recordedOps, MAX_TRACE_TEXT } from "./trace-files.js";
import { WORKLOADS, generateWorkload } from "./workloads.js";
import { checkOptions } from "./share.js";
import { needsWorker, progressText } from "./replay.js";

/** Offers `text` as a file download named `name`. */
export function download(doc, name, text, type = "text/plain") {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = doc.createElement("a");
  a.href = url;
  a.download = name;
  a.hidden = true;
  doc.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** The load in progress in each document: `{ controller }` (one at a time). */
const running = new WeakMap();

/** The progress bar and Cancel button (index.html's #replay-status), wired once. */
function replayStatus(doc) {
  const box = doc.getElementById("replay-status");
  if (!box) return null;
  if (!box.dataset.wired) {
    box.dataset.wired = "true";
    doc.getElementById("replay-cancel").addEventListener("click", () => running.get(doc)?.controller.abort());
  }
  return { box, text: doc.getElementById("replay-text"), bar: doc.getElementById("replay-progress") };
}

function showProgress(status, done, total) {
  status.bar.max = Math.max(1, total);
  status.bar.value = done;
  status.text.textContent = progressText(done, total);
}

/**
 * Loads recorded operations into the timeline, as `timeline.load()` does.
 * Few operations load at once; more than WORKER_THRESHOLD replay in the
 * replay worker while the page shows "Replaying N of M operations…", a
 * progress bar and Cancel (which leaves everything as it was). A new load
 * cancels the one in progress (whose result then has `superseded: true`:
 * nothing to say). Resolves the timeline's result; never rejects.
 * @param {{ beforeApply?(): void }} [hooks] see `Timeline.loadInWorker`
 */
export async function loadOps(doc, timeline, ops, options, at, { beforeApply } = {}) {
  const previous = running.get(doc);
  if (previous) {
    previous.superseded = true; // its caller says nothing: this load speaks for both
    previous.controller.abort();
  }
  const status = replayStatus(doc);
  if (!needsWorker(ops.length) || !status) {
    running.delete(doc);
    if (status) status.box.hidden = true;
    delete doc.body.dataset.replaying;
    return timeline.load(ops, options, at);
  }
  const job = { controller: new AbortController() };
  running.set(doc, job);
  showProgress(status, 0, ops.length);
  status.box.hidden = false;
  const fold = status.box.closest("details");
  if (fold) fold.open = true; // folded on a phone: Cancel must be in reach
  doc.body.dataset.replaying = "true";
  try {
    const result = await timeline.loadInWorker(ops, options, at, {
      signal: job.controller.signal,
      beforeApply,
      onProgress: ({ done, total }) => {
        if (running.get(doc) === job) showProgress(status, done, total);
      },
    });
    return job.superseded ? { ...result, superseded: true } : result;
  } catch (error) {
    return { ok: false, code: "replay-failed", message: `could not load the operations (${error?.message ?? error}): nothing was changed` };
  } finally {
    if (running.get(doc) === job) {
      running.delete(doc);
      status.box.hidden = true;
      delete doc.body.dataset.replaying;
    }
  }
}

/**
 * @param {Document} doc
 * @param {object} hooks `{ timeline(), act(result), dropTarget }`
 */
export function mountTracePanel(doc, hooks) {
  const $ = (id) => doc.getElementById(id);

  /** Loads a trace file's text: nothing changes unless it parses, its options are valid and it is not cancelled. */
  const open = async (text, name) => {
    const read = readTraceText(text, name);
    if (!read.ok) {
      hooks.act({ ok: false, code: read.code, message: `${read.message} (nothing was changed)` });
      return read;
    }
    const timeline = hooks.timeline();
    let options = timeline.session.options;
    if (read.options) {
      try {
        options = { ...options, ...checkOptions(read.options) };
      } catch (error) {
        hooks.act({ ok: false, code: "malformed-trace", message: `${name}:1: ${error.message} (nothing was changed)` });
        return { ok: false };
      }
    }
    const result = await loadOps(doc, timeline, read.ops, options, 0);
    if (result.superseded) return result;
    if (result.cancelled) hooks.act({ ok: true, message: `${name} was not opened: ${result.message}` });
    else hooks.act({ ...result, message: `Opened ${name}: ${result.message}; press Play or move the time slider` });
    return result;
  };

  const openFile = async (file) => {
    if (!file) return;
    if (file.size > MAX_TRACE_TEXT) {
      hooks.act({ ok: false, code: "malformed-trace", message: `${file.name}: too big (${file.size} bytes) (nothing was changed)` });
      return;
    }
    try {
      await open(await file.text(), file.name);
    } catch (error) {
      hooks.act({ ok: false, code: "malformed-trace", message: `${file.name}: could not be read (${error.message})` });
    }
  };

  const picker = $("trace-file");
  picker.addEventListener("change", async () => {
    await openFile(picker.files?.[0]);
    picker.value = "";
  });

  const target = hooks.dropTarget;
  target.addEventListener("dragover", (event) => {
    if (!event.dataTransfer?.types?.includes("Files")) return;
    event.preventDefault();
    target.classList.add("drop");
  });
  target.addEventListener("dragleave", () => target.classList.remove("drop"));
  target.addEventListener("drop", (event) => {
    target.classList.remove("drop");
    if (!event.dataTransfer?.files?.length) return;
    event.preventDefault();
    openFile(event.dataTransfer.files[0]).catch((error) => hooks.act({ ok: false, code: "malformed-trace", message: `could not open the file (${error.message})` }));
  });

  const exporter = (format) => () => {
    const timeline = hooks.timeline();
    const ops = timeline.ops.slice(0, timeline.at);
    try {
      const text = traceText(ops, timeline.session.options, format);
      const name = format === "rep" ? "heaplab-trace.rep" : "heaplab-trace.json";
      download(doc, name, text, format === "json" ? "application/json" : "text/plain");
      const left = ops.filter((op) => op.op === "write" || op.op === "flush").length;
      hooks.act({ ok: true, message: `Exported ${ops.length - left} operations as ${name}${left ? ` (${left} writes and flushes left out: the format has none)` : ""}` });
    } catch (error) {
      hooks.act({ ok: false, code: "export-failed", message: `could not export: ${error.message}` });
    }
  };
  $("export-rep").addEventListener("click", exporter("rep"));
  $("export-json").addEventListener("click", exporter("json"));

  const select = $("workload");
  const explain = $("workload-explain");
  select.replaceChildren(
    ...WORKLOADS.map((w) => {
      const o = doc.createElement("option");
      o.value = w.key;
      o.textContent = w.title;
      return o;
    }),
  );
  const showExplain = () => {
    explain.textContent = WORKLOADS.find((w) => w.key === select.value)?.explain ?? "";
  };
  select.addEventListener("change", showExplain);
  showExplain();
  $("workload-load").addEventListener("click", async () => {
    const w = WORKLOADS.find((x) => x.key === select.value);
    try {
      const trace = await generateWorkload(w.key, { seed: 1 });
      const timeline = hooks.timeline();
      const result = await loadOps(doc, timeline, recordedOps(trace), timeline.session.options, 0);
      if (result.superseded) return;
      if (result.cancelled) hooks.act({ ok: true, message: `The ${w.title} workload was not loaded: ${result.message}` });
      else hooks.act({ ...result, message: `Loaded the ${w.title} workload: ${result.message}. ${w.explain}` });
    } catch (error) {
      hooks.act({ ok: false, code: "workload-failed", message: `could not load the workload: ${error.message}` });
    }
  });

  return { open };
}
