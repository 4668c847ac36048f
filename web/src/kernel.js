// The kernel heap for JS: `Kernel`, a slab allocator with kmalloc over a
// buddy page allocator (the wasm `RawKernel`), with the face of heaplab's
// `Heap` as well, so that the policy "kmalloc" plays every trace and the
// playground, the console and the trace driver drive it like the fits:
// `malloc` is `kmalloc`, `free` is `kfree`, `realloc` is Linux's `krealloc`
// (in place while the object or block holds the new size).
//
//   import { init, Kernel } from "heaplab";
//   await init();
//   const kernel = new Kernel();
//   const inode = kernel.cacheCreate("inode", 184);
//   const o = kernel.cacheAlloc(inode);
//   const k = kernel.kmalloc(64);
//   kernel.cacheFree(inode, o);
//   kernel.kfree(k);
//
// Allocation ids are kept here, as heaplab's Heap keeps them in wasm: every
// allocation (kmalloc, cache_alloc, malloc) takes the next id; `run()` gives
// trace id t the id t + 1. Saving a kernel heap keeps the list of operations
// that built it; restoring builds a fresh kernel heap and replays them (the
// allocator is deterministic, so it is the same heap).
import { RawKernel } from "../pkg/heaplab.js";
import { BLOCK, BLOCK_FLAG, PAGE, PAGE_SIZE, RUN, isTrap, wasmMemory } from "./heaplab.js";
import { BUDDY_META } from "./kernel-view.js";

/** The policy name of the kernel heap everywhere (playground, traces, share links, mdriver). */
export const KMALLOC = "kmalloc";

/**
 * Memory a kernel heap manages when no `bytes` is given: 64 MiB (every
 * malloc-lab trace fits: random-bal.rep needs more than 16 MiB, its blocks
 * rounded up to powers of two of pages), or less under a smaller `maxBytes`.
 * Wasm memory obtained and never touched costs address space, not RAM.
 */
export const KERNEL_DEFAULT_BYTES = 64 << 20;

/** The largest `kmalloc` served by a slab cache; larger sizes take 2^order pages from the buddy allocator. */
export const KMALLOC_MAX = 4096;

function fail(code, message) {
  return Object.assign(new Error(message), { code });
}

/** A Rust error as an Error with its `code`, a trap as code "trap". */
function coded(error) {
  if (isTrap(error)) return Object.assign(error instanceof Error ? error : new Error(String(error)), { code: "trap" });
  if (error instanceof Error) return error;
  return fail(error?.code ?? "internal", String(error?.message ?? error));
}

const hex = (n) => `0x${n.toString(16)}`;

/** Bytes a `kmalloc(size)` really gets: its size class up to 4 KiB, else 2^order pages. */
export function kmallocUsable(size) {
  if (size <= KMALLOC_MAX) return Math.max(8, 2 ** Math.ceil(Math.log2(Math.max(1, size))));
  return PAGE_SIZE * 2 ** Math.ceil(Math.log2(Math.ceil(size / PAGE_SIZE)));
}

/** The name of the kmalloc cache of `size` (up to 4 KiB), else null. */
export function kmallocCacheName(size) {
  return size > 0 && size <= KMALLOC_MAX ? `kmalloc-${kmallocUsable(size)}` : null;
}

function checkSize(size, what = "size") {
  if (typeof size !== "number") throw fail("invalid-size", `${what} must be a number, got ${typeof size}`);
  if (!Number.isInteger(size) || size < 0 || size > 0xffffffff) throw fail("invalid-size", `${what} must be a whole number of bytes, got ${size}`);
  return size;
}

export class Kernel {
  #raw = null;
  #bytes;
  /** The operations that built this heap: `[kind, ...args]`, replayed by `restore`. */
  #log = [];
  /** trace id -> object or block address (0: not live), requested bytes, usable bytes, cache (-1: kmalloc). */
  #address = [];
  #size = [];
  #usable = [];
  #cache = [];
  #byAddress = new Map();
  #next = 1;
  #live = 0;
  #liveRequested = 0;
  #peakLiveRequested = 0;
  #peakPages = 0;
  #operations = 0;
  #maxBytes;
  /** The smallest object kmalloc gives (options.align: 8, or 16 as on 64-bit Linux), so every address has that alignment. */
  #align = 8;

  /** @param {object} [options] `{ bytes, maxBytes, align }`: the memory it manages (obtained now); `policy` may only be "kmalloc" */
  constructor(options = {}) {
    if (!wasmMemory()) throw fail("not-initialised", "Heaplab is not initialised: await init() before creating a Kernel");
    if (options.policy !== undefined && options.policy !== KMALLOC) throw fail("invalid-policy", `a Kernel is the policy "kmalloc", not "${options.policy}"`);
    const limit = options.maxBytes ?? null;
    this.#maxBytes = limit;
    const bytes = options.bytes ?? (limit ? Math.min(limit, KERNEL_DEFAULT_BYTES) : KERNEL_DEFAULT_BYTES);
    checkSize(bytes, "bytes");
    if (bytes < 4 * PAGE_SIZE) throw fail("invalid-size", `a kernel heap needs at least 4 pages (16 KiB), got ${bytes} bytes`);
    this.#bytes = bytes;
    if (options.align !== undefined && options.align !== 8 && options.align !== 16) throw fail("invalid-align", `align must be 8 or 16, got ${options.align}`);
    this.#align = options.align ?? 8;
    this.#raw = this.#call(() => new RawKernel(bytes));
  }

  #call(fn) {
    try {
      return fn();
    } catch (error) {
      throw coded(error);
    }
  }

  get #k() {
    if (!this.#raw) throw fail("disposed", "this kernel heap was disposed");
    return this.#raw;
  }

  /** The policy (always "kmalloc"), for code that reads a heap's policy. */
  get policy() {
    return KMALLOC;
  }

  /** The options in force. */
  get options() {
    return { policy: KMALLOC, bytes: this.#bytes, maxBytes: this.#maxBytes, align: this.#align };
  }

  /** Objects have no header of their own (a slab's header is at its start): the payload is the block. */
  get opaque() {
    return true;
  }

  /** A kernel heap examines no free blocks: the figure is not shown. */
  get countsExamined() {
    return false;
  }

  // ------------------------------------------------------------ the kernel's calls

  /** Refuses an allocation whose id (the next one) is still live, before the allocator is asked. */
  #freeId() {
    if (this.#address[this.#next - 1]) throw fail("invalid-id", `id ${this.#next} is still allocated`);
  }

  #took(address, size, usable, cache) {
    const id = this.#next;
    this.#address[id - 1] = address;
    this.#size[id - 1] = size;
    this.#usable[id - 1] = usable;
    this.#cache[id - 1] = cache;
    this.#byAddress.set(address, id - 1);
    this.#next = id + 1;
    this.#live++;
    this.#liveRequested += size;
    this.#afterChange();
    return address;
  }

  #released(t) {
    this.#byAddress.delete(this.#address[t]);
    this.#address[t] = 0;
    this.#live--;
    this.#liveRequested -= this.#size[t];
    this.#afterChange();
  }

  #afterChange() {
    this.#operations++;
    if (this.#liveRequested > this.#peakLiveRequested) this.#peakLiveRequested = this.#liveRequested;
    const used = this.#k.stats().buddy.usedPages;
    if (used > this.#peakPages) this.#peakPages = used;
  }

  /** `kmalloc(size)`: an object of the cache kmalloc-2^k that holds `size` (8 B to 4 KiB), else a buddy block of 2^order pages. */
  kmalloc(size) {
    checkSize(size);
    this.#freeId();
    const asked = size === 0 ? 0 : Math.max(size, this.#align);
    const address = this.#call(() => this.#k.kmalloc(asked));
    this.#log.push(["kmalloc", this.#next, size]);
    return this.#took(address, size, kmallocUsable(asked), -1);
  }

  /**
   * The trace id of the live allocation at `address`. Anything else goes to
   * `judge` (the allocator's own free), which refuses it with its reason
   * (double free, interior pointer, not allocated) and changes nothing.
   */
  #idAt(address, what, judge = (a) => this.#k.kfree(a)) {
    if (typeof address !== "number") throw fail("invalid-free", `${what}: the address must be a number, got ${typeof address}`);
    const t = this.#byAddress.get(address);
    if (t !== undefined) return t;
    this.#call(() => judge(address));
    throw fail("invalid-free", `${what}: nothing was allocated at ${hex(address)}`);
  }

  /** `kfree(address)`: an object of any cache, or a large block. */
  kfree(address) {
    const t = this.#idAt(address, `kfree(${typeof address === "number" ? hex(address) : address})`);
    this.#call(() => this.#k.kfree(address));
    this.#log.push(["kfree", t + 1]);
    this.#released(t);
  }

  /** `cache_create(name, size, align)`: a cache of objects of `size` bytes (align 0: 8); its index. */
  cacheCreate(name, size, align = 0) {
    if (typeof name !== "string" || name.length === 0) throw fail("invalid-name", "a cache needs a name (text)");
    checkSize(size);
    checkSize(align, "align");
    const index = this.#call(() => this.#k.cacheCreate(name, size, align));
    this.#log.push(["cache-create", name, size, align]);
    return index;
  }

  /** `cache_alloc(cache)`: an object of cache `cache` (an index from `cacheCreate`, or a kmalloc cache's). */
  cacheAlloc(cache) {
    const info = this.#cacheInfo(cache);
    this.#freeId();
    const address = this.#call(() => this.#k.cacheAlloc(cache));
    this.#log.push(["cache-alloc", this.#next, cache]);
    return this.#took(address, info.size, info.stride, cache);
  }

  /** `cache_free(cache, address)`: the object must be one of that cache's, in use. */
  cacheFree(cache, address) {
    const info = this.#cacheInfo(cache);
    const what = `cache_free(${cache}, ${typeof address === "number" ? hex(address) : address})`;
    const t = this.#idAt(address, what, (a) => this.#k.cacheFree(cache, a));
    const owner = this.cacheOf(address);
    if (owner !== cache) {
      const is = owner < 0 ? "a large kmalloc block" : `an object of cache "${this.caches()[owner].name}"`;
      throw fail("invalid-free", `${what}: the address is ${is}, not of "${info.name}"; nothing changed`);
    }
    this.#call(() => this.#k.cacheFree(cache, address));
    this.#log.push(["cache-free", t + 1, cache]);
    this.#released(t);
  }

  /** Returns the cache's empty slabs to the buddy allocator; how many. */
  cacheShrink(cache) {
    this.#cacheInfo(cache);
    const n = this.#call(() => this.#k.cacheShrink(cache));
    this.#log.push(["cache-shrink", cache]);
    return n;
  }

  #cacheInfo(cache) {
    if (!Number.isInteger(cache) || cache < 0) throw fail("unknown-cache", `${cache} is not a cache (cache_create returns one)`);
    const info = this.caches()[cache];
    if (!info) throw fail("unknown-cache", `there is no cache ${cache}: this heap has ${this.caches().length}`);
    return info;
  }

  /** Every cache: `{ index, name, size, align, stride, order, objectsPerSlab, slabs: [empty, partial, full], live }`. */
  caches() {
    return this.#call(() => this.#k.caches());
  }

  /** Every slab: `{ address, cache, list, inuse, first, live }`, `live` one 0/1 per object in address order. */
  slabs() {
    return this.#call(() => this.#k.slabs());
  }

  /** The buddy allocator's blocks in address order: `{ address, order, free, owner }` (owner 0: pages or a large block, 1 + cache for a slab, `BUDDY_META` for the buddy allocator's own lists at the start of its memory). */
  buddyBlocks() {
    const view = this.#call(() => this.#k.buddyBlocks());
    const out = [];
    for (let i = 0; i < view.length; i += 4) out.push({ address: view[i], order: view[i + 1], free: view[i + 2] === 1, owner: view[i + 3] });
    return out;
  }

  /** The cache index of the object at `address` (-1 for a large block), or undefined when nothing is live there. */
  cacheOf(address) {
    const t = this.#byAddress.get(address);
    if (t === undefined) return undefined;
    if (this.#cache[t] >= 0) return this.#cache[t];
    return this.#usable[t] <= KMALLOC_MAX ? this.caches().findIndex((c) => c.name === kmallocCacheName(this.#size[t])) : -1;
  }

  /** Everything the picture of a kernel heap needs, in one object: `{ caches, slabs, blocks }`. */
  picture() {
    return { caches: this.caches(), slabs: this.slabs(), blocks: this.buddyBlocks() };
  }

  // ------------------------------------------------------------ Heap's face

  /** `malloc` of a kernel heap is `kmalloc` (0 bytes is refused, as kmalloc(0) gives no object). */
  malloc(size) {
    return this.kmalloc(size);
  }

  /** `free` is `kfree`; free(NULL) does nothing. */
  free(address) {
    if (address === 0 || address === null) return;
    this.kfree(address);
  }

  /** `count * size` zeroed bytes through kmalloc. */
  calloc(count, size) {
    checkSize(count, "count");
    checkSize(size);
    const bytes = count * size;
    if (bytes > 0xffffffff) throw fail("invalid-size", `calloc(${count}, ${size}) overflows`);
    const p = this.kmalloc(bytes);
    this.write(p, new Uint8Array(bytes), { log: false });
    return p;
  }

  /** Linux's `krealloc`: in place while the object or the block holds `size`, else a new allocation, the bytes copied, the old one freed. */
  realloc(address, size) {
    if (address === 0 || address === null) return this.malloc(size);
    checkSize(size);
    const t = this.#idAt(address, `realloc(${hex(Number(address))}, ${size})`);
    if (size === 0) {
      this.kfree(address);
      return 0;
    }
    if (size <= this.#usable[t]) {
      this.#liveRequested += size - this.#size[t];
      this.#size[t] = size;
      this.#log.push(["resize", t + 1, size]);
      this.#afterChange();
      return address;
    }
    const moved = this.#call(() => this.#k.kmalloc(Math.max(size, this.#align)));
    // Read the buffer after the call: a kmalloc may have grown memory.
    const keep = Math.min(this.#size[t], size);
    const memory = new Uint8Array(wasmMemory().buffer);
    memory.copyWithin(moved, address, address + keep);
    this.#call(() => this.#k.kfree(address));
    this.#log.push(["move", t + 1, size]);
    this.#liveRequested += size - this.#size[t];
    this.#byAddress.delete(address);
    this.#byAddress.set(moved, t);
    this.#address[t] = moved;
    this.#size[t] = size;
    this.#usable[t] = kmallocUsable(Math.max(size, this.#align));
    this.#cache[t] = -1;
    this.#afterChange();
    return moved;
  }

  /** The allocation id of the live allocation at `address`, or 0. */
  idOf(address) {
    const t = this.#byAddress.get(address);
    return t === undefined ? 0 : t + 1;
  }

  /** The address of live allocation `id`, or 0. */
  addressOf(id) {
    return this.#address[id - 1] || 0;
  }

  get nextId() {
    return this.#next;
  }

  set nextId(id) {
    if (!Number.isInteger(id) || id < 1) throw fail("invalid-id", `nextId must be a whole number from 1, got ${id}`);
    this.#next = id;
  }

  /** Runs `(code, id, size)` triples (RUN codes); throws the first failure with its `index`. */
  run(ops) {
    for (let i = 0; i < ops.length; i += 3) {
      const [code, id, size] = [ops[i], ops[i + 1], ops[i + 2]];
      try {
        if (code === RUN.MALLOC) {
          if (this.#address[id]) throw fail("invalid-id", `id ${id} is already allocated`);
          this.#next = id + 1;
          this.kmalloc(size);
        } else if (code === RUN.FREE) {
          if (!this.#address[id]) throw fail("invalid-free", `id ${id} is not allocated`);
          this.kfree(this.#address[id]);
        } else if (code === RUN.REALLOC) {
          if (!this.#address[id]) throw fail("invalid-free", `id ${id} is not allocated`);
          this.realloc(this.#address[id], size);
        } else throw fail("invalid-op", `operation code ${code} is not malloc, free or realloc`);
      } catch (error) {
        throw Object.assign(error, { index: i / 3 });
      }
    }
  }

  /** The bytes [address, address + length), inside the buddy allocator's pages. */
  #range(address, length) {
    const [base, bytes] = this.#span();
    if (!(Number.isInteger(address) && Number.isInteger(length) && length >= 0 && address >= base && address + length <= base + bytes)) {
      throw fail("out-of-bounds", `bytes ${hex(Number(address))}+${length} are not in the kernel heap's pages`);
    }
    return new Uint8Array(wasmMemory().buffer, address, length);
  }

  read(address, length) {
    return this.#range(address, length).slice();
  }

  write(address, bytes, { log = true } = {}) {
    const data = bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes);
    this.#range(address, data.length).set(data);
    if (log) this.#log.push(["write", address - this.#span()[0], data.slice()]);
  }

  /** The events of the last operation (kmalloc, kfree, cache_* and the buddy allocator's under them). */
  lastEvents() {
    return this.#call(() => this.#k.lastEvents());
  }

  /** No quick lists. */
  flush() {
    return false;
  }

  /** The integrity walk over the slab lists and the buddy allocator; throws code "corrupt-heap". */
  check() {
    this.#call(() => this.#k.check());
  }

  /** `[base, bytes]` of the pages the buddy allocator manages. */
  #span() {
    const blocks = this.#call(() => this.#k.buddyBlocks());
    if (blocks.length === 0) return [0, 0];
    const last = blocks.length - 4;
    return [blocks[0], blocks[last] + PAGE_SIZE * 2 ** blocks[last + 1] - blocks[0]];
  }

  /** One segment: the buddy allocator's pages. */
  segments() {
    const [base, bytes] = this.#span();
    return bytes ? [{ base, bytes }] : [];
  }

  /**
   * The figures, named as heaplab's Heap names them (allocated bytes are the
   * objects' and blocks' usable bytes, free bytes the buddy allocator's free
   * pages), and the kernel's own under `kernel` (SlabStats).
   */
  stats() {
    const k = this.#call(() => this.#k.stats());
    const b = k.buddy;
    const largest = b.largestFreeOrder === null || b.largestFreeOrder === undefined ? 0 : PAGE_SIZE * 2 ** b.largestFreeOrder;
    const freeBytes = b.freePages * PAGE_SIZE;
    let allocated = 0;
    for (let t = 0; t < this.#address.length; t++) if (this.#address[t]) allocated += this.#usable[t];
    const freeBlocks = b.freeBlocks.reduce((a, n) => a + n, 0);
    return {
      liveRequested: this.#liveRequested,
      peakLiveRequested: this.#peakLiveRequested,
      allocatedBytes: allocated,
      freeBytes,
      largestFree: largest,
      externalFragmentation: freeBytes > 0 ? 1 - largest / freeBytes : 0,
      utilization: this.#peakPages > 0 ? this.#peakLiveRequested / (this.#peakPages * PAGE_SIZE) : 0,
      pagesInUse: b.usedPages,
      heapBytes: b.pages * PAGE_SIZE,
      highWaterMark: this.#peakPages * PAGE_SIZE,
      liveBlocks: this.#live,
      freeBlocks,
      quickBlocks: 0,
      quickBytes: 0,
      arenas: k.slabs.reduce((a, n) => a + n, 0),
      segments: 1,
      lastExamined: null,
      totalExamined: null,
      operations: this.#operations,
      kernel: k,
    };
  }

  /**
   * The block table (heaplab's columns, address order): each object of each
   * slab (used or free), each large kmalloc block (used, flag LARGE), each
   * free buddy block (free). Slab headers and the unused tail of a slab are
   * no block.
   */
  blocks() {
    const C = BLOCK.COLUMNS;
    const rows = [];
    const caches = this.caches();
    const slabs = new Map(this.slabs().map((s) => [s.address, s]));
    for (const b of this.buddyBlocks()) {
      const bytes = PAGE_SIZE * 2 ** b.order;
      if (b.free) rows.push([b.address, bytes, 0, 0]);
      else if (b.owner === BUDDY_META) rows.push([b.address, bytes, BLOCK_FLAG.USED, 0]);
      else if (b.owner > 0) {
        const slab = slabs.get(b.address);
        const stride = caches[b.owner - 1].stride;
        slab?.live.forEach((used, i) => {
          const a = slab.first + i * stride;
          rows.push([a, stride, used ? BLOCK_FLAG.USED : 0, used ? this.idOf(a) : 0]);
        });
      } else rows.push([b.address, bytes, BLOCK_FLAG.USED | BLOCK_FLAG.LARGE, this.idOf(b.address)]);
    }
    const table = new Uint32Array(rows.length * C);
    rows.forEach(([address, size, flags, id], i) => {
      const r = i * C;
      table[r + BLOCK.ADDRESS] = address;
      table[r + BLOCK.SIZE] = size;
      table[r + BLOCK.PAYLOAD] = address;
      table[r + BLOCK.REQUESTED] = id ? this.#size[id - 1] : 0;
      table[r + BLOCK.FLAGS] = flags;
      table[r + BLOCK.ID] = id;
    });
    return table;
  }

  /** One owner byte per page (PAGE codes): a slab as an arena, a large block as a large object, free pages free. */
  pages() {
    const blocks = this.buddyBlocks();
    const [base, bytes] = this.#span();
    const out = new Uint8Array(bytes / PAGE_SIZE);
    for (const b of blocks) {
      const first = (b.address - base) / PAGE_SIZE;
      const n = 2 ** b.order;
      const [head, rest] = b.free ? [PAGE.FREE, PAGE.FREE] : b.owner === BUDDY_META ? [PAGE.META, PAGE.META] : b.owner > 0 ? [PAGE.ARENA_HEAD, PAGE.ARENA] : [PAGE.LARGE_HEAD, PAGE.LARGE];
      out.fill(rest, first, first + n);
      out[first] = head;
    }
    return out;
  }

  /** The buddy allocator's free lists, one per order with a block, smallest first, each in its own order. */
  freeLists() {
    const lists = [];
    for (let order = 0; order < 32; order++) {
      const blocks = Array.from(this.#call(() => this.#k.buddyFreeList(order)));
      const bytes = PAGE_SIZE * 2 ** order;
      if (blocks.length) lists.push({ label: `order ${order} (${2 ** order} page${order ? "s" : ""})`, min: bytes, max: bytes, quick: false, blocks });
      if (bytes >= this.#bytes) break;
    }
    return { order: "lifo", rover: null, lists };
  }

  /** Frees everything: a fresh kernel heap over the same memory. */
  reset() {
    this.#fresh();
  }

  #fresh() {
    try {
      this.#raw?.free();
    } catch {
      // A heap a trap left borrowed: its memory stays with the module.
    }
    this.#raw = null;
    this.#raw = this.#call(() => new RawKernel(this.#bytes));
    this.#log = [];
    this.#address = [];
    this.#size = [];
    this.#usable = [];
    this.#cache = [];
    this.#byAddress = new Map();
    this.#next = 1;
    this.#live = 0;
    this.#liveRequested = 0;
    this.#peakLiveRequested = 0;
    this.#peakPages = 0;
    this.#operations = 0;
  }

  /** The heap as it is now, for `restore` (the operations that built it and the ids). */
  save() {
    const log = this.#log.slice();
    const next = this.#next;
    return { log, next, dispose() {} };
  }

  /** Builds the heap again as it was at `saved`: a fresh heap and the same operations. */
  restore(saved) {
    if (!saved || !Array.isArray(saved.log)) throw fail("invalid-save", "restore() takes what save() returned");
    this.#fresh();
    for (const [kind, ...args] of saved.log) {
      if (kind === "kmalloc") {
        this.#next = args[0];
        this.kmalloc(args[1]);
      } else if (kind === "kfree") this.kfree(this.#address[args[0] - 1]);
      else if (kind === "cache-create") this.cacheCreate(...args);
      else if (kind === "cache-alloc") {
        this.#next = args[0];
        this.cacheAlloc(args[1]);
      } else if (kind === "cache-free") this.cacheFree(args[1], this.#address[args[0] - 1]);
      else if (kind === "cache-shrink") this.cacheShrink(args[0]);
      else if (kind === "resize" || kind === "move") this.realloc(this.#address[args[0] - 1], args[1]);
      else if (kind === "write") this.write(this.#span()[0] + args[0], args[1]);
    }
    this.#next = saved.next;
  }

  /** Releases the wasm object; the heap cannot be used afterwards. */
  dispose() {
    this.#raw?.free();
    this.#raw = null;
  }
}
