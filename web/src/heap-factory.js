// One way to make a heap for any policy: heaplab's Heap for the fits, and
// for the kinds of heap a page registers, theirs. The playground and the
// compare page register the production allocators (compare/peers.js does,
// when it is imported), so their policy lists can offer talc, rlsf,
// dlmalloc, linked_list_allocator and buddy_system_allocator; the embed and
// the npm package import nothing of them and carry none of their modules.
// The kernel heap (policy "kmalloc", kernel.js) is heaplab's own: always known.
import { Heap, Kernel, KMALLOC } from "./heaplab.js";

/** Registered kinds: `{ owns(policy) -> bool, make(options) -> heap }`. */
const kinds = [];

/** Adds a kind of heap (once per `kind` object). */
export function registerHeaps(kind) {
  if (!kinds.includes(kind)) kinds.push(kind);
}

/** Whether a registered kind makes heaps of `policy` (a production allocator). */
export const isRegistered = (policy) => policy === KMALLOC || kinds.some((k) => k.owns(policy));

/** A heap for `options.policy` (options as heaplab's Heap takes them). */
export function createHeap(options = {}) {
  if (options.policy === KMALLOC) return new Kernel(options);
  const kind = kinds.find((k) => k.owns(options.policy));
  return kind ? kind.make(options) : new Heap(options);
}
