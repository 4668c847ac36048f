// Geometry of the heap map: where each address of each segment is drawn.
//
// The map is a column of rows; each row shows `bytesPerRow` consecutive bytes
// (one 4 KiB page by default). Segments follow one another with a gap between
// them, so memory the heap does not own is visibly not part of it.
import { PAGE_SIZE } from "./heaplab.js";

/**
 * @param {{base:number, bytes:number}[]} segments in address order
 * @param {{width:number, bytesPerRow?:number, rowHeight?:number, gap?:number, left?:number}} options
 */
export function computeLayout(segments, { width, bytesPerRow = PAGE_SIZE, rowHeight = 18, gap = 14, left = 84 }) {
  const rows = [];
  let y = 0;
  const placed = segments.map((segment, index) => {
    if (index > 0) y += gap;
    const top = y;
    for (let offset = 0; offset < segment.bytes; offset += bytesPerRow) {
      rows.push({ addr: segment.base + offset, y, segment: index });
      y += rowHeight;
    }
    return { ...segment, top, bottom: y };
  });
  const plotWidth = Math.max(1, width - left);
  return {
    rows,
    segments: placed,
    height: y,
    width,
    left,
    plotWidth,
    rowHeight,
    bytesPerRow,
    scale: plotWidth / bytesPerRow, // pixels per byte

    /** The rectangles covering bytes [start, end), one per row they touch. */
    rects(start, end) {
      const out = [];
      for (const row of rowsBetween(rows, start, end, bytesPerRow)) {
        const from = Math.max(start, row.addr) - row.addr;
        const to = Math.min(end, row.addr + bytesPerRow) - row.addr;
        out.push({ x: left + from * this.scale, y: row.y, w: (to - from) * this.scale, h: rowHeight });
      }
      return out;
    },

    /** The address under canvas point (x, y), or null outside the heap. */
    addressAt(x, y) {
      if (x < left || x >= left + plotWidth) return null;
      const row = rows.find((r) => y >= r.y && y < r.y + rowHeight);
      if (!row) return null;
      return row.addr + Math.floor((x - left) / this.scale);
    },
  };
}

function* rowsBetween(rows, start, end, bytesPerRow) {
  // Rows are sorted by address; binary search the first row that ends after `start`.
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (rows[mid].addr + bytesPerRow <= start) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < rows.length && rows[i].addr < end; i++) {
    if (rows[i].addr + bytesPerRow > start) yield rows[i];
  }
}

/** Index of the block (row of the block table) containing `address`, or -1. */
export function blockAt(blocks, columns, address) {
  let lo = 0;
  let hi = blocks.length / columns;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const start = blocks[mid * columns];
    const size = blocks[mid * columns + 1];
    if (address < start) hi = mid;
    else if (address >= start + size) lo = mid + 1;
    else return mid;
  }
  return -1;
}
