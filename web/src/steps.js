// Step mode, the pure part: what one operation did (the core's events, from
// `Heap.lastEvents()`) as a list of frames to show one at a time, each with a
// caption in words and the byte ranges to highlight on the map. No DOM, no
// timers (step-player.js plays the frames).
//
//   stepFrames(events, { policy, coalesce, align }) ->
//     [{ kind, caption, marks: [{ start, end, role }], phase }]
//
// `phase` is "before" while the operation has only looked (the search: the
// map can show the heap as it was before the operation) and "after" from its
// first change on (a split, a header written, a merge, new memory).
//
// Roles: "visit" (the search looks at a free block), "reject" (it does not
// fit; stays marked while the search goes on), "choose", "split" (the part
// used), "remainder" (the part left free), "header" (a header written),
// "free" (a block marked free), "merge" (the merged free block), "memory"
// (pages or memory obtained or returned).
import { hex, formatBytes } from "./format.js";

/** Bytes of a block header. */
export const HEADER_BYTES = 8;

/** Events that change the heap: from the first of them on, a frame shows the heap after the operation. */
export const CHANGES = new Set([
  "split",
  "mark-used",
  "mark-free",
  "merge",
  "resize",
  "grow",
  "pages-taken",
  "pages-returned",
  "meta-moved",
  "large-alloc",
  "arena-new",
  "arena-extend",
  "sweep-start",
  "quick-put",
  "quick-take",
  "flush",
  "slide",
  "buddy-split",
  "buddy-alloc",
  "buddy-free",
  "buddy-merge",
  "slab-new",
  "slab-free",
  "slab-moved",
  "object-alloc",
  "object-free",
]);

/** How each policy searches, said once at the start of an allocation. */
export const POLICY_SEARCH = Object.freeze({
  "first-fit": "walks the free list from the start and takes the first block big enough",
  "next-fit": "walks the free list from where the last search stopped and takes the first block big enough",
  "best-fit": "searches its size index for the smallest free block big enough",
  "worst-fit": "searches its size index for the largest free block",
  segregated: "jumps to the free list of the request's size class (constant time)",
});

/** How each policy searches a free list kept in a chosen order (the listOrder option). */
export const ORDERED_SEARCH = Object.freeze({
  "first-fit": "walks the free list from its head and takes the first block big enough",
  "next-fit": "walks the free list from where the last search stopped and takes the first block big enough",
  "best-fit": "walks the whole free list and takes the smallest block big enough (the first of equal size in list order)",
  "worst-fit": "walks the whole free list and takes the largest block (the first of equal size in list order)",
});

/** The order of a free list, in words (the listOrder option). */
export const ORDER_NAMES = Object.freeze({
  address: "kept in address order",
  lifo: "kept LIFO: a freed block goes to the front",
  fifo: "kept FIFO: a freed block goes to the back",
  "size-asc": "kept by size, smallest first",
  "size-desc": "kept by size, largest first",
});

/** "first-fit" → "first fit", "segregated" → "segregated fit". */
export function policyWords(policy) {
  return policy === "segregated" ? "segregated fit" : String(policy ?? "the policy").replace("-", " ");
}

const bytes = (n) => `${n} byte${n === 1 ? "" : "s"}`;
const at = (address) => hex(address);

/**
 * The frames of one operation's events.
 * @param {Array<object>} events `Heap.lastEvents()`
 * @param {object} [context] `{ policy, coalesce, align }` of the heap
 */
export function stepFrames(events, { policy = "first-fit", coalesce = "immediate", align = 8, listOrder = null, kernel = null, call = null } = {}) {
  if (policy === "kmalloc") return kernelFrames(events, kernel, call);
  const who = policyWords(policy);
  const frames = [];
  let request = 0;
  let requestAlign = align;
  let rejected = []; // marks of the blocks rejected so far in this search
  let phase = "before";
  const frame = (kind, caption, marks = []) => {
    if (CHANGES.has(kind)) phase = "after";
    frames.push({ kind, caption, marks: [...rejected, ...marks], phase });
  };

  for (const e of Array.isArray(events) ? events : []) {
    switch (e?.kind) {
      case "alloc":
        request = e.size;
        requestAlign = e.align || align;
        rejected = [];
        frame(
          "alloc",
          `malloc(${e.size})${requestAlign !== align ? ` aligned to ${requestAlign}` : ""}: needs ${bytes(e.size)} of payload plus an ${HEADER_BYTES}-byte header; ${who} ${
            listOrder && ORDERED_SEARCH[policy] ? `${ORDERED_SEARCH[policy]}, the list ${ORDER_NAMES[listOrder] ?? listOrder}` : (POLICY_SEARCH[policy] ?? "looks for a free block")
          }`,
        );
        break;
      case "realloc":
        request = e.size;
        rejected = [];
        frame("realloc", `realloc(${at(e.payload)}, ${e.size}): first tries to grow or shrink the block where it is`, [
          { start: e.payload - HEADER_BYTES, end: e.payload, role: "header" },
        ]);
        break;
      case "free":
        rejected = [];
        frame("free", `free(${at(e.payload)}): the block's header is just before the payload, at ${at(e.payload - HEADER_BYTES)}`, [
          { start: e.payload - HEADER_BYTES, end: e.payload, role: "header" },
        ]);
        break;
      case "visit":
        frame("visit", `${who}: looks at the free block at ${at(e.block)} (${bytes(e.size)})`, [{ start: e.block, end: e.block + e.size, role: "visit" }]);
        break;
      case "reject": {
        const why =
          e.reason === "alignment"
            ? `cannot place ${bytes(request)} aligned to ${requestAlign} in it`
            : e.reason === "not-best"
              ? `would fit, but a ${policy === "worst-fit" ? "larger" : "smaller"} free block is better`
              : `is too small for ${bytes(request)}`;
        frame("reject", `${who}: block at ${at(e.block)} (${bytes(e.size)}) ${why}`);
        rejected.push({ start: e.block, end: e.block + e.size, role: "reject" });
        frames[frames.length - 1].marks = [...rejected];
        break;
      }
      case "size-class":
        frame("size-class", `${who}: jumps to the free list of the size class ${e.min}–${e.max} bytes`);
        break;
      case "choose":
        frame("choose", `${who}: chooses the block at ${at(e.block)} (${bytes(e.size)})`, [{ start: e.block, end: e.block + e.size, role: "choose" }]);
        rejected = [];
        break;
      case "split":
        frame(
          "split",
          `splits it: the first ${bytes(e.size)} serve the request, the remaining ${bytes(e.remainder)} at ${at(e.block + e.size)} stay a free block`,
          [
            { start: e.block, end: e.block + e.size, role: "split" },
            { start: e.block + e.size, end: e.block + e.size + e.remainder, role: "remainder" },
          ],
        );
        break;
      case "mark-used":
        frame(
          "mark-used",
          `writes the header at ${at(e.block)}: ${bytes(e.size)}, used; the payload (${bytes(e.requested)} asked for) starts at ${at(e.block + HEADER_BYTES)}`,
          [{ start: e.block, end: e.block + HEADER_BYTES, role: "header" }, { start: e.block + HEADER_BYTES, end: e.block + e.size, role: "split" }],
        );
        break;
      case "mark-free":
        frame(
          "mark-free",
          `marks the block at ${at(e.block)} (${bytes(e.size)}) free: its header and footer are rewritten${
            coalesce === "deferred" ? "; coalescing is deferred, so its free neighbours merge only at the next sweep" : ""
          }`,
          [{ start: e.block, end: e.block + e.size, role: "free" }],
        );
        break;
      case "merge":
        frame("merge", `merges the free neighbours at ${at(e.block)} and ${at(e.with)} into one free block of ${bytes(e.size)}`, [
          { start: e.block, end: e.block + e.size, role: "merge" },
        ]);
        break;
      case "resize":
        frame("resize", `resizes the block at ${at(e.block)} in place to ${bytes(e.size)}`, [{ start: e.block, end: e.block + e.size, role: "choose" }]);
        break;
      case "grow":
        frame(
          "grow",
          `no free block fits: asks for ${formatBytes(e.bytes)} more memory (memory.grow, ${e.bytes / 65536} wasm page${e.bytes === 65536 ? "" : "s"}) at ${at(e.addr)}, ${
            e.newSegment ? "a new segment (not next to the last one)" : "extending the last segment"
          }`,
          [{ start: e.addr, end: e.addr + e.bytes, role: "memory" }],
        );
        break;
      case "pages-taken":
        frame("pages-taken", `takes ${e.pages} page${e.pages === 1 ? "" : "s"} of 4 KiB at ${at(e.addr)} for ${String(e.owner).replace("-", " ")}`, [
          { start: e.addr, end: e.addr + e.pages * 4096, role: "memory" },
        ]);
        break;
      case "pages-returned":
        frame("pages-returned", `returns ${e.pages} page${e.pages === 1 ? "" : "s"} at ${at(e.addr)} to the page layer`, [
          { start: e.addr, end: e.addr + e.pages * 4096, role: "memory" },
        ]);
        break;
      case "meta-moved":
        frame("meta-moved", `the page map moves to a bigger run of ${e.pages} page${e.pages === 1 ? "" : "s"} at ${at(e.addr)}`, [
          { start: e.addr, end: e.addr + e.pages * 4096, role: "memory" },
        ]);
        break;
      case "large-alloc":
        frame("large-alloc", `the request is large: it skips the blocks and takes a run of ${e.pages} pages of its own at ${at(e.block)}`, [
          { start: e.block, end: e.block + e.pages * 4096, role: "choose" },
        ]);
        break;
      case "arena-new":
        frame("arena-new", `starts a new arena of ${e.pages} page${e.pages === 1 ? "" : "s"} at ${at(e.addr)}, to be carved into blocks`, [
          { start: e.addr, end: e.addr + e.pages * 4096, role: "memory" },
        ]);
        break;
      case "arena-extend":
        frame("arena-extend", `the arena grows by ${e.pages} page${e.pages === 1 ? "" : "s"} at ${at(e.addr)}`, [
          { start: e.addr, end: e.addr + e.pages * 4096, role: "memory" },
        ]);
        break;
      case "sweep-start":
        frame("sweep-start", "deferred coalescing: the sweep walks the heap and merges every run of neighbouring free blocks");
        break;
      case "sweep-end":
        frame("sweep-end", `the sweep is done: ${e.merged} merge${e.merged === 1 ? "" : "s"}`);
        break;
      case "quick-put":
        frame("quick-put", `the freed block at ${at(e.block)} (${bytes(e.size)}) waits on the quick list for its size, still marked used: no merge now, and the next request of this size takes it at once`, [
          { start: e.block, end: e.block + e.size, role: "free" },
        ]);
        break;
      case "quick-take":
        frame("quick-take", `taken from the quick list for ${bytes(e.size)}: the block at ${at(e.block)} waited there, so no search and no split`, [
          { start: e.block, end: e.block + e.size, role: "choose" },
        ]);
        break;
      case "flush":
        frame("flush", `flushes the quick lists: ${e.blocks} waiting block${e.blocks === 1 ? "" : "s"} are freed for real and merged with their free neighbours, before the heap asks for more memory`);
        break;
      case "slide":
        frame("slide", `realloc slides the block at ${at(e.block)} down into the free block before it, at ${at(e.to)}: ${bytes(e.size)} now, the bytes copied, no new memory`, [
          { start: e.to, end: e.to + e.size, role: "merge" },
        ]);
        break;
      case "error":
        frame("error", `fails: ${e.code}`);
        break;
      default:
        if (e && typeof e.kind === "string") frame(e.kind, e.kind);
    }
  }
  return frames;
}

const PAGE = 4096;
const pagesOf = (order) => `${2 ** order} page${order ? "s" : ""}`;

/**
 * The frames of one kernel heap operation (policy kmalloc): the slab
 * allocator's events and the buddy allocator's under them. `kernel` is the
 * heap's picture after the operation (`Kernel.picture()`: caches, slabs),
 * for the caches' names and the slab an object lies in. `call` is the call
 * in C ("kmalloc(64)", "cache_free(inode, o)"), when known.
 */
export function kernelFrames(events, kernel, call = null) {
  const caches = kernel?.caches ?? [];
  const slabs = kernel?.slabs ?? [];
  const name = (c) => (caches[c] ? `"${caches[c].name}"` : `cache ${c}`);
  const slabOf = (address) => slabs.find((s) => address >= s.address && address < s.address + PAGE * 2 ** (caches[s.cache]?.order ?? 0));
  const list = Array.isArray(events) ? events : [];
  const frames = [];
  let phase = "before";
  let newSlab = false;
  let asked = false;
  // cache_shrink frees no object: it hands the cache's empty slabs back.
  const shrink = Boolean(call?.startsWith("cache_shrink"));
  const frame = (kind, caption, marks = []) => {
    if (CHANGES.has(kind)) phase = "after";
    frames.push({ kind, caption, marks, phase });
  };
  for (const e of list) {
    switch (e?.kind) {
      case "alloc": {
        if (asked) break; // the buddy allocator's own request under a kmalloc
        asked = true;
        const object = list.find((x) => x?.kind === "object-alloc");
        const who = call ?? `${bytes(e.size)}`;
        if (object) {
          const c = caches[object.cache];
          frame("alloc", `${who}: an object of cache ${name(object.cache)} (objects of ${c ? bytes(c.stride) : "its size"}); a cache serves from a partial slab first, then an empty one, and only then takes a new slab`);
        } else if (e.size > PAGE) {
          const order = Math.ceil(Math.log2(Math.ceil(e.size / PAGE)));
          frame("alloc", `${call ?? `kmalloc(${e.size})`}: above 4 KiB no cache serves it: it takes 2^${order} = ${pagesOf(order)} straight from the buddy allocator (order ${order}), ${bytes(PAGE * 2 ** order - e.size)} of them unused (rounding to a power of two)`);
        } else frame("alloc", `${who}: asked of the kernel heap`);
        break;
      }
      case "free":
        if (shrink) frame("free", `${call}: the cache's empty slab at ${at(e.payload)} holds pages no object uses; the cache gives it back`);
        else frame("free", `${call ?? "free"} at ${at(e.payload)}: the buddy allocator's tags say which block holds the address, the slab's header which cache and object it is`);
        break;
      case "buddy-split": {
        const half = PAGE * 2 ** (e.order - 1);
        frame("buddy-split", `the buddy allocator splits the free block of order ${e.order} at ${at(e.addr)} into two of order ${e.order - 1}: ${at(e.addr)} and its buddy ${at(e.addr + half)}`, [
          { start: e.addr, end: e.addr + 2 * half, role: "split" },
        ]);
        break;
      }
      case "buddy-alloc":
        frame("buddy-alloc", `the buddy allocator hands out the block of order ${e.order} (${pagesOf(e.order)}) at ${at(e.addr)}`, [{ start: e.addr, end: e.addr + PAGE * 2 ** e.order, role: "choose" }]);
        break;
      case "slab-new":
        newSlab = true;
        frame("slab-new", `new slab for cache ${name(e.cache)}: ${pagesOf(e.order)} from the buddy allocator (order ${e.order}) at ${at(e.addr)}, a header and then ${caches[e.cache]?.objectsPerSlab ?? "its"} objects, all free`, [
          { start: e.addr, end: e.addr + PAGE * 2 ** e.order, role: "memory" },
        ]);
        break;
      case "slab-moved":
        frame("slab-moved", `the slab at ${at(e.addr)} moves to the ${e.list} list of cache ${name(e.cache)}`);
        break;
      case "object-alloc": {
        const slab = slabOf(e.addr);
        const where = newSlab ? "the new slab" : `${slab?.list === "full" ? "the now full" : "a partial"} slab at ${slab ? at(slab.address) : "?"}`;
        frame("object-alloc", `from cache ${name(e.cache)}, ${where}: the object at ${at(e.addr)}, the first on its slab's free list`, [
          { start: e.addr, end: e.addr + (caches[e.cache]?.stride ?? 8), role: "choose" },
        ]);
        break;
      }
      case "object-free":
        frame("object-free", `the object at ${at(e.addr)} goes back on the free list of its slab (cache ${name(e.cache)})`, [
          { start: e.addr, end: e.addr + (caches[e.cache]?.stride ?? 8), role: "free" },
        ]);
        break;
      case "slab-free":
        frame("slab-free", shrink ? `the empty slab at ${at(e.addr)} leaves cache ${name(e.cache)}: its ${pagesOf(e.order)} ${e.order ? "go" : "goes"} back to the buddy allocator` : `the slab at ${at(e.addr)} is empty and its cache already keeps an empty slab: its ${pagesOf(e.order)} ${e.order ? "go" : "goes"} back to the buddy allocator`, [
          { start: e.addr, end: e.addr + PAGE * 2 ** e.order, role: "memory" },
        ]);
        break;
      case "buddy-free":
        frame("buddy-free", `the buddy allocator takes back the block of order ${e.order} at ${at(e.addr)}`, [{ start: e.addr, end: e.addr + PAGE * 2 ** e.order, role: "free" }]);
        break;
      case "buddy-merge":
        frame("buddy-merge", `its buddy at ${at(e.with)} (address XOR size) is free too: the two merge into one block of order ${e.order} at ${at(Math.min(e.addr, e.with))}`, [
          { start: Math.min(e.addr, e.with), end: Math.min(e.addr, e.with) + PAGE * 2 ** e.order, role: "merge" },
        ]);
        break;
      case "error":
        frame("error", `fails: ${e.code}; nothing changed`);
        break;
      default:
        if (e && typeof e.kind === "string") frame(e.kind, e.kind);
    }
  }
  return frames;
}
