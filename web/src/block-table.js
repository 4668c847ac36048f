// The block list as an HTML table: the map's text alternative, and what the
// end-to-end tests read. Built with DOM nodes and textContent only.
import { BLOCK, BLOCK_FLAG } from "./heaplab.js";

export const hex = (n) => `0x${n.toString(16).padStart(6, "0")}`;

/** The rows of the block table as plain objects. */
export function blockRows(blocks) {
  const rows = [];
  for (let i = 0; i < blocks.length; i += BLOCK.COLUMNS) {
    const flags = blocks[i + BLOCK.FLAGS];
    rows.push({
      address: blocks[i + BLOCK.ADDRESS],
      size: blocks[i + BLOCK.SIZE],
      payload: blocks[i + BLOCK.PAYLOAD],
      requested: blocks[i + BLOCK.REQUESTED],
      state: flags & BLOCK_FLAG.USED ? (flags & BLOCK_FLAG.LARGE ? "large" : "used") : "free",
      id: blocks[i + BLOCK.ID],
    });
  }
  return rows;
}

export function renderBlockTable(tbody, blocks) {
  const trs = blockRows(blocks).map((row) => {
    const tr = document.createElement("tr");
    tr.dataset.state = row.state;
    tr.dataset.payload = String(row.payload);
    for (const text of [hex(row.address), row.size, hex(row.payload), row.requested, row.state, row.id || ""]) {
      const td = document.createElement("td");
      td.textContent = String(text);
      tr.append(td);
    }
    return tr;
  });
  tbody.replaceChildren(...trs);
}
