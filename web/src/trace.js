// Allocation traces: reading and writing the operations a heap replays.
//
// A trace is a list of operations on small integer ids, the way the CS:APP
// malloc lab writes them. `parseTrace` reads two formats, `toRep` and `toJson`
// write them back; plain ES module, no dependencies, same in browser and Node.
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
// its line (the course driver has none; `toRep` never writes one).
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
// `.code = "malformed-trace"`, `.line` (1-based; see `line` above) and a
// message `name:line: reason`. Checked: the header (present, 2 or 4 numbers,
// one a line), field counts, operation letters, integers (no sign, fraction or
// exponent), sizes up to 2^31 bytes, ids below the declared number of ids, the
// lifecycle of each id (no free or realloc unless live, no malloc while live),
// the operation count against the header, binary data (NUL bytes, control
// characters, U+FFFD from invalid UTF-8), and the limits below. Document-level
// JSON errors (not an object, wrong format or version) are reported at line 1;
// a JSON syntax error at the text line where the JSON parser stopped, when the
// engine's message gives a position (else at line 1).

/** Limits on what `parseTrace` accepts (each can be overridden per call). */
export const TRACE_LIMITS = Object.freeze({
  maxOps: 2_000_000, // operations, and declared ids
  maxChars: 64 * 1024 * 1024, // characters of text (bytes of binary input)
  maxSize: 2 ** 31, // bytes of one request
});

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
 * Heaplab JSON format, detected from the first non-blank character.
 * @param {string|Uint8Array|ArrayBuffer} text the trace; bytes are decoded as UTF-8
 * @param {object} [options] `{ name = "trace", maxOps, maxChars, maxSize }`
 * @returns {{ ops: object[], ids: number, header: string, name: string, options?: object }}
 * @throws {TraceError} at the first bad line
 */
export function parseTrace(text, { name = "trace", ...limits } = {}) {
  const context = { name, ...TRACE_LIMITS, ...limits };
  const source = decode(text, context);
  const first = firstNonBlank(source);
  return first === "{" || first === "[" ? parseJson(source, context) : parseRep(source, context);
}

/** Throws the TraceError for `line` of the trace `context` describes. */
function fail(context, line, reason) {
  throw new TraceError(context.name, line, reason);
}

function decode(input, context) {
  const size = typeof input === "string" ? input.length : input?.byteLength;
  if (typeof size !== "number") throw new TypeError("parseTrace takes a string, a Uint8Array or an ArrayBuffer");
  if (size > context.maxChars) fail(context, 1, `trace is larger than the limit of ${context.maxChars} characters`);
  if (typeof input === "string") return input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  return new TextDecoder("utf-8").decode(input); // strips a BOM; bad bytes become U+FFFD
}

function firstNonBlank(text) {
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c !== " " && c !== "\t" && c !== "\r" && c !== "\n") return c;
  }
  return "";
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

// ---------------------------------------------------------------------------
// The lifecycle of ids, shared by both formats.

const NEVER = 0;
const LIVE = 1;
const FREED = 2;

/** Which ids are live; `limit` is the declared number of ids (or null). */
class Lifecycle {
  constructor(context, limit, unit) {
    this.context = context;
    this.limit = limit;
    this.unit = unit; // "line" or "operation", for "at line 12"
    this.state = new Uint8Array(limit ?? 64);
    this.since = new Int32Array(limit ?? 64); // line of the last malloc or free
    this.ids = 0; // largest id seen + 1
  }

  /** Validates `id` at `line` and returns its state. */
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

  allocate(id, line) {
    if (this.enter(id, line) === LIVE) {
      fail(this.context, line, `id ${id} allocated while still live (allocated at ${this.unit} ${this.since[id]})`);
    }
    this.state[id] = LIVE;
    this.since[id] = line;
  }

  reallocate(id, line) {
    const state = this.enter(id, line);
    if (state === NEVER) fail(this.context, line, `id ${id} reallocated before it was allocated`);
    if (state === FREED) fail(this.context, line, `id ${id} reallocated after it was freed (at ${this.unit} ${this.since[id]})`);
  }

  release(id, line) {
    const state = this.enter(id, line);
    if (state === NEVER) fail(this.context, line, `id ${id} freed before it was allocated`);
    if (state === FREED) fail(this.context, line, `id ${id} freed twice (first freed at ${this.unit} ${this.since[id]})`);
    this.state[id] = FREED;
    this.since[id] = line;
  }

  /** Records one operation after its fields were checked. */
  apply(op, id, line) {
    if (op === "a") this.allocate(id, line);
    else if (op === "r") this.reallocate(id, line);
    else this.release(id, line);
  }
}

function makeOp(op, id, size, line) {
  return op === "f" ? { op, id, line } : { op, id, size, line };
}

// ---------------------------------------------------------------------------
// The `.rep` format: a hand-written scanner, one pass, no regular expressions.

const MAX_FIELDS = 4; // more than the longest line needs, to report the count
const NOT_INTEGER = -1;
const NEGATIVE = -2;
const TOO_LONG = -3; // more digits than any limit allows

/** Splits text[start, end) into fields; returns their count (positions in `fields`). */
function scanFields(text, start, end, fields, context, line) {
  let count = 0;
  let i = start;
  while (i < end) {
    let c = text.charCodeAt(i);
    if (c === 32 || c === 9 || c === 13) {
      i++;
      continue;
    }
    if (c === 35) break; // '#': comment to the end of the line
    const first = i;
    while (i < end && c !== 32 && c !== 9 && c !== 13 && c !== 35) {
      if (c < 32 || c === 0xfffd || c === 127) rejectCharacter(c, context, line);
      c = text.charCodeAt(++i);
    }
    if (count < MAX_FIELDS) {
      fields[2 * count] = first;
      fields[2 * count + 1] = i;
    }
    count++;
  }
  return count;
}

function rejectCharacter(c, context, line) {
  if (c === 0) fail(context, line, "binary data (NUL byte), not a text trace");
  if (c === 0xfffd) fail(context, line, "binary data (invalid UTF-8), not a text trace");
  fail(context, line, `unexpected control character U+${c.toString(16).padStart(4, "0").toUpperCase()}`);
}

/** The non-negative decimal integer in text[start, end), or a negative code. */
function readInteger(text, start, end) {
  const first = text.charCodeAt(start);
  if (first === 45 && end - start > 1) return readInteger(text, start + 1, end) === NOT_INTEGER ? NOT_INTEGER : NEGATIVE;
  if (end - start > 15) return allDigits(text, start, end) ? TOO_LONG : NOT_INTEGER;
  let value = 0;
  for (let i = start; i < end; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return NOT_INTEGER;
    value = value * 10 + d;
  }
  return value;
}

function allDigits(text, start, end) {
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** Reads field `k` as an integer in [0, max]; `what` names it in the error. */
function integerField(state, k, what, max) {
  const { text, fields, context, line } = state;
  const start = fields[2 * k];
  const end = fields[2 * k + 1];
  const value = readInteger(text, start, end);
  if (value >= 0 && value <= max) return value;
  const shown = text.slice(start, end);
  if (value === NEGATIVE) fail(context, line, `negative ${what} ${shown}`);
  if (value === NOT_INTEGER) fail(context, line, `${what} '${shown}' is not a non-negative integer`);
  return fail(context, line, `${what} ${shown} is above the limit of ${max}`);
}

const HEADER_HELP = "expected 2 numbers (ids, operations) or 4 (heap size, ids, operations, weight), one a line";

function parseRep(text, context) {
  const state = {
    text,
    context,
    fields: new Int32Array(2 * MAX_FIELDS),
    line: 0,
    header: [], // [{ value, line }] while the header is read
    declared: null, // { ids, ops, line, variant } once it is complete
    lifecycle: null,
    ops: null, // sized once the header is read: growing an array of 1M costs more
    count: 0,
  };
  const length = text.length;
  let start = 0;
  while (start < length) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = length;
    state.line++;
    const count = scanFields(text, start, end, state.fields, context, state.line);
    if (count > 0) repLine(state, count);
    start = end + 1;
  }
  return finishRep(state);
}

/** Handles one non-blank line with `count` fields. */
function repLine(state, count) {
  if (state.declared === null) {
    if (!isLetter(state.text.charCodeAt(state.fields[0]))) return headerLine(state, count);
    closeHeader(state, state.line);
  }
  operationLine(state, count);
}

function isLetter(c) {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

function headerLine(state, count) {
  const { context, line, header } = state;
  if (count !== 1) fail(context, line, `header line holds ${count} fields; ${HEADER_HELP}`);
  if (header.length === 4) fail(context, line, `header has more than 4 numbers; ${HEADER_HELP}`);
  const value = integerField(state, 0, "header number", Number.MAX_SAFE_INTEGER);
  header.push({ value, line });
}

/** Turns the numbers read so far into the declared counts; `line` is where the header ended. */
function closeHeader(state, line) {
  const { header, context } = state;
  if (header.length === 0) {
    fail(context, line, "missing header: expected the number of ids and the number of operations before the first operation");
  }
  if (header.length !== 2 && header.length !== 4) {
    fail(context, header[header.length - 1].line, `header has ${header.length} numbers; ${HEADER_HELP}`);
  }
  const [ids, ops] = header.length === 4 ? header.slice(1, 3) : header;
  if (ids.value > context.maxOps) {
    fail(context, ids.line, `header declares ${ids.value} ids, above the limit of ${context.maxOps}`);
  }
  if (ops.value > context.maxOps) {
    fail(context, ops.line, `header declares ${ops.value} operations, above the limit of ${context.maxOps}`);
  }
  state.declared = { ids: ids.value, ops: ops.value, line: ops.line, variant: header.length === 4 ? "classic" : "short" };
  state.lifecycle = new Lifecycle(context, ids.value, "line");
  // An operation line holds at least 3 characters and a newline: no need for
  // more room than that, whatever the header claims.
  state.ops = new Array(Math.min(ops.value, Math.ceil(state.text.length / 4) + 1));
}

const FIELDS = { a: 3, r: 3, f: 2 };
const USAGE = { a: "'a id size'", r: "'r id size'", f: "'f id'" };

function operationLine(state, count) {
  const { text, fields, context, line, declared } = state;
  const op = fields[1] - fields[0] === 1 ? text[fields[0]] : "";
  if (FIELDS[op] === undefined) {
    fail(context, line, `unknown operation '${text.slice(fields[0], fields[1])}' (expected a, f or r)`);
  }
  if (count !== FIELDS[op]) fail(context, line, `${USAGE[op]} takes ${FIELDS[op]} fields, found ${count}`);
  if (state.count === declared.ops) {
    fail(context, line, `more operations than the ${declared.ops} declared in the header (line ${declared.line})`);
  }
  const id = integerField(state, 1, "id", context.maxOps);
  const size = op === "f" ? 0 : integerField(state, 2, "size", context.maxSize);
  state.lifecycle.apply(op, id, line);
  state.ops[state.count++] = makeOp(op, id, size, line);
}

function finishRep(state) {
  const { context } = state;
  if (state.declared === null) {
    if (state.header.length === 0) fail(context, 1, "empty trace: missing header");
    closeHeader(state, state.line);
  }
  const { declared, ops, count } = state;
  if (count !== declared.ops) {
    fail(context, declared.line, `header declares ${declared.ops} operations but the trace has ${count}`);
  }
  return { ops, ids: declared.ids, header: declared.variant, name: context.name };
}

// ---------------------------------------------------------------------------
// The JSON format.

const JSON_FIELDS = new Set(["format", "version", "ids", "options", "ops"]);

function parseJson(text, context) {
  rejectBinary(text, context);
  const doc = readJson(text, context);
  checkDocument(doc, context);
  const limit = doc.ids === undefined ? null : doc.ids;
  const lifecycle = new Lifecycle(context, limit, "operation");
  const ops = new Array(doc.ops.length);
  for (let i = 0; i < doc.ops.length; i++) ops[i] = jsonOperation(doc.ops[i], i + 1, context, lifecycle);
  const trace = { ops, ids: limit ?? lifecycle.ids, header: "json", name: context.name };
  if (doc.options !== undefined) trace.options = { ...doc.options };
  return trace;
}

/** NUL bytes and U+FFFD cannot be told apart from text once JSON.parse has run. */
function rejectBinary(text, context) {
  for (const c of ["\0", "\ufffd"]) {
    const at = text.indexOf(c);
    if (at >= 0) rejectCharacter(c.charCodeAt(0), context, lineAt(text, at));
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

/** Checks one JSON integer field; mirrors `integerField` of the `.rep` reader. */
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
