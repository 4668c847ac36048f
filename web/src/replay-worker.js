// The playground's replay worker: replays a long list of recorded operations
// on a wasm heap of its own (the same options as the page's) to find the
// first one that fails, posting progress as it goes, so that the page stays
// responsive while a big trace file, share link or saved work loads. It also
// reads big trace files (parses them, with the Rust `.rep` reader of its own
// wasm instance), so that a file's parsing does not freeze the page either.
//
// Messages in:   { type: "replay", ops: encodeOps(...), options } or
//                { type: "read", bytes: ArrayBuffer, name }, each with `module`,
//                the page's compiled WebAssembly.Module (or null: fetch it)
// Messages out:  replay: { type: "progress", done, total }…, then
//                { type: "done", done, total, failedAt, message };
//                read: { type: "read", ok: true, ops: encodeOps(...), options } or
//                { type: "read", ok: false, code, line, message } (readTraceText's words);
//                either: { type: "failed", message } (it could not run at all)
// The page cancels a replay or a read by terminating the worker.
import { init } from "./heaplab.js";
import { decodeOps, encodeOps, replayAll } from "./replay.js";
import { readTraceText } from "./trace-files.js";

/**
 * The answer to a "read" message: `{ message, transfer }` to post. Node tests
 * call it as it is.
 */
export async function readAnswer({ bytes, name, module = null }) {
  await start(module);
  const read = readTraceText(bytes, name);
  if (!read.ok) return { message: { type: "read", ok: false, code: read.code, line: read.line, message: read.message }, transfer: [] };
  const ops = encodeOps(read.ops);
  return { message: { type: "read", ok: true, ops, options: read.options }, transfer: [ops.words.buffer] };
}

/** Instantiates the page's module when it came along, else loads the wasm file itself. */
function start(module) {
  return module ? init({ module_or_path: module }) : init();
}

async function replay({ ops, options, module = null }) {
  await start(module);
  const decoded = decodeOps(ops);
  const report = replayAll(decoded, options, { onProgress: (progress) => postMessage({ type: "progress", ...progress }) });
  postMessage({ type: "done", ...report });
}

async function read(data) {
  const { message, transfer } = await readAnswer(data);
  postMessage(message, transfer);
}

if (typeof WorkerGlobalScope !== "undefined") {
  self.onmessage = ({ data }) => {
    const job = data?.type === "replay" ? replay : data?.type === "read" ? read : null;
    job?.(data).catch((error) => postMessage({ type: "failed", message: error?.message ?? String(error) }));
  };
}
