// Geometry of the heap map: where each address of each segment is drawn.
//
// The map is a column of rows; each row shows `bytesPerRow` consecutive bytes
// (a power of two: one 4 KiB page by default; zooming halves or doubles it).
// Segments follow one another with a gap between them, so memory the heap
// does not own is visibly not part of it. Nothing is materialised per row:
// every question is answered by arithmetic over the (few) segments, so a
// 64 MiB heap at 64 bytes a row costs no more than a one-page heap.
import { PAGE_SIZE } from "./heaplab.js";

/** Zoom limits, as bytes per row. */
export const MIN_BYTES_PER_ROW = 64;
export const MAX_BYTES_PER_ROW = 16 * 1024 * 1024;
/** Rows of the map at most (browsers cap element heights). */
export const MAX_ROWS = 400_000;

/**
 * @param {{base:number, bytes:number}[]} segments in address order
 * @param {{width:number, bytesPerRow?:number, rowHeight?:number, gap?:number, left?:number}} options
 */
export function computeLayout(segments, { width, bytesPerRow = PAGE_SIZE, rowHeight = 18, gap = 18, left = 84 }) {
  let y = 0;
  let page = 0;
  const placed = segments.map((segment, index) => {
    if (index > 0) y += gap;
    const rows = Math.ceil(segment.bytes / bytesPerRow);
    const out = { ...segment, index, top: y, rows, bottom: y + rows * rowHeight, firstPage: page };
    y = out.bottom;
    page += Math.ceil(segment.bytes / PAGE_SIZE);
    return out;
  });
  const plotWidth = Math.max(1, width - left);
  const scale = plotWidth / bytesPerRow; // pixels per byte

  /** The placed segment containing `address`, or null (binary search). */
  function segmentOf(address) {
    let lo = 0;
    let hi = placed.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const s = placed[mid];
      if (address < s.base) hi = mid;
      else if (address >= s.base + s.bytes) lo = mid + 1;
      else return s;
    }
    return null;
  }

  /** The placed segment whose rows cover height `y`, or null (in a gap or outside). */
  function segmentAtY(y) {
    let lo = 0;
    let hi = placed.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const s = placed[mid];
      if (y < s.top) hi = mid;
      else if (y >= s.bottom) lo = mid + 1;
      else return s;
    }
    return null;
  }

  return {
    segments: placed,
    height: y,
    width,
    left,
    plotWidth,
    rowHeight,
    bytesPerRow,
    scale,
    /** Bytes one CSS pixel stands for. */
    bytesPerPixel: bytesPerRow / plotWidth,
    rowCount: placed.reduce((n, s) => n + s.rows, 0),
    segmentOf,

    /** Rows whose band intersects [top, bottom): `{ addr, y, bytes, segment }`, in order. */
    rowsIn(top, bottom) {
      const out = [];
      for (const s of placed) {
        if (s.bottom <= top || s.top >= bottom) continue;
        const first = Math.max(0, Math.floor((top - s.top) / rowHeight));
        const last = Math.min(s.rows - 1, Math.floor((bottom - 1 - s.top) / rowHeight));
        for (let r = first; r <= last; r++) {
          const addr = s.base + r * bytesPerRow;
          out.push({ addr, y: s.top + r * rowHeight, bytes: Math.min(bytesPerRow, s.base + s.bytes - addr), segment: s.index });
        }
      }
      return out;
    },

    /** The address ranges `[start, end)` shown in the band [top, bottom), one per segment. */
    rangesIn(top, bottom) {
      return mergeRows(this.rowsIn(top, bottom));
    },

    /** The rectangles covering bytes [start, end), one per row they touch. */
    rects(start, end) {
      const out = [];
      if (end <= start) return out;
      let s = segmentOf(start);
      if (!s) {
        // `start` in a gap: begin at the first segment after it.
        s = placed.find((p) => p.base >= start);
        if (!s) return out;
      }
      for (let k = s.index; k < placed.length && placed[k].base < end; k++) {
        const seg = placed[k];
        const from = Math.max(start, seg.base) - seg.base;
        const to = Math.min(end, seg.base + seg.bytes) - seg.base;
        if (to <= from) continue;
        const firstRow = Math.floor(from / bytesPerRow);
        const lastRow = Math.floor((to - 1) / bytesPerRow);
        for (let r = firstRow; r <= lastRow; r++) {
          const a = Math.max(from, r * bytesPerRow) - r * bytesPerRow;
          const b = Math.min(to, (r + 1) * bytesPerRow) - r * bytesPerRow;
          out.push({ x: left + a * scale, y: seg.top + r * rowHeight, w: (b - a) * scale, h: rowHeight });
        }
      }
      return out;
    },

    /** The y of the row holding `address`, or null outside every segment. */
    yOf(address) {
      const s = segmentOf(address);
      return s ? s.top + Math.floor((address - s.base) / bytesPerRow) * rowHeight : null;
    },

    /** The address under map point (x, y), or null outside the heap. */
    addressAt(x, y) {
      if (x < left || x >= left + plotWidth) return null;
      const s = segmentAtY(y);
      if (!s) return null;
      const row = Math.floor((y - s.top) / rowHeight);
      const address = s.base + row * bytesPerRow + Math.floor((x - left) / scale);
      return address < s.base + s.bytes ? address : null;
    },
  };
}

/** Rows `{ addr, bytes }` in address order as ranges `[start, end)`, adjacent rows merged. */
export function mergeRows(rows) {
  const out = [];
  for (const row of rows) {
    const last = out[out.length - 1];
    if (last && last.end === row.addr) last.end = row.addr + row.bytes;
    else out.push({ start: row.addr, end: row.addr + row.bytes });
  }
  return out;
}

/** The zoom level (bytes per row, a power of two) that fits `bytes` of heap in `rows` rows. */
export function fitBytesPerRow(bytes, rows) {
  let bpr = MIN_BYTES_PER_ROW;
  while (bpr < MAX_BYTES_PER_ROW && Math.ceil(bytes / bpr) > rows) bpr *= 2;
  return bpr;
}

/** Clamps a zoom level to the allowed range and to at most MAX_ROWS rows for `heapBytes`. */
export function clampBytesPerRow(bytesPerRow, heapBytes) {
  let bpr = Math.min(MAX_BYTES_PER_ROW, Math.max(MIN_BYTES_PER_ROW, bytesPerRow));
  while (bpr < MAX_BYTES_PER_ROW && heapBytes / bpr > MAX_ROWS) bpr *= 2;
  return bpr;
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

/** Index of the first block that ends after `address` (blocks are in address order). */
export function firstBlockFrom(blocks, columns, address) {
  let lo = 0;
  let hi = blocks.length / columns;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (blocks[mid * columns] + blocks[mid * columns + 1] <= address) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
