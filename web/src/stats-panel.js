// The stats panel: the heap's figures, live. `statRows` is pure; `renderStats`
// fills a <dl> with textContent only.
import { formatBytes, formatPercent } from "./format.js";

const PAGE = 4096;

/**
 * What "peak utilization" means, shown on hover wherever the figure is
 * (here and on the compare page): it is malloc-lab's U, so it stays at its
 * peak after everything is freed.
 */
export const PEAK_UTILIZATION_DEFINITION =
  "Peak utilization (malloc-lab's U): peak live requested bytes ÷ heap span, the most heap (4 KiB pages in use) the allocator ever held. " +
  "It does not fall when blocks are freed. \"now\" is live requested bytes ÷ the pages in use now.";

/** Live requested bytes over the pages in use now (0 for an empty heap): utilization at this moment. */
export function currentUtilization(s) {
  return s.pagesInUse > 0 ? s.liveRequested / (s.pagesInUse * PAGE) : 0;
}

/** What the panel says of a figure the allocator does not give. */
export const NOT_SHOWN = "not shown by this allocator";

/** `[key, label, value text, definition?]` for each figure shown, in order. */
export function statRows(s) {
  // A production allocator does not give every figure (null): "not shown by this allocator".
  const known = (v, show) => (v === null || v === undefined ? NOT_SHOWN : show(v));
  if (s.kernel) return kernelRows(s);
  return [
    ["liveRequested", "Live requested", `${formatBytes(s.liveRequested)} (peak ${formatBytes(s.peakLiveRequested)})`],
    ["allocatedBytes", "Allocated (blocks in use)", known(s.allocatedBytes, formatBytes)],
    ["freeBytes", "Free in blocks", known(s.freeBytes, formatBytes)],
    ["largestFree", "Largest free block", known(s.largestFree, formatBytes)],
    ["externalFragmentation", "External fragmentation", known(s.externalFragmentation, formatPercent)],
    ["utilization", "Peak utilization", `${formatPercent(s.utilization)} (now ${formatPercent(currentUtilization(s))})`, PEAK_UTILIZATION_DEFINITION],
    ["pagesInUse", "Pages in use", `${s.pagesInUse} of ${s.heapBytes / PAGE} (${formatBytes(s.heapBytes)})`],
    ["blocks", "Blocks", s.freeBlocks === null ? `${s.liveBlocks} used; free ones ${NOT_SHOWN}` : `${s.liveBlocks} used, ${s.freeBlocks} free${s.quickBlocks ? `, ${s.quickBlocks} on quick lists (${s.quickBytes} B)` : ""}`],
    ["segments", "Segments / arenas", `${s.segments} / ${s.arenas}`],
    ["lastExamined", "Blocks examined by the last operation", known(s.lastExamined, String)],
    ["totalExamined", "Blocks examined in all", known(s.totalExamined, String)],
    ["operations", "Operations", String(s.operations)],
  ];
}

/** The kernel heap's figures (policy kmalloc): its slabs, objects and large blocks, and the buddy allocator's pages under them. */
function kernelRows(s) {
  const k = s.kernel;
  const b = k.buddy;
  const [empty, partial, full] = k.slabs;
  return [
    ["liveRequested", "Live requested", `${formatBytes(s.liveRequested)} (peak ${formatBytes(s.peakLiveRequested)})`],
    ["objects", "Objects in use", `${k.objects} (${formatBytes(k.objectBytes)}) in ${k.caches} caches`],
    ["slabs", "Slabs: empty / partial / full", `${empty} / ${partial} / ${full} (${k.slabPages} page${k.slabPages === 1 ? "" : "s"})`],
    ["slabUtilization", "Slab bytes in objects", formatPercent(k.utilization)],
    ["largeBlocks", "Large kmalloc blocks", `${k.largeBlocks} (${k.largePages} page${k.largePages === 1 ? "" : "s"})`],
    ["pagesInUse", "Pages in use", `${b.usedPages} of ${b.pages} (${formatBytes(b.pages * PAGE)}), ${b.metaPages} more for its own metadata`],
    ["internalFragmentation", "Lost to 2^order rounding", formatPercent(b.internalFragmentation)],
    ["largestFree", "Largest free buddy block", b.largestFreeOrder === null ? "none" : `order ${b.largestFreeOrder} (${formatBytes(PAGE * 2 ** b.largestFreeOrder)})`],
    ["splits", "Buddy splits / merges", `${b.splits} / ${b.merges}`],
    ["utilization", "Peak utilization", `${formatPercent(s.utilization)} (now ${formatPercent(currentUtilization(s))})`, PEAK_UTILIZATION_DEFINITION],
    ["operations", "Operations", String(s.operations)],
  ];
}

export function renderStats(dl, stats) {
  const doc = dl.ownerDocument;
  const nodes = [];
  for (const [key, label, value, definition] of statRows(stats)) {
    const dt = doc.createElement("dt");
    dt.textContent = label;
    const dd = doc.createElement("dd");
    dd.textContent = value;
    dd.dataset.stat = key;
    if (definition) {
      dt.title = definition;
      dd.title = definition;
      dt.classList.add("defined");
    }
    nodes.push(dt, dd);
  }
  dl.replaceChildren(...nodes);
}
