// Trace files in and out of the playground: text (malloc-lab `.rep` or
// Heaplab JSON, read and written by trace.js) to the session's recorded
// operations and back. Pure: no DOM (trace-panel.js does the files). Reading
// needs the wasm module loaded (the `.rep` reader is the Rust one).
import { parseTrace, toRep, toJson, TraceError } from "./trace.js";

/** Recorded operations (session.js's shape) of a parsed trace: ids + 1, sizes as they are. */
export function recordedOps(trace) {
  return trace.ops.map((op) =>
    op.op === "a"
      ? { op: "malloc", id: op.id + 1, size: op.size, align: 0 }
      : op.op === "r"
        ? { op: "realloc", id: op.id + 1, size: op.size }
        : { op: "free", id: op.id + 1 },
  );
}

/**
 * Reads a trace file: its text, or its bytes (an ArrayBuffer or Uint8Array
 * of UTF-8). Returns `{ ok: true, ops, options, trace }` or
 * `{ ok: false, code, line, message }` naming the first bad line (line 0: no
 * line is at fault). What is too big is too big for trace.js's limits.
 */
export function readTraceText(text, name = "trace") {
  if (typeof text !== "string" && !(text instanceof ArrayBuffer) && !(text instanceof Uint8Array)) {
    return { ok: false, code: "malformed-trace", line: 0, message: `${name}: not text` };
  }
  try {
    const trace = parseTrace(text, { name });
    return { ok: true, trace, ops: recordedOps(trace), options: trace.options ?? null };
  } catch (error) {
    if (error instanceof TraceError || error?.code === "malformed-trace") {
      return { ok: false, code: "malformed-trace", line: error.line, message: error.message };
    }
    return { ok: false, code: "malformed-trace", line: 0, message: `${name}: ${error.message}` };
  }
}

/** The kernel heap's slab cache operations, which no trace format says. */
const CACHE_OPS = new Set(["cache-create", "cache-alloc", "cache-free", "cache-shrink"]);

/**
 * The text of a trace file for recorded operations: `format` "rep" (short
 * header) or "json" (with the heap options). Operations the formats cannot
 * say are turned into what they can: calloc as malloc of count × size,
 * aligned malloc as plain malloc; writes are left out. Slab cache
 * operations have no such stand-in: with any of them, an Error (code
 * "cache-ops") says why nothing is written, rather than a file that would
 * replay another heap.
 */
export function traceText(ops, options, format) {
  const cacheOps = ops.filter((op) => CACHE_OPS.has(op.op)).length;
  if (cacheOps > 0) {
    const what = format === "rep" ? "A malloc-lab .rep trace" : "A Heaplab JSON trace";
    const message = `${what} has malloc, realloc and free only, no slab cache operations: this session has ${cacheOps} (cache_create, cache_alloc, cache_free, cache_shrink) that the file would lose, and its objects would replay as other blocks. Share it as a link instead (Share keeps them), or export a session of kmalloc and kfree only.`;
    throw Object.assign(new Error(message), { code: "cache-ops" });
  }
  const out = [];
  let ids = 0;
  for (const op of ops) {
    const id = op.id - 1;
    if (id + 1 > ids) ids = id + 1;
    if (op.op === "malloc") out.push({ op: "a", id, size: op.size });
    else if (op.op === "calloc") out.push({ op: "a", id, size: op.count * op.size });
    else if (op.op === "realloc") out.push({ op: "r", id, size: op.size });
    else if (op.op === "free") out.push({ op: "f", id });
  }
  const trace = { ops: out, ids };
  if (format === "rep") return toRep(trace);
  if (format === "json") {
    const clean = {};
    for (const [k, v] of Object.entries(options ?? {})) if (v !== null && v !== undefined) clean[k] = v;
    return toJson({ ...trace, options: clean });
  }
  throw new Error(`unknown trace format "${format}" (rep or json)`);
}
