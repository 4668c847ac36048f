// The stats panel: the heap's figures, live. `statRows` is pure; `renderStats`
// fills a <dl> with textContent only.
import { formatBytes, formatPercent } from "./format.js";

/** `[key, label, value text]` for each figure shown, in order. */
export function statRows(s) {
  return [
    ["liveRequested", "Live requested", `${formatBytes(s.liveRequested)} (peak ${formatBytes(s.peakLiveRequested)})`],
    ["allocatedBytes", "Allocated (blocks in use)", formatBytes(s.allocatedBytes)],
    ["freeBytes", "Free in blocks", formatBytes(s.freeBytes)],
    ["largestFree", "Largest free block", formatBytes(s.largestFree)],
    ["externalFragmentation", "External fragmentation", formatPercent(s.externalFragmentation)],
    ["utilization", "Utilization", formatPercent(s.utilization)],
    ["pagesInUse", "Pages in use", `${s.pagesInUse} of ${s.heapBytes / 4096} (${formatBytes(s.heapBytes)})`],
    ["blocks", "Blocks", `${s.liveBlocks} used, ${s.freeBlocks} free`],
    ["segments", "Segments / arenas", `${s.segments} / ${s.arenas}`],
    ["lastExamined", "Blocks examined by the last operation", String(s.lastExamined)],
    ["totalExamined", "Blocks examined in all", String(s.totalExamined)],
    ["operations", "Operations", String(s.operations)],
  ];
}

export function renderStats(dl, stats) {
  const doc = dl.ownerDocument;
  const nodes = [];
  for (const [key, label, value] of statRows(stats)) {
    const dt = doc.createElement("dt");
    dt.textContent = label;
    const dd = doc.createElement("dd");
    dd.textContent = value;
    dd.dataset.stat = key;
    nodes.push(dt, dd);
  }
  dl.replaceChildren(...nodes);
}
