// Allocation traces: reading and writing the operations a heap replays.
//
// A trace is a list of operations on small integer ids, the way the CS:APP
// malloc lab writes them. `parseTrace` reads two formats, `toRep` and `toJson`
// write them back; plain ES module, same in browser and Node. The malloc-lab
// `.rep` format is read by Heaplab's one `.rep` reader, in Rust (the crate
// heaplab-trace, through `parseTrace` of heaplab.js): the wasm module must be
// loaded first (`await init()` of heaplab.js). The Heaplab JSON format is read
// here, within the same limits (`traceLimits()`, the Rust reader's).
//
// ## The parsed trace
//
//   { ops: [{ op: "a", id, size, line }, { op: "f", id, line },
//           { op: "r", id, size, line }, ...],
//     ids: 6,              // number of ids: ids are 0 .. ids-1
//     header: "short",     // "classic" | "short" (.rep) or "json"
//     name: "trace",       // what error messages call the trace
//     options?: { ... } }  // heap options, JSON traces only
//
// `a id size` is id = malloc(size), `r id size` is id = realloc(id, size) and
// `f id` is free(id). `line` is where the operation stands in the source: the
// 1-based text line of a `.rep` file, the 1-based index in "ops" of a JSON file.
//
// ## The malloc-lab `.rep` format
//
// One operation a line (`a 0 24`, `r 0 48`, `f 0`), after a header of one
// number a line in one of two variants:
//   - short (2 lines): number of ids, number of operations;
//   - classic (4 lines): suggested heap size (unused), number of ids,
//     number of operations, weight (unused).
// Blank lines, spaces, tabs, CR before LF and a UTF-8 byte-order mark are
// accepted. Heaplab extension: `#` starts a comment that runs to the end of
// its line (the course driver has none; `toRep` never writes one). The rules
// in full are the crate's docs (crate/trace/src/lib.rs).
//
// ## The Heaplab JSON format
//
//   { "format": "heaplab-trace",   // required, exactly this
//     "version": 1,                // required, exactly 1
//     "ids": 6,                    // optional; default: largest id + 1
//     "options": { "policy": "best-fit", "align": 16 },
//                                  // optional heap options (strings, numbers,
//                                  // booleans), passed through unchecked
//     "ops": [["a", 0, 24], ["r", 0, 48], ["f", 0]] }   // required
//
// Recognised when the first non-blank character is `{` (or `[`, to say that a
// JSON array is not a trace). No other fields are
// allowed. `toJson` writes operation i on text line i + 1, so the line of an
// error in a JSON file written by Heaplab is also its line in an editor.
//
// ## Validation
//
// Everything is checked, and the first bad line stops the parse: nothing is
// returned from a malformed trace. The error is a `TraceError` with
// `.code = "malformed-trace"`, `.line` (1-based; see `line` above), `.reason`
// and a message `name:line: reason`. Checked in both formats: field counts,
// operation letters, integers (no sign, fraction or exponent), sizes up to
// 2^31 bytes, ids below the declared number of ids, the lifecycle of each id
// (no free or realloc unless live, no malloc while live), binary data (NUL
// bytes, control characters, U+FFFD from invalid UTF-8), and the limits of
// `traceLimits()`; in `.rep`, the header (present, 2 or 4 numbers, one a line)
// and the operation count against it. Document-level JSON errors (not an
// object, wrong format or version) are reported at line 1; a JSON syntax error
// at the text line where the JSON parser stopped, when the engine's message
// gives a position (else at line 1).
import { parseTrace as readRep, traceLimits, RUN } from "./heaplab.js";

export { traceLimits };

/** A malformed trace: `.line` is 1-based, the message is `name:line: reason`. */
export class TraceError extends Error {
  constructor(trace, line, reason) {
    super(`${trace}:${line}: ${reason}`);
    this.name = "TraceError";
    this.code = "malformed-trace";
    this.trace = trace;
    this.line = line;
    this.reason = reason;
  }
}

/**
 * Reads a trace in the malloc-lab `.rep` format (either header) or the
 * Heaplab JSON format, detected from the first non-blank character. Needs
 * the wasm module loaded (`await init()` of heaplab.js).
 * @param {string|Uint8Array|ArrayBuffer} text the trace; bytes are UTF-8
 * @param {object} [options] `{ name = "trace" }`, what error messages call it
 * @returns {{ ops: object[], ids: number, header: string, name: string, options?: object }}
 * @throws {TraceError} at the first bad line
 */
export function parseTrace(text, { name = "trace" } = {}) {
  const bytes = typeof text === "string" ? null : text instanceof ArrayBuffer ? new Uint8Array(text) : text;
  if (bytes !== null && !(bytes instanceof Uint8Array)) throw new TypeError("parseTrace takes a string, a Uint8Array or an ArrayBuffer");
  const first = bytes === null ? firstNonBlank(text) : String.fromCharCode(firstNonBlankByte(bytes));
  if (first === "{" || first === "[") return parseJson(text, { name, ...traceLimits() });
  return parseRep(text, name);
}

/** Throws the TraceError for `line` of the trace `context` describes. */
function fail(context, line, reason) {
  throw new TraceError(context.name, line, reason);
}

function firstNonBlank(text) {
  for (let i = text.charCodeAt(0) === 0xfeff ? 1 : 0; i < text.length; i++) {
    const c = text[i];
    if (c !== " " && c !== "\t" && c !== "\r" && c !== "\n") return c;
  }
  return "";
}

/** The first byte that is not blank (after a byte-order mark), or 0. */
function firstNonBlankByte(bytes) {
  const bom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  for (let i = bom ? 3 : 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (c !== 32 && c !== 9 && c !== 13 && c !== 10) return c;
  }
  return 0;
}

/** A JSON value as an error message shows it (cut short when long). */
function show(value) {
  let text;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = Array.isArray(value) ? "[...]" : "{...}"; // nested too deep to print
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function makeOp(op, id, size, line) {
  return op === "f" ? { op, id, line } : { op, id, size, line };
}

// ---------------------------------------------------------------------------
// The `.rep` format: the Rust reader's operations in this module's shape.

/** The `.rep` letter of each run code (RUN is the module's: read after `init()`). */
const letters = () => ({ [RUN.MALLOC]: "a", [RUN.FREE]: "f", [RUN.REALLOC]: "r" });

function parseRep(text, name) {
  let read;
  try {
    read = readRep(text);
  } catch (error) {
    if (error?.code === "invalid-trace" && Number.isInteger(error.line)) throw new TraceError(name, error.line, error.reason);
    throw error;
  }
  const { ops: triples, lines } = read;
  const ops = new Array(lines.length);
  const LETTERS = letters();
  for (let i = 0, k = 0; i < ops.length; i++, k += 3) ops[i] = makeOp(LETTERS[triples[k]], triples[k + 1], triples[k + 2], lines[i]);
  return { ops, ids: read.ids, header: read.header, name };
}

// ---------------------------------------------------------------------------
// The JSON format.

const JSON_FIELDS = new Set(["format", "version", "ids", "options", "ops"]);
const FIELDS = { a: 3, r: 3, f: 2 };
const USAGE = { a: "'a id size'", r: "'r id size'", f: "'f id'" };

/** `context`: `{ name, maxOps, maxSize, maxBytes }`. */
function parseJson(input, context) {
  const text = decode(input, context);
  rejectBinary(text, context);
  const doc = readJson(text, context);
  checkDocument(doc, context);
  const limit = doc.ids === undefined ? null : doc.ids;
  const lifecycle = new Lifecycle(context, limit);
  const ops = new Array(doc.ops.length);
  for (let i = 0; i < doc.ops.length; i++) ops[i] = jsonOperation(doc.ops[i], i + 1, context, lifecycle);
  const trace = { ops, ids: limit ?? lifecycle.ids, header: "json", name: context.name };
  if (doc.options !== undefined) trace.options = { ...doc.options };
  return trace;
}

/** The text of a JSON trace within the size limit; bytes are decoded as UTF-8 (bad bytes become U+FFFD). */
function decode(input, context) {
  // A string's UTF-8 takes at most 3 bytes a character: only count them near the limit.
  const bytes = typeof input !== "string" ? input.byteLength : input.length * 3 > context.maxBytes ? new TextEncoder().encode(input).length : 0;
  if (bytes > context.maxBytes) fail(context, 1, `trace is ${bytes} bytes, above the limit of ${context.maxBytes}`);
  if (typeof input === "string") return input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  return new TextDecoder("utf-8").decode(input); // strips a BOM
}

const NEVER = 0;
const LIVE = 1;
const FREED = 2;

/** Which ids of a JSON trace are live; `limit` is the declared number of ids (or null). */
class Lifecycle {
  constructor(context, limit) {
    this.context = context;
    this.limit = limit;
    this.state = new Uint8Array(limit ?? 64);
    this.since = new Int32Array(limit ?? 64); // operation of the last malloc or free
    this.ids = 0; // largest id seen + 1
  }

  /** Validates `id` at operation `line` and returns its state. */
  enter(id, line) {
    if (this.limit !== null && id >= this.limit) {
      fail(this.context, line, `id ${id} is not below the declared number of ids (${this.limit})`);
    }
    if (id >= this.state.length) this.grow(id + 1);
    if (id >= this.ids) this.ids = id + 1;
    return this.state[id];
  }

  grow(needed) {
    let length = this.state.length * 2;
    while (length < needed) length *= 2;
    const state = new Uint8Array(length);
    const since = new Int32Array(length);
    state.set(this.state);
    since.set(this.since);
    this.state = state;
    this.since = since;
  }

  /** Records one operation after its fields were checked. */
  apply(op, id, line) {
    const state = this.enter(id, line);
    const since = this.since[id];
    if (op === "a") {
      if (state === LIVE) fail(this.context, line, `id ${id} allocated while still live (allocated at operation ${since})`);
      this.state[id] = LIVE;
      this.since[id] = line;
    } else if (op === "r") {
      if (state === NEVER) fail(this.context, line, `id ${id} reallocated before it was allocated`);
      if (state === FREED) fail(this.context, line, `id ${id} reallocated after it was freed (at operation ${since})`);
    } else {
      if (state === NEVER) fail(this.context, line, `id ${id} freed before it was allocated`);
      if (state === FREED) fail(this.context, line, `id ${id} freed twice (first freed at operation ${since})`);
      this.state[id] = FREED;
      this.since[id] = line;
    }
  }
}

/** NUL bytes and U+FFFD cannot be told apart from text once JSON.parse has run. */
function rejectBinary(text, context) {
  for (const c of ["\0", "\ufffd"]) {
    const at = text.indexOf(c);
    if (at >= 0) fail(context, lineAt(text, at), `binary data (${c === "\0" ? "NUL byte" : "invalid UTF-8"}), not a text trace`);
  }
}

function lineAt(text, index) {
  let line = 1;
  for (let i = text.indexOf("\n"); i >= 0 && i < index; i = text.indexOf("\n", i + 1)) line++;
  return line;
}

function readJson(text, context) {
  try {
    return JSON.parse(text);
  } catch (error) {
    const at = /position (\d+)/.exec(error.message);
    const line = at ? lineAt(text, Number(at[1])) : 1;
    return fail(context, line, `invalid JSON: ${error.message.replace(/\s+/g, " ")}`);
  }
}

function isPlainObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function checkDocument(doc, context) {
  if (!isPlainObject(doc)) fail(context, 1, "a JSON trace must be an object");
  for (const key of Object.keys(doc)) {
    if (!JSON_FIELDS.has(key)) fail(context, 1, `unknown field "${key}" (expected format, version, ids, options, ops)`);
  }
  if (doc.format !== "heaplab-trace") fail(context, 1, `"format" must be "heaplab-trace", found ${show(doc.format)}`);
  if (doc.version !== 1) fail(context, 1, `unsupported "version" ${show(doc.version)} (this reader knows version 1)`);
  if (doc.ids !== undefined && !(Number.isInteger(doc.ids) && doc.ids >= 0 && doc.ids <= context.maxOps)) {
    fail(context, 1, `"ids" must be an integer from 0 to ${context.maxOps}, found ${show(doc.ids)}`);
  }
  checkOptions(doc.options, context);
  if (!Array.isArray(doc.ops)) fail(context, 1, `"ops" must be an array of operations, found ${show(doc.ops)}`);
  if (doc.ops.length > context.maxOps) {
    fail(context, 1, `trace has ${doc.ops.length} operations, above the limit of ${context.maxOps}`);
  }
}

function checkOptions(options, context) {
  if (options === undefined) return;
  if (!isPlainObject(options)) fail(context, 1, `"options" must be an object, found ${show(options)}`);
  for (const [key, value] of Object.entries(options)) {
    if (!["string", "number", "boolean"].includes(typeof value)) {
      fail(context, 1, `option "${key}" must be a string, number or boolean, found ${show(value)}`);
    }
  }
}

/** Checks one JSON integer field, in the words of the Rust `.rep` reader. */
function jsonInteger(value, what, max, context, line) {
  if (Number.isInteger(value) && value >= 0 && value <= max) return value;
  if (typeof value === "number" && value < 0) fail(context, line, `negative ${what} ${value}`);
  if (!Number.isInteger(value)) fail(context, line, `${what} ${show(value)} is not a non-negative integer`);
  return fail(context, line, `${what} ${value} is above the limit of ${max}`);
}

function jsonOperation(entry, line, context, lifecycle) {
  if (!Array.isArray(entry)) fail(context, line, `an operation must be an array like ["a", 0, 24], found ${show(entry)}`);
  const op = entry[0];
  if (typeof op !== "string" || FIELDS[op] === undefined) {
    fail(context, line, `unknown operation ${show(op)} (expected "a", "f" or "r")`);
  }
  if (entry.length !== FIELDS[op]) fail(context, line, `${USAGE[op]} takes ${FIELDS[op]} fields, found ${entry.length}`);
  const id = jsonInteger(entry[1], "id", context.maxOps, context, line);
  const size = op === "f" ? 0 : jsonInteger(entry[2], "size", context.maxSize, context, line);
  lifecycle.apply(op, id, line);
  return makeOp(op, id, size, line);
}

// ---------------------------------------------------------------------------
// Writing traces.

function checkedOps(trace) {
  if (!Array.isArray(trace?.ops)) throw new TypeError("a trace is an object with an `ops` array");
  for (const op of trace.ops) {
    const sized = op?.op === "a" || op?.op === "r";
    if (!sized && op?.op !== "f") throw new TypeError(`unknown operation ${show(op?.op)} in trace`);
    if (!Number.isInteger(op.id) || (sized && !Number.isInteger(op.size))) {
      throw new TypeError(`operation ${JSON.stringify(op)} needs an integer id${sized ? " and size" : ""}`);
    }
  }
  return trace.ops;
}

/** The number of ids to declare: the trace's own, but at least the largest id + 1. */
function idCount(trace, ops) {
  let ids = Number.isInteger(trace.ids) ? trace.ids : 0;
  for (const { id } of ops) if (id >= ids) ids = id + 1;
  return ids;
}

/** Peak of the live requested bytes: what a classic header suggests as heap size. */
function peakLiveBytes(ops, ids) {
  const sizes = new Float64Array(ids);
  let live = 0;
  let peak = 0;
  for (const { op, id, size } of ops) {
    const next = op === "f" ? 0 : size;
    live += next - sizes[id];
    sizes[id] = next;
    if (live > peak) peak = live;
  }
  return peak;
}

function repLineOf(op) {
  return op.op === "f" ? `f ${op.id}` : `${op.op} ${op.id} ${op.size}`;
}

/**
 * Writes a trace in the malloc-lab `.rep` format.
 * @param {object} trace `{ ops, ids? }` as `parseTrace` returns it
 * @param {object} [options] `{ header: "short" | "classic" }`; classic writes
 *   the peak of live requested bytes as suggested heap size and weight 1
 * @returns {string} one line per header number and operation, ending in a newline
 */
export function toRep(trace, { header = "short" } = {}) {
  const ops = checkedOps(trace);
  const ids = idCount(trace, ops);
  let lines;
  if (header === "short") lines = [ids, ops.length];
  else if (header === "classic") lines = [peakLiveBytes(ops, ids), ids, ops.length, 1];
  else throw new TypeError(`unknown header "${header}" (expected "short" or "classic")`);
  for (let i = 0; i < ops.length; i++) lines.push(repLineOf(ops[i]));
  return `${lines.join("\n")}\n`;
}

/**
 * Writes a trace in the Heaplab JSON format (see the module docs): operation i
 * stands on text line i + 1. Keeps `options` when the trace has them.
 * @param {object} trace `{ ops, ids?, options? }`
 * @returns {string}
 */
export function toJson(trace) {
  const ops = checkedOps(trace);
  const head = { format: "heaplab-trace", version: 1, ids: idCount(trace, ops) };
  if (trace.options !== undefined) head.options = trace.options;
  const entries = ops.map((op) => (op.op === "f" ? `["f",${op.id}]` : `["${op.op}",${op.id},${op.size}]`));
  return `${JSON.stringify(head).slice(0, -1)},"ops":[${entries.join(",\n")}]}\n`;
}
