// The public JS API of Heaplab: one small hand-written module over the
// wasm-bindgen output in ../pkg. It works the same in the browser and in Node:
//
//   import { init, Heap } from "heaplab";
//   await init();
//   const heap = new Heap({ policy: "best-fit" });
//   const p = heap.malloc(24);
//   heap.free(p);
//
// wasm-bindgen gives each exported class a `free()` that disposes of the Rust
// object; here `free(address)` is C's free and disposal is `dispose()`.
import initBindings, { RawHeap, constants, parseTrace as wasmParseTrace, traceLimits as wasmTraceLimits } from "../pkg/heaplab.js";

// The vocabulary shared with the wasm module (policy names, list orders,
// run codes, page owners, block-table columns and flags) is defined once, in
// Rust, and reported by the module's `constants()`. The exports below are
// those objects: empty until `init()` resolves, then filled from the module
// and frozen. They are the same objects before and after, so a module may
// import them (or alias them, as session.js's POLICY_NAMES does) at load
// time; it must only read them after `init()`, as every heap needs anyway.

/** Every policy, in a stable order (the Rust `PolicyKind::ALL`). */
export const POLICIES = [];

/**
 * Orders of a free list (the `listOrder` option, and `order` of `Heap.freeLists()`),
 * the Rust `ListOrder::ALL`: "address" (first and next fit's default), "lifo"
 * (insert at front), "fifo" (insert at back), "size-asc" (best and worst fit's
 * default, their size index), "size-desc"; "size-class" is segregated fit's only
 * order (one LIFO list per size class).
 */
export const LIST_ORDERS = [];

/**
 * Columns of one row of the block table returned by `Heap.blocks()`:
 * ADDRESS (the block's header), SIZE (bytes, header included), PAYLOAD (header + 8),
 * REQUESTED (bytes the caller asked for; 0 for a free block), FLAGS (BLOCK_FLAG bits),
 * ID (allocation id, 0 for a free block), and COLUMNS, numbers per row.
 */
export const BLOCK = {};

/** Bits of the FLAGS column: USED, LARGE, QUICK (a freed block waiting on a quick list, set with USED). */
export const BLOCK_FLAG = {};

/** Owner codes of `Heap.pages()`, one byte per 4 KiB page: FREE, META, ARENA_HEAD, ARENA, LARGE_HEAD, LARGE. */
export const PAGE = {};

/** Operation codes of `Heap.run()`: MALLOC, FREE, REALLOC. */
export const RUN = {};

/** Fills the exports above from what the module reports, once, and freezes them. */
function adoptConstants(reported) {
  if (Object.isFrozen(POLICIES)) return;
  POLICIES.push(...reported.POLICIES);
  LIST_ORDERS.push(...reported.LIST_ORDERS);
  Object.assign(BLOCK, reported.BLOCK);
  Object.assign(BLOCK_FLAG, reported.BLOCK_FLAG);
  Object.assign(PAGE, reported.PAGE);
  Object.assign(RUN, reported.RUN);
  for (const shared of [POLICIES, LIST_ORDERS, BLOCK, BLOCK_FLAG, PAGE, RUN]) Object.freeze(shared);
}

/** Bytes in a page (the heap's logical page) and in a wasm page. */
export const PAGE_SIZE = 4096;
export const WASM_PAGE_SIZE = 65536;

let bindings = null;
let loading = null;
/** The compiled WebAssembly.Module, shared with workers (`wasmModule()`). */
let compiled = null;

/** The allocator's wasm file, beside the bindings (bundlers follow this URL and emit the file). */
const WASM_URL = new URL("../pkg/heaplab_bg.wasm", import.meta.url);

/**
 * Compiles the wasm file once: read from disk in Node, else fetched (streamed
 * when the server says application/wasm, else from the bytes).
 */
async function compile(url) {
  if (typeof process !== "undefined" && process.versions?.node && url.protocol === "file:") {
    // Node's own module (Node 20.16+), reached without an import that a bundler of a browser build would try to resolve.
    const { readFile } = process.getBuiltinModule("node:fs/promises");
    return WebAssembly.compile(await readFile(url));
  }
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url} answered HTTP ${response.status}`);
  if (typeof WebAssembly.compileStreaming === "function" && response.headers.get("Content-Type")?.startsWith("application/wasm")) {
    return WebAssembly.compileStreaming(response);
  }
  return WebAssembly.compile(await response.arrayBuffer());
}

/**
 * Loads and instantiates the wasm module once; later calls return the same
 * promise, so every heap and every <heap-playground> on a page shares one
 * module, compiled once. In Node the `.wasm` file is read from disk; in the
 * browser it is fetched from beside this module (`import.meta.url`).
 * @param {object} [source] optional `{ module_or_path }` override (URL, bytes or a WebAssembly.Module)
 */
export function init(source) {
  loading ??= (async () => {
    let input = source;
    if (!input) input = { module_or_path: await compile(WASM_URL) };
    const given = input?.module_or_path ?? input;
    if (typeof WebAssembly !== "undefined" && given instanceof WebAssembly.Module) compiled = given;
    bindings = await initBindings(input);
    adoptConstants(constants());
    return bindings;
  })();
  return loading;
}

/**
 * The compiled wasm module once `init()` has resolved (null before, or when
 * `init` was given bytes or a URL): a worker given it instantiates the same
 * module without fetching or compiling it again.
 */
export function wasmModule() {
  return compiled;
}

/** The module's wasm memory once `init()` has resolved, else null (the kernel heap reads and copies bytes through it). */
export function wasmMemory() {
  return bindings?.memory ?? null;
}

/** Whether `error` is a wasm trap, or wasm-bindgen's report of an object a trap left borrowed. */
export function isTrap(error) {
  if (typeof WebAssembly !== "undefined" && error instanceof WebAssembly.RuntimeError) return true;
  return /recursive use of an object detected|attempted to take ownership of Rust value while it was borrowed/.test(String(error?.message ?? ""));
}

/**
 * The memory limit of a heap created without `maxBytes`: 256 MiB. A heap
 * beyond it fails with "out-of-memory" instead of growing wasm memory towards
 * 4 GiB (a share link of a few bytes could otherwise ask for 2 GiB). Pass a
 * larger `maxBytes` to raise it.
 */
export const DEFAULT_MAX_BYTES = 256 * 1024 * 1024;

/** Turns an error thrown by the Rust side into an Error with a stable `code`. */
function coded(error) {
  // A wasm trap (or the wasm object left borrowed by one): the heap cannot be
  // used again; its owner rebuilds it (session.js does, from the timeline).
  if (isTrap(error)) return Object.assign(error instanceof Error ? error : new Error(String(error?.message ?? error)), { code: "trap" });
  if (error instanceof Error) return error;
  const e = new Error(String(error?.message ?? error));
  e.code = error?.code ?? "internal";
  return e;
}

function call(fn) {
  try {
    return fn();
  } catch (error) {
    throw coded(error);
  }
}

function codedError(code, message) {
  return Object.assign(new Error(message), { code });
}

/** `run()`'s operands: every one a whole number in 0 … 2^32 - 1 (NaN, 1.5, -1 and "12" are not quietly converted). */
function opsArray(ops) {
  if (ops instanceof Uint32Array) return ops;
  if (!Array.isArray(ops)) throw codedError("invalid-trace", "run() takes a Uint32Array or an array of numbers");
  for (let i = 0; i < ops.length; i++) {
    const v = ops[i];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 0xffffffff) {
      throw Object.assign(codedError("invalid-trace", `run(): operand ${i} is ${typeof v === "string" ? `"${v.slice(0, 20)}"` : String(v)}, not a whole number from 0 to 2^32 - 1`), { index: Math.floor(i / 3) });
    }
  }
  return Uint32Array.from(ops);
}

/** `write()`'s bytes: a Uint8Array, or an array of whole numbers 0 … 255. */
function byteArray(bytes) {
  if (bytes instanceof Uint8Array) return bytes;
  if (!Array.isArray(bytes) || !bytes.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) {
    throw codedError("invalid-bytes", "write() takes a Uint8Array or an array of whole numbers from 0 to 255");
  }
  return Uint8Array.from(bytes);
}

/** Sizes, counts and addresses must be numbers: "12" is not quietly converted. */
function number(value, code, what) {
  if (typeof value !== "number") throw codedError(code, `${what} must be a number, got ${typeof value}`);
  return value;
}

/**
 * Reads malloc-lab `.rep` text (a string, or its bytes as a Uint8Array or
 * ArrayBuffer) with Heaplab's one `.rep` reader, in Rust, every id's
 * lifecycle checked: `{ ids, header, ops, lines }`, `header` "short" or
 * "classic", `ops` a Uint32Array of `(RUN code, id, size)` triples for
 * `Heap.run`, `lines[i]` the 1-based text line of operation i. Throws an
 * Error with code "invalid-trace", `line` (1-based) of the first bad line and
 * `reason` (the message without the line). `web/src/trace.js` reads it in
 * the shape the page uses.
 */
export function parseTrace(text) {
  if (!bindings) throw codedError("not-initialised", "Heaplab is not initialised: await init() before parsing a trace");
  const bytes = typeof text === "string" ? new TextEncoder().encode(text) : text instanceof ArrayBuffer ? new Uint8Array(text) : text;
  return call(() => wasmParseTrace(bytes));
}

/**
 * What the trace readers accept at most: `{ maxOps, maxSize, maxBytes }`,
 * operations (and declared ids), bytes of one request, bytes of text. The
 * Rust reader's own limits, so that both trace formats have the same.
 */
export function traceLimits() {
  if (!bindings) throw codedError("not-initialised", "Heaplab is not initialised: await init() before asking the trace limits");
  return wasmTraceLimits();
}

/** A saved heap (`Heap.save()`); `dispose()` releases its copy of the memory. */
export class SavedHeap {
  #raw;
  constructor(raw) {
    this.#raw = raw;
  }
  /** The wasm object (for `Heap.restore`). */
  get raw() {
    if (!this.#raw) throw codedError("disposed", "this saved heap was disposed");
    return this.#raw;
  }
  dispose() {
    this.#raw?.free();
    this.#raw = null;
  }
}

/** A heap living in wasm linear memory. Several heaps can live at once. */
export class Heap {
  #raw;

  /** @param {object} [options] `{ policy, align, maxBytes, coalesce, splitMin, listOrder, quickLists }` */
  constructor(options = {}) {
    if (!bindings) throw codedError("not-initialised", "Heaplab is not initialised: await init() before creating a Heap");
    const withLimit = options?.maxBytes === undefined || options?.maxBytes === null ? { ...options, maxBytes: DEFAULT_MAX_BYTES } : options;
    this.#raw = call(() => new RawHeap(withLimit));
  }

  /** The wasm object; throws once the heap is disposed. */
  get #live() {
    if (!this.#raw) throw codedError("disposed", "this heap was disposed");
    return this.#raw;
  }

  /** The options this heap runs with, defaults filled in. */
  get options() {
    return call(() => this.#live.options());
  }

  /** Allocates `size` bytes; returns the payload's address in wasm memory. As in glibc, `malloc(0)` returns a unique minimum-size block. */
  malloc(size, align = 0) {
    number(size, "invalid-size", "size");
    number(align, "invalid-align", "align");
    return call(() => this.#live.malloc(size, align));
  }

  /** Frees the block whose payload starts at `address`. As in C, `free(NULL)` (0 or null) does nothing. */
  free(address) {
    if (address === 0 || address === null) return;
    number(address, "invalid-free", "address");
    call(() => this.#live.freeAddress(address));
  }

  /**
   * Resizes the block at `address`; returns the (possibly moved) payload's
   * address. As in C, `realloc(NULL, size)` (0 or null) is `malloc(size)`;
   * as in glibc, `realloc(p, 0)` frees `p` and returns 0 (NULL).
   */
  realloc(address, size) {
    if (address === 0 || address === null) return this.malloc(size);
    number(address, "invalid-free", "address");
    number(size, "invalid-size", "size");
    return call(() => this.#live.realloc(address, size));
  }

  /** Allocates `count * size` zeroed bytes (overflow-checked). */
  calloc(count, size) {
    number(count, "invalid-size", "count");
    number(size, "invalid-size", "size");
    return call(() => this.#live.calloc(count, size));
  }

  /**
   * The allocation id of the live block whose payload starts at `address`
   * (0 when none). The heap numbers its allocations 1, 2, ... in order (the
   * ID column of `blocks()`); `run()` gives trace id t the id t + 1.
   */
  idOf(address) {
    return call(() => this.#live.idOf(address));
  }

  /** The payload address of live allocation `id`, or 0 (freed, or never allocated). */
  addressOf(id) {
    return call(() => this.#live.addressOf(id));
  }

  /**
   * The id the next `malloc` or `calloc` gets. Setting it makes a replay keep
   * its recorded ids (later allocations count on from it); an id still
   * allocated then fails the allocation with code "invalid-id".
   */
  get nextId() {
    return call(() => this.#live.nextId());
  }

  set nextId(id) {
    number(id, "invalid-id", "id");
    call(() => this.#live.setNextId(id));
  }

  /** A copy of `length` bytes at `address` (inside the heap's pages only). */
  read(address, length) {
    number(address, "out-of-bounds", "address");
    number(length, "out-of-bounds", "length");
    return call(() => this.#live.read(address, length));
  }

  /** Writes `bytes` (a Uint8Array) at `address` (inside the heap's pages only). */
  write(address, bytes) {
    number(address, "out-of-bounds", "address");
    call(() => this.#live.write(address, byteArray(bytes)));
  }

  /**
   * Merges the blocks waiting on the quick lists (heaps made with
   * `quickLists: true`) back into the free list; whether there were any.
   * Its events (the merges, then one `flush`) are `lastEvents()`.
   */
  flush() {
    return call(() => this.#live.flush());
  }

  /** What the last operation did: `[{ kind, ... }]` events, for step-through. */
  lastEvents() {
    return call(() => this.#live.lastEvents());
  }

  /**
   * The block table: a Uint32Array view into wasm memory, BLOCK.COLUMNS numbers
   * per block, in address order. Re-read it after any call that may grow memory.
   */
  blocks() {
    return call(() => this.#live.blocks());
  }

  /** One owner byte (PAGE codes) per 4 KiB page of every segment, in segment order. */
  pages() {
    return call(() => this.#live.pages());
  }

  /**
   * The free blocks in the order the policy's search walks them, then the
   * blocks waiting on quick lists:
   * `{ order, rover, lists: [{ label, min, max, quick, blocks }] }`. `order` is one of
   * LIST_ORDERS; `rover` is next fit's roving pointer (the block address where
   * the next search starts), else null; `lists` holds one list for first, next,
   * best and worst fit (label "free list", min 0, max 2^32 - 1) and one per
   * non-empty size class for segregated fit (label "24 B" or "992-1023 B", the
   * class's block sizes min..max), smallest class first; `quick` false. After
   * them, for heaps with `quickLists`, one list per non-empty quick list
   * (label "quick 24 B", min = max = its block size, `quick` true), smallest
   * first, each in the order `malloc` takes its blocks back. `blocks` are block
   * (header) addresses, as column ADDRESS of `blocks()`; every free block of
   * `blocks()` is on exactly one free list, every quick one (BLOCK_FLAG.QUICK)
   * on exactly one quick list.
   */
  freeLists() {
    return call(() => this.#live.freeLists());
  }

  /** The heap's segments: `[{ base, bytes }]` in address order. */
  segments() {
    return call(() => this.#live.segments());
  }

  /** The heap's figures (see the README for each field). */
  stats() {
    return call(() => this.#live.stats());
  }

  /** Throws an Error (code "corrupt-heap") naming the first broken invariant. */
  check() {
    call(() => this.#live.check());
  }

  /** Frees every block, keeping the memory already obtained. */
  reset() {
    call(() => this.#live.reset());
  }

  /**
   * Runs trace operations inside wasm, without a JS call each: `ops` is a
   * Uint32Array (or array) of `(code, id, size)` triples, code RUN.MALLOC,
   * RUN.FREE or RUN.REALLOC, `id` a trace id (its block's allocation id is
   * id + 1). Stops at the first failure and throws it with `index`, the
   * failing triple's position; the operations before it are done.
   */
  run(ops) {
    call(() => this.#live.run(opsArray(ops)));
  }

  /** Saves the whole heap, to come back to it with `restore(saved)`. */
  save() {
    return new SavedHeap(this.#live.save());
  }

  /** Puts the heap back as it was at `saved` (any number of times). */
  restore(saved) {
    if (!(saved instanceof SavedHeap)) throw codedError("invalid-save", "restore() takes what save() returned");
    call(() => this.#live.restore(saved.raw));
  }

  /** Releases the Rust object; the heap cannot be used afterwards. */
  dispose() {
    this.#raw?.free();
    this.#raw = null;
  }
}

export { Kernel, KMALLOC } from "./kernel.js";
