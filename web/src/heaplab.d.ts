// Type declarations of the public JS API (web/src/heaplab.js).

/** A fit policy: which free block serves a request. */
export type Policy = "first-fit" | "next-fit" | "best-fit" | "worst-fit" | "segregated";

/**
 * Order of a free list: where a freed, split-off or merged block is inserted.
 * "address": by address (first and next fit's default); "lifo": at the front;
 * "fifo": at the back; "size-asc": by size, smallest first (best and worst fit's
 * default, their size index); "size-desc": by size, largest first; "size-class":
 * one LIFO list per size class (segregated fit's only order).
 */
export type ListOrder = "address" | "lifo" | "fifo" | "size-asc" | "size-desc" | "size-class";

/** One free list of `Heap.freeLists()`. */
export interface FreeList {
  /** "free list" for a policy's one list; the size class for segregated fit ("24 B", "992-1023 B"). */
  label: string;
  /** Smallest block size the list may hold (0 for a one-list policy). */
  min: number;
  /** Largest block size the list may hold (2^32 - 1 for a one-list policy). */
  max: number;
  /** A quick list: freed blocks of one size (min = max) waiting to be merged (label "quick 24 B"). */
  quick: boolean;
  /**
   * The wilderness (best and segregated fit): the free block that ends the heap, kept apart and taken only
   * when no other free block holds a request (label "end of the heap", min = max = 0; searched last).
   */
  wilderness: boolean;
  /** Block (header) addresses in list order, as column ADDRESS of `Heap.blocks()`. */
  blocks: number[];
}

/** The free blocks in the order the policy's search walks them (`Heap.freeLists()`). */
export interface FreeLists {
  order: ListOrder;
  /** Next fit: the block address where the next search starts; otherwise null (and null when nothing is free). */
  rover: number | null;
  /**
   * One list (first, next, best, worst fit), or one per non-empty size class, smallest first (segregated fit);
   * then the wilderness (`wilderness` true), when the policy keeps one and the heap ends in a free block;
   * then one per non-empty quick list, smallest first (`quick` true).
   */
  lists: FreeList[];
}

/** Options of `new Heap(options)`; every field is optional. */
export interface HeapOptions {
  /** Fit policy (default "first-fit"). */
  policy?: Policy;
  /** Minimum payload alignment in bytes (default 8). */
  align?: 8 | 16;
  /** Most bytes the heap may obtain from wasm memory; beyond it, "out-of-memory". Default (absent or null): DEFAULT_MAX_BYTES, 256 MiB. */
  maxBytes?: number | null;
  /** Merge free neighbours on free ("immediate", default) or in a later sweep ("deferred"). */
  coalesce?: "immediate" | "deferred";
  /** Smallest remainder worth splitting off a block, in bytes (0 to 4096). */
  splitMin?: number;
  /**
   * Order of the free list (default: the policy's own). First, next, best and worst
   * fit take any but "size-class"; segregated fit only "size-class". Otherwise
   * "invalid-option".
   */
  listOrder?: ListOrder;
  /**
   * Quick lists (default false): a freed block of up to 256 bytes waits on a
   * list per size (block flag QUICK, events `quick-put` / `quick-take`) for the
   * next request of that size, and is merged only when the heap needs memory
   * or on `flush()` (event `flush`); a block realloc shrinks to half its size or
   * less then moves to a free block at hand. Best, worst and segregated fit only.
   */
  quickLists?: boolean;
}

/** Stable codes of the errors every method may throw. */
export type ErrorCode =
  | "double-free"
  | "invalid-free"
  | "out-of-memory"
  | "invalid-size"
  | "invalid-align"
  | "out-of-bounds"
  | "invalid-option"
  | "corrupt-heap"
  | "invalid-trace"
  | "invalid-save"
  | "not-initialised"
  | "disposed"
  | "unknown-cache"
  | "invalid-name"
  | "invalid-policy"
  | "internal";

/** Every failure is an Error with one of these codes; the heap is unchanged afterwards. */
export interface HeaplabError extends Error {
  code: ErrorCode;
}

/** The heap's figures (`Heap.stats()`). Bytes unless said otherwise. */
export interface Stats {
  /** Sum of the requested sizes of live allocations. */
  liveRequested: number;
  /** Peak of `liveRequested`. */
  peakLiveRequested: number;
  /** Bytes in used blocks, headers and padding included (large objects: their pages). */
  allocatedBytes: number;
  /** Bytes in free blocks. */
  freeBytes: number;
  /** Size of the largest free block. */
  largestFree: number;
  /** External fragmentation: 1 - largestFree / freeBytes (0 when nothing is free). */
  externalFragmentation: number;
  /** Malloc-lab utilization: peakLiveRequested / highWaterMark. */
  utilization: number;
  /** Pages (4 KiB) in use: arenas, large objects and metadata. */
  pagesInUse: number;
  /** Bytes over all segments (memory obtained from wasm). */
  heapBytes: number;
  /** Peak of pagesInUse × 4 KiB. */
  highWaterMark: number;
  /** Live allocations. */
  liveBlocks: number;
  /** Free blocks. */
  freeBlocks: number;
  /** Freed blocks waiting on the quick lists (not counted in liveBlocks or freeBlocks). */
  quickBlocks: number;
  /** Bytes of the quick blocks. */
  quickBytes: number;
  /** Arenas (runs of pages carved into blocks). */
  arenas: number;
  /** Segments (contiguous runs of wasm memory). */
  segments: number;
  /** Blocks examined by the last operation's search. */
  lastExamined: number;
  /** Blocks examined over all operations. */
  totalExamined: number;
  /** Operations that succeeded. */
  operations: number;
}

/**
 * One step of an operation, as `lastEvents()` reports it. Addresses are numbers.
 * Kinds added with the quick lists: `quick-put` {block, size} (a freed block went
 * on its quick list), `quick-take` {block, size} (taken from the quick list for
 * `size` bytes), `flush` {blocks} (the quick lists merged back), and `slide`
 * {block, to, size} (realloc slid a block into the free block before it).
 */
export type HeapEvent = { kind: string; [field: string]: number | string | boolean };

export interface Segment {
  base: number;
  bytes: number;
}

// The constants below are defined in Rust and reported by the wasm module:
// these objects are empty until `init()` resolves, then filled and frozen.
// Their values are the module's (not repeated here).

/** Columns of a row of `Heap.blocks()`, and COLUMNS, numbers per row. */
export declare const BLOCK: Readonly<Record<"ADDRESS" | "SIZE" | "PAYLOAD" | "REQUESTED" | "FLAGS" | "ID" | "COLUMNS", number>>;
/**
 * Bits of the FLAGS column. QUICK comes with USED: a freed block waiting
 * on a quick list, free to the program but still used to the allocator (not
 * merged, not in the free list); its REQUESTED column holds its payload bytes,
 * its ID is 0.
 */
export declare const BLOCK_FLAG: Readonly<Record<"USED" | "LARGE" | "QUICK", number>>;
/** Owner codes of `Heap.pages()`. */
export declare const PAGE: Readonly<Record<"FREE" | "META" | "ARENA_HEAD" | "ARENA" | "LARGE_HEAD" | "LARGE", number>>;
export declare const PAGE_SIZE: 4096;
export declare const WASM_PAGE_SIZE: 65536;
/** Operation codes of `Heap.run()` (from the wasm module, after `init()`). */
export declare const RUN: Readonly<Record<"MALLOC" | "FREE" | "REALLOC", number>>;

/**
 * Reads malloc-lab `.rep` text with Heaplab's one `.rep` reader (Rust, the one
 * the benchmarks use), every id's lifecycle checked: `ops` holds
 * `(RUN code, id, size)` triples, ready for `Heap.run`; `lines[i]` is the
 * 1-based text line of operation i.
 * @throws HeaplabError "invalid-trace" (with `line`, 1-based, and `reason`) on the first bad line.
 */
export function parseTrace(text: string | Uint8Array | ArrayBuffer): {
  ids: number;
  header: "short" | "classic";
  ops: Uint32Array;
  lines: Uint32Array;
};

/** What the trace readers accept at most: operations (and ids), bytes of a request, bytes of text. */
export function traceLimits(): { maxOps: number; maxSize: number; maxBytes: number };

/** What `Heap.save()` returns. */
export class SavedHeap {
  /** Releases the saved copy. */
  dispose(): void;
}

/** Every policy, in a stable order (from the wasm module, after `init()`). */
export declare const POLICIES: readonly Policy[];
/** Every free-list order, in a stable order (from the wasm module, after `init()`). */
export declare const LIST_ORDERS: readonly ListOrder[];

/**
 * Loads the wasm module once (Node reads the .wasm file; browsers fetch it).
 * Later calls return the same promise.
 */
export function init(source?: { module_or_path: unknown }): Promise<unknown>;

/** The compiled WebAssembly.Module once `init()` has resolved without a source (or with a Module), else null: post it to a worker and pass it to that worker's `init({ module_or_path })`. */
export function wasmModule(): WebAssembly.Module | null;

/** A heap in wasm linear memory. Several heaps can live at once. */
export class Heap {
  /** @throws HeaplabError "not-initialised" before `init()` has finished; "invalid-option". */
  constructor(options?: HeapOptions);
  /** The options this heap runs with, defaults filled in. */
  readonly options: Required<Omit<HeapOptions, "maxBytes">> & { maxBytes: number };
  /** Allocates `size` bytes; returns the payload's address in wasm memory. `malloc(0)` returns a unique minimum-size block (as glibc's). */
  malloc(size: number, align?: number): number;
  /** C's free: frees the block whose payload starts at `address`; `free(0)` (NULL) does nothing. */
  free(address: number): void;
  /**
   * Resizes; returns the (possibly moved) payload's address. The old bytes are kept.
   * `realloc(0, n)` is `malloc(n)`; `realloc(p, 0)` frees `p` and returns 0 (as glibc's).
   */
  realloc(address: number, size: number): number;
  /** Merges the quick lists' blocks back into the free list; whether there were any. */
  flush(): boolean;
  /** Allocates `count * size` zeroed bytes (overflow-checked). */
  calloc(count: number, size: number): number;
  /** A copy of `length` bytes at `address`, inside the heap's segments. */
  read(address: number, length: number): Uint8Array;
  /** Writes `bytes` at `address`, inside the heap's segments (headers included). */
  write(address: number, bytes: Uint8Array | ArrayLike<number>): void;
  /** @throws HeaplabError "corrupt-heap" naming the first broken invariant. */
  check(): void;
  stats(): Stats;
  /** Frees every block, keeping the memory already obtained. */
  reset(): void;
  /** Block table view: BLOCK.COLUMNS numbers per block, address order. Re-read after calls. */
  blocks(): Uint32Array;
  /** Owner byte (PAGE codes) per 4 KiB page of every segment, in segment order. Re-read after calls. */
  pages(): Uint8Array;
  segments(): Segment[];
  /** The free blocks in list order, list by list, then the quick lists; every free or quick block of `blocks()` is on exactly one list. */
  freeLists(): FreeLists;
  /** The allocation id of the live block whose payload starts at `address`, or 0 (column ID of `blocks()`). */
  idOf(address: number): number;
  /** The payload address of live allocation `id`, or 0. */
  addressOf(id: number): number;
  /** The id the next malloc or calloc gets; set it to replay with recorded ids ("invalid-id" when out of range). */
  nextId: number;
  /** What the last operation did. */
  lastEvents(): HeapEvent[];
  /** Runs `(code, id, size)` triples in wasm (RUN codes); throws the first failure with `index`. */
  run(ops: Uint32Array | ArrayLike<number>): void;
  /** Saves the whole heap (bookkeeping and pages in use). */
  save(): SavedHeap;
  /** Puts the heap back as it was at `saved`; throws "invalid-save" for another heap's save. */
  restore(saved: SavedHeap): void;
  /** Releases the Rust object; later calls throw "disposed". */
  dispose(): void;
}

/** The memory limit of a heap created without maxBytes: 256 MiB. */
export declare const DEFAULT_MAX_BYTES: number;
/** Whether an error is a wasm trap (code "trap"): the heap that threw it cannot be used again. */
export declare function isTrap(error: unknown): boolean;

/** The module's wasm memory once `init()` has resolved, else null. */
export declare function wasmMemory(): WebAssembly.Memory | null;

/** The kernel heap's policy name (playground, share links, traces, mdriver): "kmalloc". */
export declare const KMALLOC: "kmalloc";

/** Options of a kernel heap. */
export interface KernelOptions {
  /** Only "kmalloc" (what `createHeap` and the playground pass). */
  policy?: "kmalloc";
  /** Bytes of memory its buddy allocator manages, obtained at once (default 64 MiB, or `maxBytes` when smaller). */
  bytes?: number;
  /** A memory limit: the default `bytes` is at most this. */
  maxBytes?: number | null;
  /** The smallest object `kmalloc` (and `malloc`) hands out: 8 (default) or 16, so every address has that alignment. */
  align?: 8 | 16;
}

/** One slab cache of `Kernel.caches()`. */
export interface SlabCache {
  index: number;
  name: string;
  /** Object size asked for, its alignment, and bytes from one object to the next. */
  size: number;
  align: number;
  stride: number;
  /** A slab is 2^order pages holding `objectsPerSlab` objects. */
  order: number;
  objectsPerSlab: number;
  /** Slabs on the empty, partial and full lists. */
  slabs: [number, number, number];
  /** Objects in use. */
  live: number;
}

/** One slab of `Kernel.slabs()`. */
export interface SlabInfo {
  address: number;
  cache: number;
  list: "empty" | "partial" | "full";
  inuse: number;
  /** Address of object 0 (the slab header is before it). */
  first: number;
  /** 1 for each object in use, 0 for each free one, in address order. */
  live: number[];
}

/** One block of the buddy allocator (`Kernel.buddyBlocks()`). */
export interface BuddyBlock {
  address: number;
  /** The block is 2^order pages. */
  order: number;
  free: boolean;
  /** 0: pages or a large kmalloc block; 1 + cache index: a slab of that cache. */
  owner: number;
}

/**
 * A kernel heap: slab caches and `kmalloc` (size classes 8 B to 4 KiB; larger
 * sizes take 2^order pages) over a buddy page allocator, with Heap's methods
 * too (`malloc` is `kmalloc`, `free` is `kfree`, `realloc` is `krealloc`), so
 * it replays traces as the policy "kmalloc". Errors are HeaplabErrors, plus
 * "unknown-cache"; a refused call changes nothing.
 */
export interface Kernel extends Omit<Heap, "options" | "save" | "restore"> {}
export class Kernel {
  constructor(options?: KernelOptions);
  readonly options: { policy: "kmalloc"; bytes: number; maxBytes: number | null; align: 8 | 16 };
  readonly policy: "kmalloc";
  /** An object of the kmalloc cache for `size`, or above 4 KiB a block of 2^order pages; `kmalloc(0)` throws "invalid-size". */
  kmalloc(size: number): number;
  /** Gives back an object of any cache, or a large block. */
  kfree(address: number): void;
  /** A cache of objects of `size` bytes aligned to `align` (0: 8); its index. */
  cacheCreate(name: string, size: number, align?: number): number;
  /** An object of cache `cache`. */
  cacheAlloc(cache: number): number;
  /** Gives back an object of cache `cache` (another cache's object: "invalid-free"). */
  cacheFree(cache: number, address: number): void;
  /** Returns the cache's empty slabs to the buddy allocator; how many. */
  cacheShrink(cache: number): number;
  caches(): SlabCache[];
  slabs(): SlabInfo[];
  buddyBlocks(): BuddyBlock[];
  /** The cache of the live allocation at `address` (-1: a large block), or undefined. */
  cacheOf(address: number): number | undefined;
  /** What the map draws: caches, slabs and buddy blocks. */
  picture(): { caches: SlabCache[]; slabs: SlabInfo[]; blocks: BuddyBlock[] };
  /** A kernel heap's save: the operations that built it (`restore` replays them on a fresh heap). */
  save(): { dispose(): void };
  /** Builds the heap again as it was at `saved` ("invalid-save" for anything else). */
  restore(saved: { dispose(): void }): void;
}
