// The production allocators on the compare page: talc, rlsf, dlmalloc,
// linked_list_allocator and buddy_system_allocator, each the wasm module the
// benchmark builds (crate/bench/wasm/<peer>) replaying the trace through its
// trace exports (crate/peers: the allocator over its own region of 4 KiB
// pages). PeerHeap gives them the face of heaplab's Heap that a comparison
// uses (run, stats, blocks, pages, segments, freeLists, save, restore), so
// engine.js's PolicyRun replays, samples, times and seeks them as it does
// the fits.
//
// What is known of every allocator is drawn: each live payload at its
// address with its size, and the rest of its pages as the allocator's
// (headers, metadata and free space it does not tell apart). Where it
// exposes its free blocks (linked_list_allocator's holes, rlsf's block walk)
// they are free blocks, and linked_list_allocator's hole list (address
// order) gets its arrows. Figures it cannot give (blocks examined, and
// fragmentation where free blocks are unknown) are null.
import { BLOCK, BLOCK_FLAG, PAGE, PAGE_SIZE, RUN, DEFAULT_MAX_BYTES } from "../heaplab.js";
import { registerHeaps } from "../heap-factory.js";

/**
 * The production allocators, in the order the page lists them: `key` (the
 * policy name everywhere), `file` (the module), `about` (one line for the
 * policy list), `freeBlocks` ("list" with its order drawn, "blocks", or null).
 */
export const PEERS = Object.freeze([
  { key: "talc", file: "talc", about: "talc 5: segregated free lists with boundary tags (a Rust allocator for wasm and kernels)", freeBlocks: null },
  { key: "rlsf", file: "rlsf", about: "rlsf: TLSF, two-level segregated fit in constant time", freeBlocks: "blocks" },
  { key: "dlmalloc", file: "dlmalloc", about: "dlmalloc: Doug Lea's malloc, Rust's own allocator on wasm32", freeBlocks: null },
  { key: "linked_list_allocator", file: "lla", about: "linked_list_allocator: first fit over one address-ordered hole list, no headers", freeBlocks: "list" },
  { key: "buddy_system_allocator", file: "buddy", about: "buddy_system_allocator: power-of-two blocks merged with their buddy", freeBlocks: null },
]);

const BY_KEY = new Map(PEERS.map((p) => [p.key, p]));

/** Whether a policy name is a production allocator's. */
export const isPeer = (policy) => BY_KEY.has(policy);

/** Where each module is (written out so that Vite copies every one into the build). */
const URLS = {
  talc: () => new URL("../../pkg/peers/talc.wasm", import.meta.url),
  rlsf: () => new URL("../../pkg/peers/rlsf.wasm", import.meta.url),
  dlmalloc: () => new URL("../../pkg/peers/dlmalloc.wasm", import.meta.url),
  lla: () => new URL("../../pkg/peers/lla.wasm", import.meta.url),
  buddy: () => new URL("../../pkg/peers/buddy.wasm", import.meta.url),
};

const compiled = new Map();
/** The modules compiled so far (key -> WebAssembly.Module), for code that must build a heap at once. */
const ready = new Map();

/** The compiled module of a production allocator if it has loaded, else null. */
export const compiledPeer = (key) => ready.get(key) ?? null;

/** Loads every production allocator's module (the playground does so at start, so its policy list can switch at once). */
export function loadPeers() {
  return Promise.all(PEERS.map((p) => loadPeer(p.key)));
}

/** Compiles a production allocator's module once (fetched in the browser, read from disk in Node). */
export function loadPeer(key) {
  const peer = BY_KEY.get(key);
  if (!peer) return Promise.reject(new Error(`no production allocator is called "${key}"`));
  if (!compiled.has(key)) {
    compiled.set(
      key,
      (async () => {
        const url = URLS[peer.file]();
        let bytes;
        if (url.protocol === "file:") {
          const fs = "node:fs/promises";
          const { readFile } = await import(/* @vite-ignore */ fs);
          bytes = await readFile(url).catch(() => {
            throw new Error(`the module of ${key} is not built (${url.pathname}): run npm run setup`);
          });
        } else {
          const response = await fetch(url);
          if (!response.ok) throw new Error(`the module of ${key} did not load (HTTP ${response.status})`);
          bytes = await response.arrayBuffer();
        }
        const module = await WebAssembly.compile(bytes);
        ready.set(key, module);
        return module;
      })(),
    );
  }
  return compiled.get(key);
}

/** Instances of disposed heaps, per module, for the next heap (the timing makes one per run). */
const spare = new WeakMap();

/** An Error with a `code`, as heaplab's Heap throws. */
function failure(code, message, index) {
  return Object.assign(new Error(message), { code, index });
}

/**
 * One production allocator's heap in its own wasm instance (a fresh
 * instance is a fresh heap). `module` is what loadPeer resolves.
 */
export class PeerHeap {
  constructor(key, module, { maxBytes = DEFAULT_MAX_BYTES } = {}) {
    this.policy = key;
    this.peer = BY_KEY.get(key);
    this.module = module;
    this.maxBytes = maxBytes ?? DEFAULT_MAX_BYTES;
    this.#start();
  }

  /** An empty heap: a disposed heap's instance of the same module when there is one (its memory already grown, as heaplab's heaps reuse theirs), else a new instance. */
  #start(instance = null) {
    this.instance = instance ?? spare.get(this.module)?.pop() ?? new WebAssembly.Instance(this.module, {});
    this.x = this.instance.exports;
    this.x.trace_start(this.maxBytes);
    this.address = []; // trace id (allocation id - 1) -> payload address (0: not live)
    this.size = []; // trace id -> requested bytes
    this.byAddress = new Map(); // payload address -> trace id, while live
    this.next = 1; // the allocation id the next malloc gets
    this.live = 0;
    this.liveRequested = 0;
    this.peakLiveRequested = 0;
    this.operations = 0;
  }

  /** Its headers and metadata are its own: the maps draw only payloads and known free blocks (block-layout.js). */
  get opaque() {
    return true;
  }

  /** Blocks examined are not known for a production allocator. */
  get countsExamined() {
    return false;
  }

  /** Runs `(code, id, size)` triples; throws the first failure with its `index`. */
  run(ops) {
    const x = this.x;
    for (let i = 0; i < ops.length; i += 3) {
      const [code, id, size] = [ops[i], ops[i + 1], ops[i + 2]];
      const at = this.address[id] ?? 0;
      if (code === RUN.MALLOC) {
        if (at) throw failure("invalid-id", `id ${id} is already allocated`, i / 3);
        const p = x.trace_malloc(size) >>> 0;
        if (!p) throw failure("out-of-memory", `${this.policy} could not allocate ${size} bytes (its region is full)`, i / 3);
        this.address[id] = p;
        this.size[id] = size;
        this.byAddress.set(p, id);
        if (id + 2 > this.next) this.next = id + 2;
        this.live++;
        this.liveRequested += size;
      } else if (code === RUN.FREE) {
        if (!at) throw failure("invalid-free", `id ${id} is not allocated`, i / 3);
        x.trace_free(at, this.size[id]);
        this.address[id] = 0;
        this.byAddress.delete(at);
        this.live--;
        this.liveRequested -= this.size[id];
      } else if (code === RUN.REALLOC) {
        if (!at) throw failure("invalid-free", `id ${id} is not allocated`, i / 3);
        const p = x.trace_realloc(at, this.size[id], size) >>> 0;
        if (!p) throw failure("out-of-memory", `${this.policy} could not grow id ${id} to ${size} bytes (its region is full)`, i / 3);
        this.liveRequested += size - this.size[id];
        this.byAddress.delete(at);
        this.byAddress.set(p, id);
        this.address[id] = p;
        this.size[id] = size;
      } else throw failure("invalid-op", `operation code ${code} is not malloc, free or realloc`, i / 3);
      this.operations++;
      if (this.liveRequested > this.peakLiveRequested) this.peakLiveRequested = this.liveRequested;
    }
  }

  /**
   * Runs `ops` inside wasm, as heaplab's `Heap.run()` does (the module keeps
   * the ids: no call per operation), for timing a fresh heap: this heap's
   * own books (ids, figures) are not kept, so it is for nothing else.
   * Throws the first failure with its `index`, as `run`.
   */
  runUntracked(ops) {
    const x = this.x;
    const chunk = 1 << 16;
    for (let i = 0; i < ops.length; i += 3) {
      if (ops[i + 1] >= 1 << 20) return this.run(ops); // ids past the module's table: one call each
    }
    for (let from = 0; from < ops.length; from += 3 * chunk) {
      const part = ops.subarray ? ops.subarray(from, from + 3 * chunk) : ops.slice(from, from + 3 * chunk);
      new Uint32Array(x.memory.buffer, x.trace_ops(), part.length).set(part);
      const done = x.trace_run(part.length / 3);
      if (done < part.length / 3) {
        const [code, id, size] = part.subarray ? part.subarray(3 * done, 3 * done + 3) : part.slice(3 * done, 3 * done + 3);
        const why = code === RUN.FREE ? ["invalid-free", `id ${id} is not allocated`] : ["out-of-memory", `${size} bytes for id ${id}: the region is full or the id is in use`];
        throw failure(why[0], `${this.policy} failed operation ${from / 3 + done + 1} (${why[1]})`, from / 3 + done);
      }
    }
  }

  /** The live payloads as `[address, size, id]`, in address order. */
  #livePayloads() {
    const out = [];
    for (let id = 0; id < this.address.length; id++) if (this.address[id]) out.push([this.address[id], this.size[id], id]);
    return out.sort((a, b) => a[0] - b[0]);
  }

  /** The free blocks `[address, size]` in address order, or null when the allocator keeps them to itself. */
  #freeBlocks(live) {
    if (!this.peer.freeBlocks) return null;
    const x = this.x;
    const capacity = 1 << 16;
    const count = Math.min(live.length, capacity);
    const table = new Uint32Array(x.memory.buffer, x.trace_live_table(), 2 * count);
    for (let i = 0; i < count; i++) {
      table[2 * i] = live[i][0];
      table[2 * i + 1] = live[i][1];
    }
    const n = x.trace_free_blocks(count) >>> 0;
    if (n === 0xffffffff) return null;
    const free = new Uint32Array(x.memory.buffer, x.trace_free_table(), 2 * Math.min(n, capacity));
    const out = [];
    for (let i = 0; i < free.length; i += 2) out.push([free[i], free[i + 1]]);
    return out;
  }

  get #span() {
    return this.x.trace_span() >>> 0;
  }

  stats() {
    const span = this.#span;
    const free = this.#freeBlocks(this.#livePayloads());
    const freeBytes = free ? free.reduce((a, b) => a + b[1], 0) : null;
    const largest = free ? free.reduce((a, b) => Math.max(a, b[1]), 0) : null;
    return {
      liveRequested: this.liveRequested,
      peakLiveRequested: this.peakLiveRequested,
      allocatedBytes: null,
      freeBytes,
      largestFree: largest,
      externalFragmentation: free ? (freeBytes > 0 ? 1 - largest / freeBytes : 0) : null,
      utilization: span > 0 ? this.peakLiveRequested / span : 0,
      pagesInUse: span / PAGE_SIZE,
      heapBytes: span,
      // A production allocator never gives pages back: its span now is its peak.
      highWaterMark: span,
      liveBlocks: this.live,
      freeBlocks: free ? free.length : null,
      quickBlocks: 0,
      quickBytes: 0,
      arenas: span > 0 ? 1 : 0,
      segments: span > 0 ? 1 : 0,
      lastExamined: null,
      totalExamined: null,
      operations: this.operations,
    };
  }

  /** The block table (heaplab's columns): each live payload as a used block, known free blocks as free ones. */
  blocks() {
    const live = this.#livePayloads();
    const free = this.#freeBlocks(live) ?? [];
    const C = BLOCK.COLUMNS;
    const rows = [...live.map(([a, n, id]) => [a, n, id]), ...free.map(([a, n]) => [a, n, -1])].sort((p, q) => p[0] - q[0]);
    const table = new Uint32Array(rows.length * C);
    rows.forEach(([a, n, id], i) => {
      const r = i * C;
      table[r + BLOCK.ADDRESS] = a;
      table[r + BLOCK.SIZE] = n;
      table[r + BLOCK.PAYLOAD] = a;
      table[r + BLOCK.REQUESTED] = id >= 0 ? n : 0;
      table[r + BLOCK.FLAGS] = id >= 0 ? BLOCK_FLAG.USED : 0;
      table[r + BLOCK.ID] = id >= 0 ? id + 1 : 0;
    });
    return table;
  }

  /** Every page of the region is the allocator's (no page map, no free pages it would give back). */
  pages() {
    return new Uint8Array(this.#span / PAGE_SIZE).fill(PAGE.ARENA);
  }

  segments() {
    const span = this.#span;
    return span > 0 ? [{ base: this.x.trace_base() >>> 0, bytes: span }] : [];
  }

  /** linked_list_allocator's hole list (its one free list, in address order); none for the others (`hidden`: they keep them to themselves). */
  freeLists() {
    if (this.peer.freeBlocks !== "list") return { order: "address", rover: null, lists: [], hidden: true };
    const free = this.#freeBlocks(this.#livePayloads()) ?? [];
    return { order: "address", rover: null, lists: [{ label: "hole list", min: 0, max: 2 ** 32 - 1, quick: false, blocks: free.map((b) => b[0]) }] };
  }

  /** The heap's state: its own static and its region's bytes, and the trace's ids. */
  save() {
    const x = this.x;
    const memory = new Uint8Array(x.memory.buffer);
    const state = x.trace_state() >>> 0;
    const base = x.trace_base() >>> 0;
    const span = this.#span;
    return {
      state: memory.slice(state, state + (x.trace_state_bytes() >>> 0)),
      base,
      region: memory.slice(base, base + span),
      address: this.address.slice(),
      size: this.size.slice(),
      figures: [this.live, this.liveRequested, this.peakLiveRequested, this.operations, this.next],
      dispose() {},
    };
  }

  restore(saved) {
    const x = this.x;
    const end = saved.base + saved.region.length;
    const have = x.memory.buffer.byteLength;
    if (end > have) x.memory.grow(Math.ceil((end - have) / 65536));
    const memory = new Uint8Array(x.memory.buffer);
    memory.set(saved.state, x.trace_state() >>> 0);
    if (saved.region.length) memory.set(saved.region, saved.base);
    this.address = saved.address.slice();
    this.size = saved.size.slice();
    this.byAddress = new Map();
    this.address.forEach((a, id) => a && this.byAddress.set(a, id));
    [this.live, this.liveRequested, this.peakLiveRequested, this.operations, this.next] = saved.figures;
  }

  // --- The playground's calls (heaplab.js Heap's, over the same ids) ---------

  /** The options in force: the policy and the memory limit (a production allocator has no others). */
  get options() {
    return { policy: this.policy, maxBytes: this.maxBytes };
  }

  get nextId() {
    return this.next;
  }

  set nextId(id) {
    if (!Number.isInteger(id) || id < 1) throw failure("invalid-id", `nextId must be a whole number from 1, got ${id}`);
    this.next = id;
  }

  /** One operation through run(), its failure as heaplab's Heap throws it (no index). */
  #one(code, id, size) {
    try {
      this.run([code, id, size]);
    } catch (error) {
      delete error.index;
      throw error;
    }
  }

  #size(size, what = "size") {
    if (!Number.isInteger(size) || size < 0 || size > 0xffffffff) throw failure("invalid-size", `${what} must be a whole number of bytes, got ${size}`);
    return size;
  }

  /** Allocates `size` bytes (the next id); the payload's address. */
  malloc(size) {
    const id = this.next;
    if (this.address[id - 1]) throw failure("invalid-id", `id ${id} is still allocated`);
    this.#one(RUN.MALLOC, id - 1, this.#size(size));
    this.next = id + 1;
    return this.address[id - 1];
  }

  /** `count * size` zeroed bytes (the allocator's block may hold old bytes). */
  calloc(count, size) {
    const bytes = this.#size(count, "count") * this.#size(size);
    if (bytes > 0xffffffff) throw failure("invalid-size", `calloc(${count}, ${size}) overflows`);
    const p = this.malloc(bytes);
    new Uint8Array(this.x.memory.buffer, p, bytes).fill(0);
    return p;
  }

  /** Frees the allocation at `address`; an address no live allocation starts at is refused. */
  free(address) {
    if (address === 0 || address === null) return;
    const id = this.byAddress.get(address);
    if (id === undefined) throw failure("invalid-free", `no allocation starts at 0x${Number(address).toString(16)}`);
    this.#one(RUN.FREE, id, 0);
  }

  /** Resizes the allocation at `address`; the (possibly moved) address. realloc(NULL, n) is malloc, realloc(p, 0) frees p. */
  realloc(address, size) {
    if (address === 0 || address === null) return this.malloc(size);
    const id = this.byAddress.get(address);
    if (id === undefined) throw failure("invalid-free", `no allocation starts at 0x${Number(address).toString(16)}`);
    if (this.#size(size) === 0) {
      this.#one(RUN.FREE, id, 0);
      return 0;
    }
    this.#one(RUN.REALLOC, id, size);
    return this.address[id];
  }

  /** The allocation id of the live allocation at `address`, or 0. */
  idOf(address) {
    const id = this.byAddress.get(address);
    return id === undefined ? 0 : id + 1;
  }

  /** The payload address of live allocation `id`, or 0. */
  addressOf(id) {
    return this.address[id - 1] || 0;
  }

  /** The bytes [address, address + length) inside the allocator's pages. */
  #range(address, length) {
    const base = this.x.trace_base() >>> 0;
    if (!(Number.isInteger(address) && Number.isInteger(length) && length >= 0 && address >= base && address + length <= base + this.#span)) {
      throw failure("out-of-bounds", `bytes 0x${Number(address).toString(16)}+${length} are not in ${this.policy}'s pages`);
    }
    return new Uint8Array(this.x.memory.buffer, address, length);
  }

  read(address, length) {
    return this.#range(address, length).slice();
  }

  write(address, bytes) {
    this.#range(address, bytes.length).set(bytes);
  }

  /** A production allocator reports no steps. */
  lastEvents() {
    return [];
  }

  /** No quick lists to flush. */
  flush() {
    return false;
  }

  /**
   * What can be checked from outside: every live payload inside the pages
   * and apart from the others (the allocator's own structures are its own).
   */
  check() {
    const live = this.#livePayloads();
    const base = this.x.trace_base() >>> 0;
    for (let i = 0; i < live.length; i++) {
      const [a, n] = live[i];
      if (a < base || a + n > base + this.#span) throw failure("corrupt-heap", `the allocation at 0x${a.toString(16)} is outside ${this.policy}'s pages`);
      if (i > 0 && live[i - 1][0] + live[i - 1][1] > a) throw failure("corrupt-heap", `the allocations at 0x${live[i - 1][0].toString(16)} and 0x${a.toString(16)} overlap`);
    }
  }

  /** Frees everything: a new heap of the allocator in the same instance (it has no reset of its own). */
  reset() {
    this.#start(this.instance);
  }

  /** Gives the instance back for the next heap of this module (two are kept at most: the timed runs' and the page's). */
  dispose() {
    if (!this.instance) return;
    const kept = spare.get(this.module) ?? [];
    if (kept.length < 2) kept.push(this.instance);
    spare.set(this.module, kept);
    this.instance = null;
    this.x = null;
  }
}

/** A Heap-like class for PolicyRun: `new (peerHeapClass(key, module))(options)`. */
export function peerHeapClass(key, module) {
  return class extends PeerHeap {
    constructor(options = {}) {
      super(key, module, options);
    }
  };
}

/**
 * The production allocators as a kind of heap for heap-factory.js (the
 * playground's policy list): a module must have loaded (loadPeers(), which
 * the page starts) before its heap is made; until then the choice is
 * refused with a message.
 */
registerHeaps({
  owns: isPeer,
  make(options) {
    const module = compiledPeer(options.policy);
    if (!module) throw Object.assign(new Error(`${options.policy} is still loading: choose it again in a moment`), { code: "not-loaded" });
    return new PeerHeap(options.policy, module, { maxBytes: options.maxBytes });
  },
});
