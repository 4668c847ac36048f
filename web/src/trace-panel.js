// Traces in and out, on the page: the file picker and drag-and-drop onto the
// map (read with trace-files.js; a malformed file reports its first bad line
// and changes nothing), export as .rep or JSON (a download), and the built-in
// workloads (workloads.js). DOM only; the timeline does the work. A load of
// many operations (a big file, link or saved work: see `loadOps`) replays in a
// worker, with its progress and a Cancel button next to the trace controls;
// a big file is also read (parsed) in that worker first (see READ_IN_WORKER_BYTES).
import { readTraceText, traceText, recordedOps } from "./trace-files.js";
import { traceLimits } from "./trace.js";
import { WORKLOADS, generateWorkload } from "./workloads.js";
import { checkOptions } from "./share.js";
import { needsWorker, progressText } from "./replay.js";
import { readInWorker } from "./replay-runner.js";

/**
 * Files larger than this are read in the replay worker, not on the page: at
 * about 10 bytes a line, some 50,000 operations, as many as a load replays
 * on the page (replay.js's WORKER_THRESHOLD).
 */
export const READ_IN_WORKER_BYTES = 512 * 1024;

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

/** Cancels the load or read in progress in `doc` (its caller says nothing: the new one speaks for both). */
function supersede(doc) {
  const previous = running.get(doc);
  if (previous) {
    previous.superseded = true;
    previous.controller.abort();
  }
}

/** Shows the status box for `job`, the work now in progress in `doc`. */
function begin(doc, status, job) {
  running.set(doc, job);
  status.box.hidden = false;
  const fold = status.box.closest("details");
  if (fold) fold.open = true; // folded on a phone: Cancel must be in reach
  doc.body.dataset.replaying = "true";
}

/** Hides the status box, unless other work took `job`'s place. */
function end(doc, status, job) {
  if (running.get(doc) !== job) return;
  running.delete(doc);
  status.box.hidden = true;
  delete doc.body.dataset.replaying;
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
  supersede(doc);
  const status = replayStatus(doc);
  if (!needsWorker(ops.length) || !status) {
    running.delete(doc);
    if (status) status.box.hidden = true;
    delete doc.body.dataset.replaying;
    return timeline.load(ops, options, at);
  }
  const job = { controller: new AbortController() };
  showProgress(status, 0, ops.length);
  begin(doc, status, job);
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
    end(doc, status, job);
  }
}

const megabytes = (bytes) => `${(bytes / (1024 * 1024)).toFixed(1)} MB`;

/**
 * Reads a big trace file in the replay worker while the page shows "Reading
 * name (size)…", a progress bar that moves without an end, and Cancel: the
 * page stays responsive however long the file. Resolves readTraceText's
 * result (`{ ok, ops, options }` or `{ ok: false, code, line, message }`), or
 * `{ cancelled: true }` or `{ superseded: true }`; never rejects.
 */
export async function readFileInWorker(doc, file) {
  supersede(doc);
  const status = replayStatus(doc);
  const job = { controller: new AbortController() };
  status.bar.removeAttribute("value"); // no figure until the operations are known
  status.text.textContent = `Reading ${file.name} (${megabytes(file.size)})…`;
  begin(doc, status, job);
  try {
    const bytes = await file.arrayBuffer();
    if (job.controller.signal.aborted) return job.superseded ? { superseded: true } : { cancelled: true };
    return await readInWorker(bytes, file.name, { signal: job.controller.signal });
  } catch (error) {
    if (job.superseded) return { superseded: true };
    if (error?.name === "AbortError") return { cancelled: true };
    return { ok: false, code: "malformed-trace", line: 0, message: `${file.name}: could not be read (${error?.message ?? error})` };
  } finally {
    end(doc, status, job);
  }
}

/**
 * @param {Document} doc
 * @param {object} hooks `{ timeline(), act(result), dropTarget }`
 */
export function mountTracePanel(doc, hooks) {
  const $ = (id) => doc.getElementById(id);

  /** Loads what a trace file read to (`readTraceText`'s result): nothing changes unless it parsed, its options are valid and it is not cancelled. */
  const load = async (read, name) => {
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

  /** Loads a trace file's text. */
  const open = (text, name) => load(readTraceText(text, name), name);

  const openFile = async (file) => {
    if (!file) return;
    const { maxBytes } = traceLimits();
    if (file.size > maxBytes) {
      hooks.act({ ok: false, code: "malformed-trace", message: `${file.name}: too big (${file.size} bytes; at most ${maxBytes}) (nothing was changed)` });
      return;
    }
    if (file.size > READ_IN_WORKER_BYTES && replayStatus(doc)) {
      const read = await readFileInWorker(doc, file);
      if (read.superseded) return;
      if (read.cancelled) hooks.act({ ok: true, message: `${file.name} was not opened: Reading cancelled: nothing was changed` });
      else await load(read, file.name);
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
      hooks.act({ ok: false, code: error.code === "cache-ops" ? "cache-ops" : "export-failed", message: `could not export: ${error.message}` });
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
