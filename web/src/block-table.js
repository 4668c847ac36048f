// The block list as an HTML table: the map's text alternative, and what the
// end-to-end tests read. Built with DOM nodes and textContent only. A heap of
// 100k blocks shows a window of TABLE_LIMIT rows around the focused block.
import { blockInfo, blockCount } from "./blocks.js";
import { hex } from "./format.js";

export { hex };

/** Rows of the table at most. */
export const TABLE_LIMIT = 400;

/** The index range `[from, to)` of blocks the table shows, centred on `focus` when the heap is big. */
export function tableWindow(total, focus, limit = TABLE_LIMIT) {
  if (total <= limit) return [0, total];
  const from = Math.max(0, Math.min(total - limit, (focus < 0 ? 0 : focus) - Math.floor(limit / 2)));
  return [from, from + limit];
}

/** The rows of the block table as plain objects (all of them). */
export function blockRows(blocks, ids = null) {
  const rows = [];
  for (let i = 0; i < blockCount(blocks); i++) rows.push(blockInfo(blocks, i, ids));
  return rows;
}

/**
 * Fills `tbody` (and the `caption` text) for the snapshot's blocks.
 * Each row carries data-state, data-payload, data-index and data-id.
 */
export function renderBlockTable(tbody, blocks, { ids = null, focus = -1, caption = null } = {}) {
  const total = blockCount(blocks);
  const [from, to] = tableWindow(total, focus);
  const doc = tbody.ownerDocument;
  const trs = [];
  for (let i = from; i < to; i++) {
    const b = blockInfo(blocks, i, ids);
    const tr = doc.createElement("tr");
    tr.dataset.state = b.used ? "used" : "free";
    tr.dataset.payload = String(b.payload);
    tr.dataset.index = String(i);
    if (b.used) tr.dataset.id = String(b.id);
    if (i === focus) tr.setAttribute("aria-current", "true");
    const cells = [
      hex(b.address),
      b.size,
      hex(b.payload),
      b.used ? b.requested : "",
      b.used ? b.usable : "",
      b.state,
      b.used ? `#${b.id}` : "",
      b.used && b.label !== `#${b.id}` ? b.label : "",
    ];
    for (const text of cells) {
      const td = doc.createElement("td");
      td.textContent = String(text);
      tr.append(td);
    }
    trs.push(tr);
  }
  tbody.replaceChildren(...trs);
  if (caption) {
    caption.textContent =
      total > to - from
        ? `Blocks ${from + 1}–${to} of ${total} (the rows around the focused block)`
        : `${total} block${total === 1 ? "" : "s"}, in address order`;
  }
}
