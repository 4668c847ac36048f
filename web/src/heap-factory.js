// One way to make a heap for any policy: heaplab's Heap for the fits, a
// production allocator's PeerHeap (compare/peers.js) for talc, rlsf,
// dlmalloc, linked_list_allocator and buddy_system_allocator, which the
// playground offers in its policy list too. A production allocator's module
// must have loaded (loadPeers(), started by the page) before its heap is
// made; until then the choice is refused with a message.
import { Heap } from "./heaplab.js";
import { PEERS, PeerHeap, compiledPeer, isPeer, loadPeers } from "./compare/peers.js";

export { PEERS, isPeer, loadPeers };

/** A heap for `options.policy` (options as heaplab's Heap takes them). */
export function createHeap(options = {}) {
  if (!isPeer(options.policy)) return new Heap(options);
  const module = compiledPeer(options.policy);
  if (!module) throw Object.assign(new Error(`${options.policy} is still loading: choose it again in a moment`), { code: "not-loaded" });
  return new PeerHeap(options.policy, module, { maxBytes: options.maxBytes });
}
