// The free-list panel: each free list in the order the allocator keeps and
// searches it, as OSTEP's malloc.py prints it after every operation:
//   Free list (address order): head → 0x141020 (48 B) → 0x141100 (15.8 KiB) → NULL
// One line per list (segregated fit: one per non-empty size class), then the
// wilderness (best and segregated fit: the free block at the end of the heap,
// searched last), then one per non-empty quick list (heaps with quick lists:
// freed blocks of one size waiting to be merged), marked as such. The map draws the same lists as
// arrows; both read `Heap.freeLists()`.
import { BLOCK } from "./heaplab.js";
import { hex, formatBytes } from "./format.js";

/** Entries shown per list before "… N more". */
export const SHOWN_PER_LIST = 40;
/** Lists shown before "… N more lists". */
export const SHOWN_LISTS = 24;

/** What each order means, in words. */
export const ORDER_WORDS = Object.freeze({
  address: "address order",
  lifo: "LIFO: the last block freed comes first",
  fifo: "FIFO: the last block freed goes last",
  "size-asc": "size order, smallest first",
  "size-desc": "size order, largest first",
  "size-class": "one list per size class",
});

/** The size of the block at `address` in a block table, or 0. */
export function blockSizeAt(blocks, address) {
  const C = BLOCK.COLUMNS;
  let lo = 0;
  let hi = blocks.length / C;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const a = blocks[mid * C + BLOCK.ADDRESS];
    if (a === address) return blocks[mid * C + BLOCK.SIZE];
    if (a < address) lo = mid + 1;
    else hi = mid;
  }
  return 0;
}

/** The panel's heading: "Free list (address order): 3 free blocks", and ", 2 on quick lists" when some wait there. */
export function freeListTitle(freeLists) {
  // A production allocator that keeps its free lists to itself.
  if (freeLists?.hidden) return "Free lists: kept inside this allocator, not shown";
  const all = freeLists?.lists ?? [];
  const lists = all.filter((l) => !l.quick);
  const words = ORDER_WORDS[freeLists?.order] ?? freeLists?.order ?? "";
  const count = lists.reduce((n, l) => n + l.blocks.length, 0);
  const quick = all.reduce((n, l) => n + (l.quick ? l.blocks.length : 0), 0);
  const noun = lists.filter((l) => !l.wilderness).length > 1 ? "Free lists" : "Free list";
  return `${noun}${words ? ` (${words})` : ""}: ${count} free block${count === 1 ? "" : "s"}${quick ? `, ${quick} on quick lists` : ""}`;
}

/**
 * Renders `freeLists` into `section` (an element holding an `h3` and an `ol`).
 * Never throws on odd input: a missing reading shows "no free list".
 */
export function renderFreeList(section, freeLists, { blocks = new Uint32Array(0) } = {}) {
  const doc = section.ownerDocument;
  const title = section.querySelector("h3");
  const ol = section.querySelector("ol");
  const lists = (freeLists?.lists ?? []).filter((l) => l.blocks.length > 0);
  if (title) title.textContent = freeListTitle(freeLists);
  const items = [];
  if (freeLists?.hidden) {
    const li = doc.createElement("li");
    li.className = "fl-empty";
    li.textContent = "This production allocator does not tell its free blocks: the map shows its live payloads, and the rest of its pages as \u201callocator's\u201d.";
    items.push(li);
  } else if (!lists.length) {
    const li = doc.createElement("li");
    li.className = "fl-empty";
    li.textContent = "head → NULL (no free block: the next allocation takes new pages)";
    items.push(li);
  }
  // The wilderness is always shown, however many size classes there are.
  const wild = lists.filter((l) => l.wilderness);
  const shown = lists.filter((l) => !l.wilderness).slice(0, SHOWN_LISTS - wild.length).concat(wild);
  for (const list of shown) {
    const li = doc.createElement("li");
    li.className = list.quick ? "fl-list fl-quick-list" : list.wilderness ? "fl-list fl-wild-list" : "fl-list";
    if (list.quick) li.title = "a quick list: freed blocks of one size, not merged yet; malloc of that size takes the first, Flush merges them all";
    if (list.wilderness) li.title = "the wilderness: the free block at the end of the heap, where the heap grows; it is taken only when no other free block holds the request, so holes are reused first";
    if (list.label && (lists.length > 1 || list.quick)) {
      const label = doc.createElement("span");
      label.className = "fl-class";
      label.textContent = `${list.label}: `;
      li.append(label);
    }
    li.append(doc.createTextNode("head"));
    for (const address of list.blocks.slice(0, SHOWN_PER_LIST)) {
      li.append(doc.createTextNode(" → "));
      const span = doc.createElement("span");
      span.className = list.quick ? "fl-block fl-quick" : "fl-block";
      span.dataset.address = String(address);
      if (freeLists.rover === address) span.classList.add("fl-rover");
      const size = blockSizeAt(blocks, address);
      span.textContent = `${hex(address)} (${size ? formatBytes(size) : "?"})`;
      if (freeLists.rover === address) span.title = "next fit's roving pointer: its next search starts here";
      li.append(span);
    }
    const more = list.blocks.length - SHOWN_PER_LIST;
    li.append(doc.createTextNode(more > 0 ? ` → … ${more} more` : " → NULL"));
    items.push(li);
  }
  if (lists.length > shown.length) {
    const li = doc.createElement("li");
    li.textContent = `… ${lists.length - shown.length} more lists`;
    items.push(li);
  }
  ol.replaceChildren(...items);
}
