// Session state: one heap, the options it was built with, and the trace of
// every operation that changed it, so that the heap can be rebuilt (with other
// options, or later up to any point in time) by replaying the trace.
//
// Pure logic, no DOM. Every method returns a result and never throws:
//   { ok: true, message, id?, address? } or { ok: false, message, code }.
//
// Allocation ids are the heap's (one numbering, kept in wasm and saved with
// the heap): 1, 2, ... in the order of successful allocations. The session
// asks the heap for the id of each block it allocates and writes it into the
// trace; a replay sets the heap's next id before each allocation, so ids stay
// the same across replays. Variable names (from the console, or the name
// field) bind to ids.
//
// Trace operations (plain objects, JSON-friendly):
//   { op: "malloc",  id, size, align, name? }   align 0 = the heap's default
//   { op: "calloc",  id, count, size, name? }
//   { op: "realloc", id, size, name? }           the block keeps its id
//   { op: "free",    id }
//   { op: "write",   id, offset, bytes: number[] }   offset from the payload
//   { op: "flush" }                                the quick lists merged back (no id)
// Under the kernel heap (policy "kmalloc", kernel.js), besides:
//   { op: "cache-create", cache, label, size, align, name? }  a slab cache; `name` the variable bound to it
//   { op: "cache-alloc",  id, cache, name? }        an object of the cache
//   { op: "cache-free",   id, cache }
//   { op: "cache-shrink", cache }
// (malloc and free are kmalloc and kfree there.)
import { BLOCK, POLICIES, isTrap, KMALLOC } from "./heaplab.js";
import { createHeap } from "./heap-factory.js";
import { hex } from "./format.js";
import { KERNEL_DEFAULT_BYTES } from "./kernel.js";

/** Every policy the heap knows, in the order the UI lists them. */
export const POLICY_NAMES = POLICIES;

/** The options a new session starts with (the heap's own defaults). */
export const DEFAULT_OPTIONS = Object.freeze({
  policy: "first-fit",
  align: 8,
  coalesce: "immediate",
  splitMin: 0,
  maxBytes: null, // null: the default limit (DEFAULT_MAX_BYTES in heaplab.js, 256 MiB)
  listOrder: null, // null: the policy's own order (see LIST_ORDERS in heaplab.js)
  quickLists: false, // freed small blocks wait on per-size quick lists (best, worst and segregated fit)
});

/** The options object handed to `new Heap()`: no nulls. */
export function heapOptions(options) {
  const out = {};
  for (const [key, value] of Object.entries(options)) if (value !== null && value !== undefined) out[key] = value;
  return out;
}

function failure(error, prefix = "") {
  const code = error?.code ?? "internal";
  return { ok: false, code, message: `${prefix}${error?.message ?? String(error)}` };
}

function isDetached(view) {
  return !view || view.buffer.byteLength === 0;
}

export class Session {
  /** @param {object} [options] heap options; see DEFAULT_OPTIONS */
  constructor(options = {}) {
    this.options = { ...DEFAULT_OPTIONS, ...options };
    this.heap = createHeap(heapOptions(this.options));
    /** The heap at time 0 (just created, or just reset), for time travel (timeline.js). */
    this.origin = this.heap.save();
    this.#clear();
    this.listeners = new Set();
  }

  #newOrigin() {
    this.origin?.dispose();
    this.origin = this.heap.save();
  }

  #clear() {
    /** The operations that built the current heap, in order. */
    this.trace = [];
    /** variable name -> id (the id may have been freed: a dangling pointer). */
    this.names = new Map();
    /** Every id ever allocated -> its latest variable name. */
    this.nameOf = new Map();
    /** variable name -> slab cache index (kernel heap: `c = cache_create(...)`). */
    this.cacheNames = new Map();
    /** The integrity check's message once the heap is corrupt, else null. */
    this.corruption = null;
    this.version = (this.version ?? 0) + 1;
    this.cache = null;
  }

  /** Calls `listener(session)` after every change. Returns an unsubscribe function. */
  onChange(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  #changed() {
    this.version++;
    this.cache = null;
    if (this.quiet) return;
    for (const listener of this.listeners) listener(this);
  }

  // ------------------------------------------------------------ lookups

  /** The id a reference names: `{ id }`, `{ name }`, `{ address }`, or a number (an id) or a string (name or "#id"). */
  resolve(ref) {
    if (typeof ref === "number") ref = { id: ref };
    if (typeof ref === "string") {
      const text = ref.trim();
      if (/^#?\d+$/.test(text)) ref = { id: Number(text.replace("#", "")) };
      else if (/^0x[0-9a-f]+$/i.test(text)) ref = { address: Number(text) };
      else ref = { name: text };
    }
    if (ref.id !== undefined) {
      if (!Number.isInteger(ref.id) || ref.id < 1 || ref.id >= this.nextId) {
        return { ok: false, code: "unknown-block", message: `there is no block #${ref.id}` };
      }
      return { ok: true, id: ref.id, label: this.label(ref.id) };
    }
    if (ref.name !== undefined) {
      if (!this.names.has(ref.name)) {
        return { ok: false, code: "unknown-variable", message: `${ref.name || "(empty)"} is not a variable: assign it first, as in ${ref.name || "p"} = malloc(24)` };
      }
      return { ok: true, id: this.names.get(ref.name), label: ref.name };
    }
    if (ref.address !== undefined) {
      const id = this.idOfPayload(ref.address) || undefined;
      return { ok: true, id, address: ref.address, label: id ? this.label(id) : hex(ref.address) };
    }
    return { ok: false, code: "unknown-block", message: "no block given" };
  }

  /** What to call block `id` in messages and on the map: its variable name, else "#id". */
  label(id) {
    const name = this.nameOf.get(id);
    return name && this.names.get(name) === id ? name : `#${id}`;
  }

  /** The variable names currently bound to `id`. */
  namesFor(id) {
    const out = [];
    for (const [name, bound] of this.names) if (bound === id) out.push(name);
    return out;
  }

  /** The id the heap gives the next allocation (ids below it were allocated, or skipped by a failed replay). */
  get nextId() {
    return this.heap.nextId;
  }

  /** The id of the live allocation whose payload starts at `address`, or 0. */
  idOfPayload(address) {
    return Number.isInteger(address) && address >= 0 ? this.heap.idOf(address) : 0;
  }

  /** The payload address of live allocation `id`, else undefined. */
  addressOf(id) {
    return (Number.isInteger(id) && id > 0 && this.heap.addressOf(id)) || undefined;
  }

  isLive(id) {
    return this.addressOf(id) !== undefined;
  }

  /** Every live allocation: a Map id -> payload address, in id order (from the block table's ID column). */
  live() {
    const { blocks } = this.snapshot();
    const pairs = [];
    for (let i = 0; i < blocks.length; i += BLOCK.COLUMNS) {
      const id = blocks[i + BLOCK.ID];
      if (id) pairs.push([id, blocks[i + BLOCK.PAYLOAD]]);
    }
    return new Map(pairs.sort((a, b) => a[0] - b[0]));
  }

  // ------------------------------------------------------------ operations

  #guard() {
    if (this.corruption) {
      return { ok: false, code: "corrupt-heap", message: `the heap is corrupt (${this.corruption}); reset to recover` };
    }
    return null;
  }

  #bind(id, name) {
    if (name) {
      this.cacheNames.delete(name);
      this.names.set(name, id);
      this.nameOf.set(id, name);
    }
  }

  /** `malloc(size)` with an optional alignment (0 = the heap's) and variable name. */
  malloc(size, { align = 0, name = null } = {}) {
    return this.#allocate({ op: "malloc", size, align, name }, () => this.heap.malloc(size, align), () =>
      align ? `aligned_alloc(${align}, ${size})` : `malloc(${size})`,
    );
  }

  /** `calloc(count, size)`: zeroed. */
  calloc(count, size, { name = null } = {}) {
    return this.#allocate({ op: "calloc", count, size, name }, () => this.heap.calloc(count, size), () => `calloc(${count}, ${size})`);
  }

  #allocate(op, run, text) {
    const blocked = this.#guard();
    if (blocked) return blocked;
    let address;
    try {
      address = run();
    } catch (error) {
      return this.#failed(error, `${text()} failed: `);
    }
    const id = this.heap.idOf(address);
    const record = { ...op, id };
    if (!record.name) delete record.name;
    const leaked = op.name && this.names.has(op.name) && this.isLive(this.names.get(op.name)) ? this.names.get(op.name) : 0;
    this.#bind(id, op.name);
    this.trace.push(record);
    this.#changed();
    let message = `${op.name ? `${op.name} = ` : ""}${text()} returned ${hex(address)} (block #${id})`;
    if (leaked) message += `; the block #${leaked} that ${op.name} pointed to is still allocated but no variable names it (a leak)`;
    return { ok: true, id, address, message };
  }

  /**
   * `realloc(ref, size)`; `realloc(NULL, size)` is `malloc(size)` and, as in
   * glibc, `realloc(p, 0)` is `free(p)` returning NULL. `name` binds the result.
   */
  realloc(ref, size, { name = null } = {}) {
    if (ref === null || ref?.null) return this.malloc(size, { name });
    if (size === 0) {
      const label = this.resolve(ref).label;
      const freed = this.free(ref);
      if (!freed.ok) return freed;
      return { ...freed, address: 0, message: `realloc(${label}, 0) freed the block at ${hex(this.#blockAt(freed.address))} and returned NULL (as glibc's realloc does)` };
    }
    const blocked = this.#guard();
    if (blocked) return blocked;
    const found = this.resolve(ref);
    if (!found.ok) return found;
    if (!found.id || !this.isLive(found.id)) {
      return { ok: false, code: "invalid-free", message: `realloc of ${found.label}: it is not an allocated block (already freed?)` };
    }
    const id = found.id;
    const before = this.addressOf(id);
    let address;
    try {
      address = this.heap.realloc(before, size);
    } catch (error) {
      return this.#failed(error, `realloc(${found.label}, ${size}) failed: `);
    }
    this.#bind(id, name);
    const record = { op: "realloc", id, size };
    if (name) record.name = name;
    this.trace.push(record);
    this.#changed();
    const moved = address === before ? "in place" : `moved from ${hex(before)}`;
    return { ok: true, id, address, message: `${name ? `${name} = ` : ""}realloc(${found.label}, ${size}) returned ${hex(address)} (${moved})` };
  }

  /** `free(ref)`. A name or id already freed is a double free, caught before the heap sees it. */
  free(ref) {
    if (ref === null || ref?.null) return { ok: true, message: "free(NULL) does nothing" };
    const blocked = this.#guard();
    if (blocked) return blocked;
    const found = this.resolve(ref);
    if (!found.ok) return found;
    if (found.address === 0 && !found.id) return { ok: true, message: "free(NULL) does nothing" };
    if (found.address !== undefined && !found.id) {
      // A raw address no allocation starts at: let the allocator judge it.
      try {
        this.heap.free(found.address);
      } catch (error) {
        return this.#failed(error, `free(${hex(found.address)}): `);
      }
      return { ok: false, code: "internal", message: `free(${hex(found.address)}) was accepted for an unknown block` };
    }
    const id = found.id;
    if (!this.isLive(id)) return { ok: false, code: "double-free", message: `double free of ${found.label}` };
    const address = this.addressOf(id);
    try {
      this.heap.free(address);
    } catch (error) {
      return this.#failed(error, `free(${found.label}): `);
    }
    this.trace.push({ op: "free", id });
    this.#changed();
    return { ok: true, id, address, message: `free(${found.label}) released the block at ${hex(this.#blockAt(address))}` };
  }

  /**
   * Writes `bytes` into block `ref`'s payload at `offset`. Writing past the
   * payload is allowed (that is the lesson): the integrity check runs after
   * every write and a corrupt heap blocks further operations until reset.
   */
  write(ref, offset, bytes) {
    const found = this.resolve(ref);
    if (!found.ok) return found;
    if (!found.id || !this.isLive(found.id)) {
      return { ok: false, code: "invalid-write", message: `${found.label} is not an allocated block: select a used block to write into` };
    }
    if (!Number.isInteger(offset) || offset < 0) return { ok: false, code: "invalid-size", message: `offset must be a whole number of bytes, got ${offset}` };
    const data = bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes);
    if (data.length === 0) return { ok: false, code: "invalid-size", message: "nothing to write" };
    const payload = this.addressOf(found.id);
    try {
      this.heap.write(payload + offset, data);
    } catch (error) {
      return this.#failed(error, `write into ${found.label}: `);
    }
    this.trace.push({ op: "write", id: found.id, offset, bytes: Array.from(data) });
    this.#checkIntegrity();
    this.#changed();
    const usable = this.usableSize(found.id);
    const end = offset + data.length;
    let message = `wrote ${data.length} byte${data.length === 1 ? "" : "s"} at ${hex(payload + offset)} (${found.label} + ${offset})`;
    if (end > usable) message += `: ${end - usable} byte${end - usable === 1 ? "" : "s"} past the end of the payload`;
    if (this.corruption) return { ok: false, code: "corrupt-heap", message: `${message}. check() found the heap corrupt: ${this.corruption}` };
    return { ok: true, id: found.id, message };
  }

  // ------------------------------------------------------------ the kernel heap (policy "kmalloc")

  /** Whether the heap is the kernel heap (slab caches and kmalloc). */
  get isKernel() {
    return this.options.policy === KMALLOC;
  }

  /** A refusal when the heap is not the kernel heap, else null. */
  #needsKernel(what) {
    if (this.isKernel) return null;
    return { ok: false, code: "needs-kmalloc", message: `${what} is a kernel heap call: choose the policy kmalloc first (Heap options, Policy)` };
  }

  /** The name of cache `index` ("kmalloc-64", "inode"), or null when there is none. */
  cacheName(index) {
    if (!this.isKernel) return null;
    return this.heap.caches()[index]?.name ?? null;
  }

  /** The cache a reference names: `{ name }` (a variable), `{ index }` or a number. */
  resolveCache(ref) {
    if (typeof ref === "number") ref = { index: ref };
    if (ref?.name !== undefined) {
      if (!this.cacheNames.has(ref.name)) {
        const hint = this.names.has(ref.name) ? `${ref.name} names a block, not a cache` : `${ref.name} is not a variable`;
        return { ok: false, code: "unknown-cache", message: `${hint}: make a cache first, as in c = cache_create("inode", 184)` };
      }
      ref = { index: this.cacheNames.get(ref.name), label: ref.name };
    }
    const index = ref?.index;
    const caches = this.heap.caches();
    if (!Number.isInteger(index) || !caches[index]) {
      return { ok: false, code: "unknown-cache", message: `there is no cache ${index ?? ""}: this heap has caches 0 to ${caches.length - 1} (cache_create makes more)` };
    }
    return { ok: true, index, name: caches[index].name, label: ref.label ?? caches[index].name };
  }

  /** `cache_create(label, size, align)`: a slab cache of objects of `size` bytes; `name` binds a variable to it. */
  cacheCreate(label, size, align = 0, { name = null } = {}) {
    const blocked = this.#guard() ?? this.#needsKernel("cache_create");
    if (blocked) return blocked;
    const text = `cache_create("${label}", ${size}${align ? `, ${align}` : ""})`;
    let cache;
    try {
      cache = this.heap.cacheCreate(label, size, align);
    } catch (error) {
      const why = error.code === "invalid-size" ? `an object of ${size} bytes fits no slab (1 byte to 32 KiB minus the slab header)` : error.code === "out-of-memory" ? "no room for another cache (32 at most)" : error.message;
      return this.#failed(Object.assign(new Error(why), { code: error.code }), `${text} failed: `);
    }
    const record = { op: "cache-create", cache, label, size, align };
    if (name) {
      record.name = name;
      this.names.delete(name);
      this.cacheNames.set(name, cache);
    }
    this.trace.push(record);
    this.#changed();
    const info = this.heap.caches()[cache];
    return { ok: true, cache, message: `${name ? `${name} = ` : ""}${text} made cache ${cache} "${info.name}": objects of ${info.stride} bytes, ${info.objectsPerSlab} per slab of ${2 ** info.order} page${info.order ? "s" : ""}` };
  }

  /** `cache_alloc(cache)`: an object of that cache. */
  cacheAlloc(cacheRef, { name = null } = {}) {
    const blocked = this.#guard() ?? this.#needsKernel("cache_alloc");
    if (blocked) return blocked;
    const cache = this.resolveCache(cacheRef);
    if (!cache.ok) return cache;
    return this.#allocate({ op: "cache-alloc", cache: cache.index, name }, () => this.heap.cacheAlloc(cache.index), () => `cache_alloc(${cache.label})`);
  }

  /** `cache_free(cache, ref)`: the object must be a live one of that cache. */
  cacheFree(cacheRef, ref) {
    const blocked = this.#guard() ?? this.#needsKernel("cache_free");
    if (blocked) return blocked;
    const cache = this.resolveCache(cacheRef);
    if (!cache.ok) return cache;
    const found = this.resolve(ref);
    if (!found.ok) return found;
    const text = `cache_free(${cache.label}, ${found.label})`;
    if (found.id && !this.isLive(found.id)) return { ok: false, code: "double-free", message: `${text}: double free, ${found.label} is already free; nothing changed` };
    const address = found.id ? this.addressOf(found.id) : found.address;
    const owner = this.heap.cacheOf(address);
    if (owner !== undefined && owner !== cache.index) {
      const what = owner < 0 ? "a large kmalloc block (free it with kfree)" : `an object of cache ${owner} "${this.cacheName(owner)}"`;
      return { ok: false, code: "wrong-cache", message: `${text}: ${found.label} is ${what}, not of "${cache.name}"; nothing changed` };
    }
    try {
      this.heap.cacheFree(cache.index, address);
    } catch (error) {
      return this.#failed(error, `${text}: `);
    }
    this.trace.push({ op: "cache-free", id: found.id, cache: cache.index });
    this.#changed();
    return { ok: true, id: found.id, address, message: `${text} put the object at ${hex(address)} back on its slab's free list` };
  }

  /** `cache_shrink(cache)`: gives the cache's empty slabs back to the buddy allocator (nothing changes when it has none). */
  cacheShrink(cacheRef) {
    const blocked = this.#guard() ?? this.#needsKernel("cache_shrink");
    if (blocked) return blocked;
    const cache = this.resolveCache(cacheRef);
    if (!cache.ok) return cache;
    const text = `cache_shrink(${cache.label})`;
    const info = this.heap.caches()[cache.index];
    const [empty, partial, full] = info.slabs;
    if (empty === 0) return { ok: true, slabs: 0, message: `${text}: cache ${cache.index} "${cache.name}" has no empty slab (${partial} partial, ${full} full), so nothing goes back; nothing changed` };
    let slabs;
    try {
      slabs = this.heap.cacheShrink(cache.index);
    } catch (error) {
      return this.#failed(error, `${text}: `);
    }
    this.trace.push({ op: "cache-shrink", cache: cache.index });
    this.#changed();
    const pages = slabs * 2 ** info.order;
    return { ok: true, slabs, message: `${text} gave ${slabs} empty slab${slabs === 1 ? "" : "s"} of cache "${cache.name}" back to the buddy allocator: ${pages} page${pages === 1 ? "" : "s"}` };
  }

  /** `kmalloc(size)`: the kernel heap's malloc, with its own words for sizes it refuses. */
  kmalloc(size, { name = null } = {}) {
    const blocked = this.#needsKernel("kmalloc");
    if (blocked) return blocked;
    if (size === 0) return { ok: false, code: "invalid-size", message: "kmalloc(0) gives no object (Linux returns ZERO_SIZE_PTR): ask for 1 byte or more; nothing changed" };
    const largest = this.heap.stats().heapBytes;
    if (Number.isInteger(size) && size > largest) {
      return { ok: false, code: "invalid-size", message: `kmalloc(${size}): more than the ${largest} bytes the buddy allocator manages; nothing changed` };
    }
    const result = this.#allocate({ op: "malloc", size, align: 0, name }, () => this.heap.malloc(size), () => `kmalloc(${size})`);
    if (!result.ok) return result;
    const cache = this.heap.cacheOf(result.address);
    const from = cache >= 0 ? `an object of cache ${this.cacheName(cache)}` : "a large block straight from the buddy allocator";
    return { ...result, message: `${result.message}: ${from}` };
  }

  /** `kfree(ref)`: the kernel heap's free. */
  kfree(ref) {
    const blocked = this.#needsKernel("kfree");
    if (blocked) return blocked;
    const result = this.free(ref);
    return { ...result, message: result.message.replace(/^free\(/, "kfree(").replace(/^double free/, "double kfree") };
  }

  /** Where the block of the payload at `address` starts: its 8-byte header, or the payload itself in a production allocator's heap (its header is its own). */
  #blockAt(address) {
    return this.heap.opaque ? address : address - 8;
  }

  /** Bytes a block's payload can hold (block size minus its header). */
  usableSize(id) {
    const address = this.addressOf(id);
    if (address === undefined) return 0;
    const { blocks } = this.snapshot();
    for (let lo = 0, hi = blocks.length / BLOCK.COLUMNS; lo < hi; ) {
      const mid = (lo + hi) >> 1;
      const payload = blocks[mid * BLOCK.COLUMNS + BLOCK.PAYLOAD];
      if (payload === address) return blocks[mid * BLOCK.COLUMNS + BLOCK.SIZE] - (payload - blocks[mid * BLOCK.COLUMNS]);
      if (payload < address) lo = mid + 1;
      else hi = mid;
    }
    return 0;
  }

  #checkIntegrity() {
    try {
      this.heap.check();
      this.corruption = null;
    } catch (error) {
      if (isTrap(error) && this.replaying) throw error;
      if (isTrap(error)) this.#recover(error);
      else this.corruption = error.message;
    }
  }

  /** A failure as a result; a trap first rebuilds the heap (see #recover) and says so. */
  #failed(error, prefix) {
    if (!isTrap(error)) return failure(error, prefix);
    if (this.replaying) throw error; // rebuild() is replaying: it decides what to keep
    const note = this.#recover(error);
    return { ok: false, code: "trap", message: `${prefix}the allocator trapped (${error.message}); ${note}` };
  }

  /**
   * After a wasm trap the heap object cannot be used again. A new heap is
   * built from the trace: all of it if that replays, else the longest prefix
   * that does (the operations after it are dropped). Returns what happened,
   * in words; `this.recovered` keeps it for the page.
   */
  #recover(error) {
    const trace = this.trace.slice();
    let kept = trace.length;
    for (; kept >= 0; kept--) {
      const result = this.rebuild(this.options, trace.slice(0, kept), { quietTraps: true });
      if (!result.trapped) break;
    }
    const dropped = trace.length - Math.max(0, kept);
    const note = `the heap was rebuilt from ${Math.max(0, kept)} recorded operation${kept === 1 ? "" : "s"}${dropped ? ` (${dropped} dropped: replaying ${dropped === 1 ? "it" : "them"} trapped again)` : ""}`;
    this.recovered = { error: error.message, kept: Math.max(0, kept), dropped, note };
    return note;
  }

  /**
   * Merges the blocks waiting on the quick lists back into the free list
   * (`Heap.flush()`), recorded in the trace so that undo, redo and replays
   * see it. With nothing on the quick lists nothing happens (and nothing is
   * recorded).
   */
  flush() {
    const blocked = this.#guard();
    if (blocked) return blocked;
    let flushed;
    try {
      flushed = this.heap.flush();
    } catch (error) {
      return this.#failed(error, "flush() failed: ");
    }
    if (!flushed) return { ok: true, message: "flush(): no block is waiting on a quick list" };
    const blocks = this.heap.lastEvents().find((e) => e.kind === "flush")?.blocks ?? 0;
    this.trace.push({ op: "flush" });
    this.#changed();
    return { ok: true, message: `flush() merged ${blocks} block${blocks === 1 ? "" : "s"} from the quick lists back into the free list` };
  }

  /** Runs the heap's integrity check now. */
  check() {
    const before = this.corruption;
    this.#checkIntegrity();
    if (before !== this.corruption) this.#changed();
    return this.corruption
      ? { ok: false, code: "corrupt-heap", message: `check() found the heap corrupt: ${this.corruption}` }
      : { ok: true, message: "check() passed: every segment, block and free list is consistent" };
  }

  /** Frees everything and forgets the trace; memory already obtained stays. Recovers a corrupt heap. */
  reset() {
    try {
      this.heap.reset();
    } catch (error) {
      if (!isTrap(error)) return failure(error, "reset failed: ");
      // reset() always works: a heap a trap left unusable is replaced by a new one.
      const fresh = this.rebuild(this.options, []);
      if (!fresh.ok) return fresh;
    }
    this.#newOrigin();
    this.#clear();
    this.#changed();
    return { ok: true, message: "Heap reset: every block freed, the trace cleared" };
  }

  /**
   * Rebuilds the heap with `options` (merged into the current ones) by
   * replaying the trace. On invalid options nothing changes. Operations that
   * fail under the new options are dropped from the trace and listed.
   */
  setOptions(changes) {
    return this.rebuild({ ...this.options, ...changes }, this.trace);
  }

  /**
   * Replaces the heap with a fresh one built with `options` by replaying
   * `trace` (recorded operations, as in `this.trace`). The base of
   * `setOptions` and of the recovery from a trap (time travel restores
   * checkpoints instead: timeline.js). On invalid options nothing changes.
   */
  rebuild(options, trace, { quietTraps = false } = {}) {
    let heap;
    try {
      heap = createHeap(heapOptions(options));
    } catch (error) {
      return failure(error);
    }
    const old = { heap: this.heap, trace };
    this.heap = heap;
    this.#newOrigin();
    this.options = { ...options };
    this.quiet = true;
    this.replaying = true;
    let replayed;
    try {
      replayed = this.#replay(trace);
    } catch (error) {
      // A trap while replaying (the ops call the heap directly): report it to the caller.
      if (!quietTraps || !isTrap(error)) throw error;
      replayed = { failed: [], trapped: true };
    } finally {
      this.quiet = false;
      this.replaying = false;
    }
    try {
      old.heap.dispose();
    } catch {
      // A heap a trap left borrowed cannot be disposed; its memory stays with the module.
    }
    if (replayed.trapped) return { ok: false, trapped: true, code: "trap", message: "replaying trapped" };
    this.#changed();
    const failed = replayed.failed;
    let message = `Rebuilt the heap (${describeOptions(options)}) by replaying ${old.trace.length} operation${old.trace.length === 1 ? "" : "s"}`;
    if (failed.length) {
      message += `; ${failed.length} failed and ${failed.length === 1 ? "was" : "were"} dropped: ${failed
        .slice(0, 3)
        .map((f) => `${f.op.op}${f.op.id ? ` #${f.op.id}` : ""} (${f.message})`)
        .join(", ")}${failed.length > 3 ? ", …" : ""}`;
    }
    return { ok: failed.length === 0, code: failed.length ? "replay-failed" : undefined, message, failed };
  }

  /** Rebuilds this session's state from `trace` on the current (fresh) heap. */
  #replay(trace) {
    const keepVersion = this.version;
    this.#clear();
    this.version = keepVersion;
    const failed = [];
    const dead = new Set();
    for (const op of trace) {
      if (dead.has(op.id)) {
        failed.push({ op, message: `block #${op.id} was never allocated` });
        continue;
      }
      const result = this.#apply(op);
      if (!result.ok) {
        failed.push({ op, message: result.code ?? result.message });
        if (op.op === "malloc" || op.op === "calloc") dead.add(op.id);
      }
    }
    return { failed };
  }

  // ------------------------------------------------------------ time travel (timeline.js)

  /**
   * A copy of the JS bookkeeping (names, corruption, and the heap's next id,
   * which a failed replay may have moved past a dropped allocation), to keep
   * with a checkpoint. Where the ids live is the heap's, saved with it.
   */
  bookkeeping() {
    return {
      nextId: this.nextId,
      names: new Map(this.names),
      nameOf: new Map(this.nameOf),
      cacheNames: new Map(this.cacheNames),
      corruption: this.corruption,
    };
  }

  /**
   * Makes `trace` (a prefix of the recorded operations) the session's trace,
   * for a heap that already holds the state after it (restored and replayed
   * by the timeline), with its allocations under their recorded ids (as
   * `Heap.run()` gives them: trace id = id - 1). The bookkeeping is `books`
   * (copied), or else derived from the trace: names, and the next id.
   */
  adopt(trace, books = null, { notify = true } = {}) {
    this.trace = trace;
    if (books) {
      const { nextId, ...rest } = this.#copyBooks(books);
      Object.assign(this, rest);
      this.heap.nextId = nextId;
    } else {
      let nextId = 1;
      const names = new Map();
      const nameOf = new Map();
      const cacheNames = new Map();
      for (const op of trace) {
        if (op.op === "cache-create") {
          if (op.name) {
            names.delete(op.name);
            cacheNames.set(op.name, op.cache);
          }
          continue;
        }
        if (op.id >= nextId) nextId = op.id + 1;
        if (op.name) {
          cacheNames.delete(op.name);
          names.set(op.name, op.id);
          nameOf.set(op.id, op.name);
        }
      }
      Object.assign(this, { names, nameOf, cacheNames, corruption: null });
      this.heap.nextId = nextId;
    }
    this.version++;
    this.cache = null;
    if (notify) this.#changed();
  }

  #copyBooks(books) {
    return {
      nextId: books.nextId,
      names: new Map(books.names),
      nameOf: new Map(books.nameOf),
      cacheNames: new Map(books.cacheNames ?? []),
      corruption: books.corruption,
    };
  }

  /** Replays recorded operations (their ids kept) without telling the listeners; returns those that failed. */
  applyRecorded(ops) {
    const failed = [];
    const quiet = this.quiet;
    this.quiet = true;
    try {
      for (const op of ops) {
        const result = this.#apply(op);
        if (!result.ok) failed.push({ op, message: result.code ?? result.message });
      }
    } finally {
      this.quiet = quiet;
    }
    return failed;
  }

  /** Tells the listeners that the session changed (after quiet work). */
  touch() {
    this.#changed();
  }

  /** Applies one recorded operation with its recorded id. */
  #apply(op) {
    const name = op.name ?? null;
    let result;
    switch (op.op) {
      case "malloc":
      case "calloc": {
        // The recorded id: the heap numbers on from it (and past it when the allocation fails).
        try {
          this.heap.nextId = op.id;
        } catch (error) {
          return failure(error, `${op.op} #${op.id}: `);
        }
        result = op.op === "malloc" ? this.malloc(op.size, { align: op.align ?? 0, name }) : this.calloc(op.count, op.size, { name });
        if (!result.ok) this.heap.nextId = op.id + 1;
        return result;
      }
      case "realloc":
        return this.realloc({ id: op.id }, op.size, { name });
      case "free":
        return this.free({ id: op.id });
      case "write":
        return this.write({ id: op.id }, op.offset, op.bytes);
      case "flush":
        return this.flush();
      case "cache-create":
        return this.cacheCreate(op.label, op.size, op.align, { name });
      case "cache-alloc": {
        try {
          this.heap.nextId = op.id;
        } catch (error) {
          return failure(error, `cache_alloc #${op.id}: `);
        }
        result = this.cacheAlloc({ index: op.cache }, { name });
        if (!result.ok && this.isKernel) this.heap.nextId = op.id + 1;
        return result;
      }
      case "cache-free":
        return this.cacheFree({ index: op.cache }, { id: op.id });
      case "cache-shrink":
        return this.cacheShrink({ index: op.cache });
      default:
        return { ok: false, code: "bad-op", message: `unknown operation ${op.op}` };
    }
  }

  /**
   * The trace in the shape `trace.js` reads and writes (`toRep`, `toJson`):
   * ids from 0, calloc as `a` of count × size, aligned allocations as plain
   * `a` (the formats have no alignment), writes left out.
   */
  toTrace() {
    const ops = [];
    for (const op of this.trace) {
      const id = op.id - 1;
      if (op.op === "malloc") ops.push({ op: "a", id, size: op.size });
      else if (op.op === "calloc") ops.push({ op: "a", id, size: op.count * op.size });
      else if (op.op === "realloc") ops.push({ op: "r", id, size: op.size });
      else if (op.op === "free") ops.push({ op: "f", id });
    }
    return { ops, ids: Math.max(0, this.nextId - 1), header: "json", name: "session", options: heapOptions(this.options) };
  }

  // ------------------------------------------------------------ reading the heap

  /**
   * The heap as the renderers read it: `{ version, segments, pages, blocks, stats }`.
   * `blocks` and `pages` are views into wasm memory, re-read when the heap
   * changed or memory grew (which detaches them).
   */
  snapshot() {
    const c = this.cache;
    if (c && c.version === this.version && !isDetached(c.blocks) && !isDetached(c.pages)) return c;
    const stats = c && c.version === this.version ? c.stats : this.heap.stats();
    const segments = c && c.version === this.version ? c.segments : this.heap.segments();
    // Either call may grow memory (its table is a Rust Vec), detaching the
    // other view: read again until both are attached.
    let pages = this.heap.pages();
    let blocks = this.heap.blocks();
    for (let tries = 0; isDetached(pages) && tries < 3; tries++) {
      pages = this.heap.pages();
      if (isDetached(blocks)) blocks = this.heap.blocks();
    }
    // `opaque`: a production allocator's heap, whose headers are its own (block-layout.js).
    this.cache = { version: this.version, segments, pages, blocks, stats, opaque: Boolean(this.heap.opaque) };
    // The kernel heap's picture (caches, slabs, buddy blocks), for kernel-view.js.
    if (typeof this.heap.picture === "function") this.cache.kernel = c?.version === this.version && c.kernel ? c.kernel : this.heap.picture();
    return this.cache;
  }

  /**
   * The free lists in their own order, as the core keeps them:
   * `{ order, rover, lists: [{ label, min, max, blocks: [block address] }] }`
   * (see `Heap.freeLists()`), read once per version.
   */
  freeLists() {
    if (this.freeListCache?.version === this.version) return this.freeListCache.value;
    let value;
    if (typeof this.heap.freeLists === "function") value = this.heap.freeLists();
    else {
      // Before the core reported its lists: address order from the block table.
      const { blocks } = this.snapshot();
      const free = [];
      for (let i = 0; i < blocks.length; i += BLOCK.COLUMNS) if (!(blocks[i + BLOCK.FLAGS] & 1)) free.push(blocks[i]);
      value = { order: "address", rover: null, lists: [{ label: "", min: 0, max: 0, blocks: free }] };
    }
    this.freeListCache = { version: this.version, value };
    return value;
  }

  /** Releases the wasm heap. */
  dispose() {
    this.origin?.dispose();
    this.heap.dispose();
    this.listeners.clear();
  }
}

/**
 * A recorded operation in C, one description for every view (the timeline,
 * the embed's step counter): `p = malloc(24) → #3`, `calloc(4, 8) → #4`,
 * `realloc(#3, 48)`, `free(#3)`, `write 5 bytes into #3 at offset 0`.
 */
export function describeOp(op) {
  const name = op.name ? `${op.name} = ` : "";
  switch (op.op) {
    case "malloc":
      return `${name}${op.align ? `aligned_alloc(${op.align}, ${op.size})` : `malloc(${op.size})`} → #${op.id}`;
    case "calloc":
      return `${name}calloc(${op.count}, ${op.size}) → #${op.id}`;
    case "realloc":
      return `${name}realloc(#${op.id}, ${op.size})`;
    case "free":
      return `free(#${op.id})`;
    case "write":
      return `write ${op.bytes.length} bytes into #${op.id} at offset ${op.offset}`;
    case "flush":
      return "flush() the quick lists";
    case "cache-create":
      return `${name}cache_create("${op.label}", ${op.size}${op.align ? `, ${op.align}` : ""}) → cache ${op.cache}`;
    case "cache-alloc":
      return `${name}cache_alloc(cache ${op.cache}) → #${op.id}`;
    case "cache-free":
      return `cache_free(cache ${op.cache}, #${op.id})`;
    case "cache-shrink":
      return `cache_shrink(cache ${op.cache})`;
    default:
      return String(op.op);
  }
}

/** "first-fit, align 8, immediate coalescing, split ≥ 0, no limit" */
export function describeOptions(o) {
  // The kernel heap manages min(limit, 64 MiB) of pages: say the figure in force.
  if (o.policy === KMALLOC) return `kmalloc (slab caches over a buddy page allocator), ${o.maxBytes && o.maxBytes < KERNEL_DEFAULT_BYTES ? `limit ${o.maxBytes / 1024} KiB` : `${KERNEL_DEFAULT_BYTES >> 20} MiB of pages`}`;
  const limit = o.maxBytes ? `limit ${o.maxBytes / 1024} KiB` : "default limit (256 MiB)";
  const order = o.listOrder ? `, free list ${o.listOrder}` : "";
  return `${o.policy}${order}, align ${o.align}, ${o.coalesce} coalescing, split minimum ${o.splitMin}, ${limit}`;
}
