// Traces in and out, on the page: the file picker and drag-and-drop onto the
// map (read with trace-files.js; a malformed file reports its first bad line
// and changes nothing), export as .rep or JSON (a download), and the built-in
// workloads (workloads.js). DOM only; the timeline does the work.
import { readTraceText, traceText, recordedOps, MAX_TRACE_TEXT } from "./trace-files.js";
import { WORKLOADS, generateWorkload } from "./workloads.js";
import { checkOptions } from "./share.js";

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

/**
 * @param {Document} doc
 * @param {object} hooks `{ timeline(), act(result), dropTarget }`
 */
export function mountTracePanel(doc, hooks) {
  const $ = (id) => doc.getElementById(id);

  /** Loads a trace file's text: nothing changes unless it parses and its options are valid. */
  const open = (text, name) => {
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
    const result = timeline.load(read.ops, options, 0);
    hooks.act({ ...result, message: `Opened ${name}: ${result.message}; press Play or move the time slider` });
    return result;
  };

  const openFile = async (file) => {
    if (!file) return;
    if (file.size > MAX_TRACE_TEXT) {
      hooks.act({ ok: false, code: "malformed-trace", message: `${file.name}: too big (${file.size} bytes) (nothing was changed)` });
      return;
    }
    try {
      open(await file.text(), file.name);
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
    openFile(event.dataTransfer.files[0]);
  });

  const exporter = (format) => () => {
    const timeline = hooks.timeline();
    const ops = timeline.ops.slice(0, timeline.at);
    try {
      const text = traceText(ops, timeline.session.options, format);
      const name = format === "rep" ? "heaplab-trace.rep" : "heaplab-trace.json";
      download(doc, name, text, format === "json" ? "application/json" : "text/plain");
      const left = ops.filter((op) => op.op === "write").length;
      hooks.act({ ok: true, message: `Exported ${ops.length - left} operations as ${name}${left ? ` (${left} writes left out: the format has none)` : ""}` });
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
      const result = hooks.timeline().load(recordedOps(trace), hooks.timeline().session.options, 0);
      hooks.act({ ...result, message: `Loaded the ${w.title} workload: ${result.message}. ${w.explain}` });
    } catch (error) {
      hooks.act({ ok: false, code: "workload-failed", message: `could not load the workload: ${error.message}` });
    }
  });

  return { open };
}
