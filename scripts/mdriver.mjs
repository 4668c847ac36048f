#!/usr/bin/env node
// The trace driver: replays allocation traces on Heaplab heaps and checks every
// operation as the CS:APP malloc-lab driver does.
//
//   npm run mdriver -- [--policy P|all] [--align 8|16] [--runs N] [--quiet] [--json] trace.rep ...
//
// With no trace named, it replays every `.rep` file of ../shared/traces/malloclab/.
// Traces are malloc-lab `.rep` files (either header) or Heaplab JSON traces
// (see web/src/trace.js). For each trace and policy it runs:
//   1. a checked replay on a fresh heap: after each operation the payload must
//      be aligned, lie inside one of the heap's segments and overlap no live
//      payload (a sorted index of live payloads, O(log n) per operation); each
//      payload carries a byte pattern of its id, and realloc must keep it, as
//      must every operation on other blocks until the payload is freed. The
//      pattern covers the first and last PATTERN_BYTES bytes of a payload (the
//      whole payload when it is smaller), so that checking costs the same for
//      a 16-byte and a 1 MiB block. At the end, `heap.check()` must pass;
//   2. timed replays (`--runs`, default 1, the fastest counts) on fresh heaps,
//      without checks, so that seconds and Kops/s measure the allocator only.
// Utilization is malloc-lab's: the peak over time of the live requested bytes
// divided by the heap's high-water mark (`stats().highWaterMark`) at the end.
//
// Output: a table per trace and policy, then a summary comparing policies
// (mean utilization, total Kops/s); `--json` prints the same as JSON instead.
// A malformed trace is reported on stderr as `file:line: reason` and the other
// traces still run. Exit status: 0 when every trace parsed and every run was
// valid, 1 otherwise, 2 for a usage error or when the wasm package is missing.
//
// The core, `replay(trace, heap, options)`, takes any object with the methods
// of `Heap` (malloc, free, realloc, read, write, stats, segments), so tests can
// drive it with a fake heap; the wasm package is imported only when needed
// (to read the traces: the `.rep` reader is Heaplab's Rust one, in wasm).
import { readdirSync, existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** The heap's fit policies, in the order the tables list them, and the kernel heap (slab caches and kmalloc over a buddy allocator). */
export const POLICIES = Object.freeze(["first-fit", "next-fit", "best-fit", "worst-fit", "segregated", "kmalloc"]);

/** Bytes of the id pattern written and checked at each end of a payload. */
export const PATTERN_BYTES = 64;

const TRACE_DIR = new URL("../../shared/traces/malloclab/", import.meta.url);
const WASM = new URL("../web/pkg/heaplab_bg.wasm", import.meta.url);

// ---------------------------------------------------------------------------
// Live payloads in address order: a treap (binary search tree ordered by
// address, heap-ordered by random priority), so that insert, remove and the
// neighbour lookups take O(log n) expected time.

export class PayloadIndex {
  #start = [];
  #end = [];
  #id = [];
  #left = [];
  #right = [];
  #priority = [];
  #spare = []; // nodes to reuse
  #root = -1;
  #seed = 0x2545f491;
  #lo = -1; // results of #split
  #hi = -1;
  size = 0;

  /** Adds payload [start, end) of `id`; the caller has checked it overlaps nothing. */
  insert(start, end, id) {
    const node = this.#node(start, end, id);
    this.#split(this.#root, start);
    const hi = this.#hi;
    this.#root = this.#merge(this.#merge(this.#lo, node), hi);
    this.size++;
  }

  /** Removes the payload starting at `start`; returns whether there was one. */
  remove(start) {
    this.#split(this.#root, start);
    const lo = this.#lo;
    this.#split(this.#hi, start + 1);
    const found = this.#lo;
    this.#root = this.#merge(lo, this.#hi);
    if (found < 0) return false;
    this.#spare.push(found);
    this.size--;
    return true;
  }

  /** The live payload that shares a byte with [start, end), or null. */
  overlapping(start, end) {
    const below = this.#floor(start);
    if (below >= 0 && this.#end[below] > start) return this.#describe(below);
    const above = this.#ceiling(start);
    if (above >= 0 && this.#start[above] < end) return this.#describe(above);
    return null;
  }

  #describe(node) {
    return { start: this.#start[node], end: this.#end[node], id: this.#id[node] };
  }

  #node(start, end, id) {
    const node = this.#spare.length > 0 ? this.#spare.pop() : this.#start.length;
    this.#start[node] = start;
    this.#end[node] = end;
    this.#id[node] = id;
    this.#left[node] = -1;
    this.#right[node] = -1;
    this.#priority[node] = this.#random();
    return node;
  }

  #random() {
    let x = this.#seed; // xorshift32: deterministic, good enough for balance
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#seed = x >>> 0;
    return this.#seed;
  }

  /** Splits tree `t` into #lo (starts below `key`) and #hi (the rest). */
  #split(t, key) {
    if (t < 0) {
      this.#lo = -1;
      this.#hi = -1;
    } else if (this.#start[t] < key) {
      this.#split(this.#right[t], key);
      this.#right[t] = this.#lo;
      this.#lo = t;
    } else {
      this.#split(this.#left[t], key);
      this.#left[t] = this.#hi;
      this.#hi = t;
    }
  }

  /** Joins trees `a` and `b`, every start in `a` being below every start in `b`. */
  #merge(a, b) {
    if (a < 0) return b;
    if (b < 0) return a;
    if (this.#priority[a] > this.#priority[b]) {
      this.#right[a] = this.#merge(this.#right[a], b);
      return a;
    }
    this.#left[b] = this.#merge(a, this.#left[b]);
    return b;
  }

  /** The node with the largest start ≤ x, or -1. */
  #floor(x) {
    let best = -1;
    for (let t = this.#root; t >= 0; ) {
      if (this.#start[t] <= x) {
        best = t;
        t = this.#right[t];
      } else t = this.#left[t];
    }
    return best;
  }

  /** The node with the smallest start ≥ x, or -1. */
  #ceiling(x) {
    let best = -1;
    for (let t = this.#root; t >= 0; ) {
      if (this.#start[t] >= x) {
        best = t;
        t = this.#left[t];
      } else t = this.#right[t];
    }
    return best;
  }
}

// ---------------------------------------------------------------------------
// Replaying a trace on one heap.

/** A check that failed: the replay stops at the operation that caused it. */
class CheckFailure extends Error {}

const hex = (address) => `0x${address.toString(16)}`;

function opText(op) {
  return op.op === "f" ? `f ${op.id}` : `${op.op} ${op.id} ${op.size}`;
}

/** The byte at `offset` of the pattern of `id`. */
function patternByte(id, offset) {
  return ((Math.imul(id + 1, 0x9e3779b1) >>> 24) + offset * 7) & 255;
}

/**
 * Where a payload of `size` bytes carries the pattern: the whole payload when
 * it is small, else a prefix and a suffix of PATTERN_BYTES. Calls `visit(from, to)`.
 */
function forPatternRanges(size, visit) {
  if (size <= 2 * PATTERN_BYTES) {
    visit(0, size);
  } else {
    visit(0, PATTERN_BYTES);
    visit(size - PATTERN_BYTES, size);
  }
}

class Replay {
  constructor(trace, heap, { check = true, align = 8 } = {}) {
    this.trace = trace;
    this.heap = heap;
    this.check = check;
    this.align = align;
    const ids = Math.max(trace.ids ?? 0, 1 + trace.ops.reduce((max, op) => Math.max(max, op.id), -1));
    this.address = new Float64Array(ids);
    this.size = new Float64Array(ids);
    this.since = new Int32Array(ids); // line of the operation that placed the payload
    this.isLive = new Uint8Array(ids);
    this.live = 0;
    this.peak = 0;
    this.index = new PayloadIndex();
    this.segments = [];
    this.scratch = new Uint8Array(2 * PATTERN_BYTES);
  }

  /** Runs every operation; returns the index of the first that failed, or ops.length. */
  run() {
    const { ops } = this.trace;
    let i = 0;
    try {
      if (this.check) for (; i < ops.length; i++) this.checkedStep(ops[i]);
      else for (; i < ops.length; i++) this.step(ops[i]);
      if (this.check) this.checkHeap();
    } catch (error) {
      this.failure = this.describe(ops[i], error);
    }
    return i;
  }

  describe(op, error) {
    const reason =
      error instanceof CheckFailure
        ? error.message
        : `${this.callText(op)} threw ${error?.code ?? "an error"}: ${error?.message ?? error}`;
    if (!op) return { line: null, operation: null, reason };
    return { line: op.line, operation: opText(op), reason };
  }

  /** The heap call of `op` as C would write it (before the call changed anything). */
  callText(op) {
    if (!op) return "check()";
    const address = hex(this.address[op.id]);
    if (op.op === "a") return `malloc(${op.size})`;
    return op.op === "r" ? `realloc(${address}, ${op.size})` : `free(${address})`;
  }

  /** The heap call of one operation, nothing else (what the timed run measures). */
  step(op) {
    const { id } = op;
    if (op.op === "a") {
      this.address[id] = this.heap.malloc(op.size);
    } else if (op.op === "r") {
      this.address[id] = this.heap.realloc(this.address[id], op.size);
    } else {
      this.heap.free(this.address[id]);
    }
    this.account(id, op.op === "f" ? 0 : op.size);
  }

  /** Keeps the live requested bytes and their peak, as malloc-lab counts them. */
  account(id, size) {
    this.live += size - this.size[id];
    this.size[id] = size;
    if (this.live > this.peak) this.peak = this.live;
  }

  checkedStep(op) {
    const { id } = op;
    const oldAddress = this.address[id];
    const oldSize = this.size[id];
    // `realloc(p, 0)` frees p, as glibc's (and CS:APP's mm_realloc) does.
    const frees = op.op === "f" || (op.op === "r" && op.size === 0);
    if (frees) this.verifyPattern(id, oldAddress, oldSize, oldSize, "before free");
    if (op.op !== "a" && oldSize > 0) this.index.remove(oldAddress); // empty payloads are not indexed
    this.step(op);
    this.isLive[id] = frees ? 0 : 1;
    if (frees) return;
    const address = this.address[id];
    this.checkPlacement(id, address, op.size);
    if (op.op === "r") this.verifyPattern(id, address, oldSize, Math.min(oldSize, op.size), "after realloc");
    this.writePattern(id, address, op.size);
    if (op.size > 0) this.index.insert(address, address + op.size, id);
    this.since[id] = op.line;
  }

  checkPlacement(id, address, size) {
    const range = () => `payload [${hex(address)}, ${hex(address + size)})`;
    if (!Number.isSafeInteger(address) || address <= 0) throw new CheckFailure(`the heap returned ${address}, not a payload address`);
    if (address % this.align !== 0) throw new CheckFailure(`${range()} is not aligned to ${this.align} bytes`);
    if (!this.insideHeap(address, size)) throw new CheckFailure(`${range()} is not inside the heap's segments`);
    const other = size > 0 ? this.index.overlapping(address, address + size) : null;
    if (other) {
      const where = `[${hex(other.start)}, ${hex(other.end)}) of id ${other.id} (line ${this.since[other.id]})`;
      throw new CheckFailure(`${range()} of id ${id} overlaps live payload ${where}`);
    }
  }

  /** Segments are re-read only when a payload is outside the ones known. */
  insideHeap(address, size) {
    if (this.inSegments(address, size)) return true;
    this.segments = this.heap.segments();
    return this.inSegments(address, size);
  }

  inSegments(address, size) {
    return this.segments.some(({ base, bytes }) => address >= base && address + size <= base + bytes);
  }

  writePattern(id, address, size) {
    forPatternRanges(size, (from, to) => {
      const bytes = this.scratch.subarray(0, to - from);
      for (let k = from; k < to; k++) bytes[k - from] = patternByte(id, k);
      this.heap.write(address + from, bytes);
    });
  }

  /** Checks the pattern a payload of `size` bytes carries, over its first `keep` bytes. */
  verifyPattern(id, address, size, keep, when) {
    forPatternRanges(size, (from, end) => {
      const to = Math.min(end, keep);
      if (to <= from) return;
      const bytes = this.heap.read(address + from, to - from);
      for (let k = from; k < to; k++) {
        if (bytes[k - from] !== patternByte(id, k)) {
          const found = `byte ${k} at ${hex(address + k)} is ${bytes[k - from]}, expected ${patternByte(id, k)}`;
          throw new CheckFailure(`payload of id ${id} changed ${when}: ${found}`);
        }
      }
    });
  }

  /** At the end: payloads still live are intact, and the heap's own check passes. */
  checkHeap() {
    for (let id = 0; id < this.isLive.length; id++) {
      if (this.isLive[id]) this.verifyPattern(id, this.address[id], this.size[id], this.size[id], "by the end of the trace");
    }
    if (typeof this.heap.check !== "function") return;
    try {
      this.heap.check();
    } catch (error) {
      throw new CheckFailure(`heap check failed at the end: ${error?.message ?? error}`);
    }
  }
}

/**
 * Replays `trace` on `heap` (anything with Heap's methods).
 * @param {object} trace as `parseTrace` returns it
 * @param {object} heap `malloc`, `free`, `realloc`, `stats`; with `check`, also
 *   `read`, `write`, `segments` (and `check()` when it has one)
 * @param {object} [options] `{ check = true, align = 8 }`
 * @returns {{ valid: boolean, failure: null | { line, operation, reason },
 *   operations: number, peakLive: number, highWater: number,
 *   utilization: number, seconds: number }} `operations` counts the
 *   operations done before any failure; `seconds` times the replay loop only
 */
export function replay(trace, heap, options = {}) {
  const run = new Replay(trace, heap, options);
  const started = performance.now();
  const done = run.run();
  const seconds = (performance.now() - started) / 1000;
  const highWater = safeHighWater(heap);
  return {
    valid: !run.failure,
    failure: run.failure ?? null,
    operations: done,
    peakLive: run.peak,
    highWater,
    utilization: highWater > 0 ? run.peak / highWater : 0,
    seconds,
  };
}

function safeHighWater(heap) {
  try {
    return heap.stats().highWaterMark ?? 0;
  } catch {
    return 0;
  }
}

/**
 * Runs one trace with one policy: a checked replay, then `runs` timed ones.
 * @param {function} makeHeap `(options) => heap`, e.g. `(o) => new Heap(o)`
 * @returns {object} `replay`'s result plus `trace`, `policy`, `kops`; seconds
 *   and kops are those of the fastest timed run (null when the check failed)
 */
export function runTrace(trace, policy, makeHeap, { align = 8, runs = 1 } = {}) {
  const checked = withHeap(makeHeap, { policy, align }, (heap) => replay(trace, heap, { check: true, align }));
  let seconds = null;
  if (checked.valid) {
    for (let r = 0; r < runs; r++) {
      const timed = withHeap(makeHeap, { policy, align }, (heap) => replay(trace, heap, { check: false, align }));
      if (timed.valid && (seconds === null || timed.seconds < seconds)) seconds = timed.seconds;
    }
  }
  const kops = seconds > 0 ? trace.ops.length / seconds / 1000 : null;
  return { trace: trace.name, policy, ...checked, seconds, kops };
}

function withHeap(makeHeap, options, use) {
  const heap = makeHeap(options);
  try {
    return use(heap);
  } finally {
    heap.dispose?.();
  }
}

/** Per policy: runs, valid runs, mean utilization, operations, seconds, Kops/s. */
export function summarize(results, policies = POLICIES) {
  return policies
    .map((policy) => {
      const mine = results.filter((r) => r.policy === policy);
      const valid = mine.filter((r) => r.valid);
      const operations = valid.reduce((sum, r) => sum + r.operations, 0);
      const seconds = valid.reduce((sum, r) => sum + (r.seconds ?? 0), 0);
      const meanUtilization = valid.length ? valid.reduce((sum, r) => sum + r.utilization, 0) / valid.length : null;
      const kops = seconds > 0 ? operations / seconds / 1000 : null;
      return { policy, runs: mine.length, valid: valid.length, meanUtilization, operations, seconds, kops };
    })
    .filter((s) => s.runs > 0);
}

// ---------------------------------------------------------------------------
// Text output.

/**
 * Lays out rows of strings in columns; a column whose title starts with a space
 * is right-aligned. Returns the lines, title and rule included.
 */
export function formatTable(titles, rows) {
  const widths = titles.map((title, c) => Math.max(title.trim().length, ...rows.map((row) => String(row[c]).length)));
  const right = titles.map((title) => title.startsWith(" "));
  const line = (cells) =>
    cells
      .map((cell, c) => (right[c] ? String(cell).padStart(widths[c]) : String(cell).padEnd(widths[c])))
      .join("  ")
      .trimEnd();
  return [line(titles.map((t) => t.trim())), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)];
}

const percent = (x) => (x === null ? "-" : `${(100 * x).toFixed(1)}%`);
const decimal = (x, digits) => (x === null ? "-" : x.toFixed(digits));

function resultTable(results) {
  const rows = results.map((r) => [
    basename(r.trace),
    r.policy,
    r.valid ? "yes" : "no",
    percent(r.utilization),
    r.operations,
    decimal(r.seconds, 6),
    decimal(r.kops, 0),
  ]);
  return formatTable(["trace", "policy", "valid", " util", " ops", " secs", " Kops/s"], rows);
}

function summaryTable(summary) {
  const rows = summary.map((s) => [
    s.policy,
    `${s.valid}/${s.runs}`,
    percent(s.meanUtilization),
    s.operations,
    decimal(s.seconds, 6),
    decimal(s.kops, 0),
  ]);
  return formatTable(["policy", " valid", " mean util", " ops", " secs", " Kops/s"], rows);
}

function failureLines(results) {
  return results
    .filter((r) => !r.valid)
    .map(({ trace, policy, failure }) => {
      const where = failure.line === null ? "" : `:${failure.line} (${failure.operation})`;
      return `invalid: ${policy} on ${trace}${where}: ${failure.reason}`;
    });
}

// ---------------------------------------------------------------------------
// The command line.

const USAGE = `usage: mdriver [--policy P|all] [--align 8|16] [--runs N] [--quiet] [--json] [trace.rep|trace.json ...]
  --policy P   ${POLICIES.join(", ")} or all (default); repeat or separate with commas
  --align A    payload alignment, 8 (default) or 16
  --runs N     timed replays per trace and policy, the fastest counts (default 1)
  --quiet      print only the summary (and any failures)
  --json       print the results as JSON instead of tables
With no trace named, every .rep file of ../shared/traces/malloclab/ is replayed.`;

/** Stops the driver with status 2; `usage` says whether to print the usage. */
class DriverError extends Error {
  constructor(message, { usage = true } = {}) {
    super(message);
    this.usage = usage;
  }
}

/** Parses the command line into `{ policies, align, runs, quiet, json, files, help }`. */
export function parseArguments(argv) {
  const options = { policies: [], align: 8, runs: 1, quiet: false, json: false, files: [], help: false };
  const args = [...argv];
  while (args.length > 0) {
    const arg = args.shift();
    if (arg === "--") {
      options.files.push(...args.splice(0));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      options.files.push(arg);
      continue;
    }
    const [flag, inline] = arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    const value = () => {
      const v = inline ?? args.shift();
      if (v === undefined) throw new DriverError(`${flag} needs a value`);
      return v;
    };
    applyFlag(options, flag, value);
  }
  if (options.policies.length === 0) options.policies = [...POLICIES];
  options.policies = POLICIES.filter((p) => options.policies.includes(p));
  return options;
}

function applyFlag(options, flag, value) {
  if (flag === "--policy") {
    for (const p of value().split(",")) {
      if (p === "all") options.policies.push(...POLICIES);
      else if (POLICIES.includes(p)) options.policies.push(p);
      else throw new DriverError(`unknown policy "${p}" (expected ${POLICIES.join(", ")} or all)`);
    }
  } else if (flag === "--align") {
    const align = Number(value());
    if (align !== 8 && align !== 16) throw new DriverError("--align takes 8 or 16");
    options.align = align;
  } else if (flag === "--runs") {
    const runs = Number(value());
    if (!Number.isInteger(runs) || runs < 1) throw new DriverError("--runs takes a positive integer");
    options.runs = runs;
  } else if (flag === "--quiet" || flag === "-q") options.quiet = true;
  else if (flag === "--json") options.json = true;
  else if (flag === "--help" || flag === "-h") options.help = true;
  else throw new DriverError(`unknown option ${flag}`);
}

function defaultTraces() {
  if (!existsSync(TRACE_DIR)) return [];
  const dir = fileURLToPath(TRACE_DIR);
  return readdirSync(dir)
    .filter((f) => f.endsWith(".rep"))
    .sort()
    .map((f) => `${dir}${f}`);
}

/** Reads and parses each file; malformed ones are reported and left out. */
async function loadTraces(files, stderr) {
  const { parseTrace, TraceError } = await traceReader();
  const traces = [];
  const malformed = [];
  for (const file of files) {
    try {
      traces.push(parseTrace(await readFile(file), { name: file }));
    } catch (error) {
      const line = error instanceof TraceError ? error.line : null;
      const reason = error instanceof TraceError ? error.reason : `cannot read: ${error.message}`;
      stderr.write(line === null ? `${file}: ${reason}\n` : `${error.message}\n`);
      malformed.push({ file, line, reason });
    }
  }
  return { traces, malformed };
}

/** Stops with a usage-free error when the wasm package is not built. */
function requireWasm() {
  if (!existsSync(WASM)) {
    const missing = `the wasm package is not built (${fileURLToPath(WASM)} is missing): run \`npm run setup\``;
    throw new DriverError(missing, { usage: false });
  }
}

/** trace.js, with the wasm package it reads `.rep` files with loaded. */
async function traceReader() {
  requireWasm();
  const [trace, { init }] = await Promise.all([import("../web/src/trace.js"), import("../web/src/heaplab.js")]);
  await init();
  return trace;
}

/** `(options) => new Heap(options)` over the wasm package, loaded on first use. */
async function wasmHeapMaker() {
  requireWasm();
  const { init, Heap, Kernel, KMALLOC } = await import("../web/src/heaplab.js");
  await init();
  // kmalloc: malloc and free are kmalloc and kfree on a kernel heap (64 MiB of pages, its default).
  return (options) => (options.policy === KMALLOC ? new Kernel(options) : new Heap(options));
}

/**
 * Runs the driver. `io` may replace the streams and the heap factory (tests).
 * @param {string[]} argv the arguments after the script name
 * @param {object} [io] `{ stdout, stderr, makeHeap }`
 * @returns {Promise<number>} the exit status
 */
export async function main(argv, { stdout = process.stdout, stderr = process.stderr, makeHeap } = {}) {
  try {
    const options = parseArguments(argv);
    if (options.help) {
      stdout.write(`${USAGE}\n`);
      return 0;
    }
    const files = options.files.length ? options.files : defaultTraces();
    if (files.length === 0) throw new DriverError(`no trace named, and ${fileURLToPath(TRACE_DIR)} does not exist`);
    const { traces, malformed } = await loadTraces(files, stderr);
    const heapMaker = traces.length > 0 ? (makeHeap ?? (await wasmHeapMaker())) : null;
    const results = [];
    for (const trace of traces) {
      for (const policy of options.policies) results.push(runTrace(trace, policy, heapMaker, options));
    }
    report(stdout, options, results, malformed);
    return malformed.length === 0 && results.every((r) => r.valid) ? 0 : 1;
  } catch (error) {
    if (!(error instanceof DriverError)) throw error;
    stderr.write(`mdriver: ${error.message}\n${error.usage ? `${USAGE}\n` : ""}`);
    return 2;
  }
}

function report(stdout, options, results, malformed) {
  const summary = summarize(results, options.policies);
  if (options.json) {
    stdout.write(`${JSON.stringify({ results, summary, malformed }, null, 2)}\n`);
    return;
  }
  const lines = [];
  if (!options.quiet && results.length > 0) lines.push(...resultTable(results), "");
  lines.push(...failureLines(results));
  const traces = new Set(results.map((r) => r.trace)).size;
  if (summary.length > 0) lines.push(`Summary over ${traces} trace(s)`, ...summaryTable(summary));
  if (malformed.length > 0) lines.push(`${malformed.length} malformed trace(s) skipped`);
  stdout.write(`${lines.join("\n")}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
