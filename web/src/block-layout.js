// Geometry of the block view: the heap drawn as its blocks, not as its bytes.
//
// The address map (layout.js) gives every byte the same width, so a 24-byte
// block next to 60 KiB of empty pages is a sliver. Here every block is a box
// whose width grows with the logarithm of its size, never narrower than its
// label: a 32-byte block and a 16 KiB free block are both readable, and the
// bigger one is still the wider. What is not blocks collapses to one labelled
// item each: the page map (metadata) is one strip, a run of free pages is one
// band, the space between two segments is one narrow gap.
//
// Items flow left to right in address order and wrap into rows; a row has a
// lane above its boxes where the free list's arrows run. Inside a box,
// addresses map piecewise-linearly: the header and a free block's footer get
// a fixed width, the payload and padding share the rest by their bytes. The
// layout answers the same questions as the address map (`rects`, `yOf`,
// `addressAt`, `rowsIn`, `rangesIn`), so the map's hover, focus, keys and
// step-mode highlights work on either view unchanged.
//
// Cost: one pass over the block table (O(blocks + pages)); queries are binary
// searches over rows and items. A 100k-block heap lays out in a few ms and
// draws only its visible rows.
import { BLOCK, BLOCK_FLAG, PAGE, PAGE_SIZE } from "./heaplab.js";
import { mergeRows } from "./layout.js";

/** Zoom limits of the block view (a factor on every width). */
export const MIN_BLOCK_ZOOM = 0.25;
export const MAX_BLOCK_ZOOM = 4;

/** Item kinds. */
export const ITEM = Object.freeze({ BLOCK: 1, META: 2, FREE_PAGES: 3, GAP: 4, OTHER: 5 });

/** Bytes of a free block's footer (a boundary tag, as the header). */
export const FOOTER_BYTES = 8;

/** Default geometry at zoom 1 (CSS pixels). */
const BOX_HEIGHT = 54;
const LANE = 26;
const ROW_GAP = 6;
const MIN_BLOCK_WIDTH = 60;
const WIDTH_PER_DOUBLING = 34;
const TAG_WIDTH = 9;
const BAND_WIDTH = 150;
const GAP_WIDTH = 34;

/** Bytes of an opaque heap's own run (not blocks) from which it is a labelled box. */
export const OPAQUE_LABELLED = 64;

/** A block's box width at zoom `z`: grows with log2(size), at least a label's width. */
export function blockWidth(size, z = 1) {
  const doublings = Math.max(0, Math.log2(Math.max(size, 16) / 32));
  return Math.round((MIN_BLOCK_WIDTH + WIDTH_PER_DOUBLING * doublings) * z);
}

/**
 * Lays out `snap` (`{ segments, pages, blocks }`, as Session.snapshot()).
 * @param {object} snap
 * @param {{ width: number, zoom?: number, left?: number }} options
 */
export function computeBlockLayout(snap, { width, zoom = 1, left = 6 }) {
  const z = Math.min(MAX_BLOCK_ZOOM, Math.max(MIN_BLOCK_ZOOM, zoom));
  const boxHeight = Math.max(18, Math.round(BOX_HEIGHT * Math.min(1, Math.max(0.5, z))));
  const lane = Math.max(12, Math.round(LANE * Math.min(1.2, Math.max(0.5, z))));
  const rowHeight = lane + boxHeight + ROW_GAP;
  const plotWidth = Math.max(40, width - 2 * left);
  const tag = Math.max(3, Math.round(TAG_WIDTH * Math.min(1.5, z)));
  const C = BLOCK.COLUMNS;
  const { segments, pages, blocks } = snap;
  const nBlocks = blocks.length / C;

  // Items as parallel typed arrays: 100k blocks make no 100k objects. Sized
  // once for the most items there can be (a block each, and per page at most
  // a band and two small items, per segment a gap), so they never regrow.
  let cap = Math.max(64, nBlocks + 3 * pages.length + segments.length + 16);
  let kind = new Uint8Array(cap);
  let start = new Float64Array(cap);
  let end = new Float64Array(cap);
  let ref = new Int32Array(cap); // block index, or page count for bands
  let xs = new Float32Array(cap);
  let ws = new Float32Array(cap);
  let rowOf = new Int32Array(cap);
  let n = 0;
  const grow = () => {
    cap *= 2;
    const widen = (a, T) => {
      const b = new T(cap);
      b.set(a);
      return b;
    };
    kind = widen(kind, Uint8Array);
    start = widen(start, Float64Array);
    end = widen(end, Float64Array);
    ref = widen(ref, Int32Array);
    xs = widen(xs, Float32Array);
    ws = widen(ws, Float32Array);
    rowOf = widen(rowOf, Int32Array);
  };
  const rowFirst = [0];
  let x = 0;
  const push = (k, a, b, r, w) => {
    if (n === cap) grow();
    w = Math.min(plotWidth, Math.max(4, w));
    if (x > 0 && x + w > plotWidth) {
      rowFirst.push(n);
      x = 0;
    }
    kind[n] = k;
    start[n] = a;
    end[n] = b;
    ref[n] = r;
    xs[n] = left + x;
    ws[n] = w;
    rowOf[n] = rowFirst.length - 1;
    x += w + 2;
    n++;
  };

  const bandWidth = Math.round(BAND_WIDTH * Math.min(1.4, Math.max(0.6, z)));
  // Bytes no block covers: an arena's header (a thin item) here; in an
  // opaque heap (a production allocator's) everything between payloads,
  // headers or free space it does not show, wide enough to read when big.
  const otherWidth = (bytes) => (snap.opaque && bytes >= OPAQUE_LABELLED ? blockWidth(bytes, z) : tag * 2);
  let page = 0; // index into `pages` of the segment's first page
  let bi = 0; // next block to place
  for (let s = 0; s < segments.length; s++) {
    const { base, bytes } = segments[s];
    const segEnd = base + bytes;
    if (s > 0) {
      const prevEnd = segments[s - 1].base + segments[s - 1].bytes;
      if (base > prevEnd) push(ITEM.GAP, prevEnd, base, 0, Math.round(GAP_WIDTH * Math.min(1.4, Math.max(0.6, z))));
    }
    const count = Math.ceil(bytes / PAGE_SIZE);
    let p = 0;
    while (p < count) {
      const owner = pages[page + p];
      let q = p + 1;
      const group = owner === PAGE.META ? PAGE.META : owner === PAGE.FREE ? PAGE.FREE : -1;
      while (q < count) {
        const o = pages[page + q];
        const g = o === PAGE.META ? PAGE.META : o === PAGE.FREE ? PAGE.FREE : -1;
        if (g !== group) break;
        q++;
      }
      const a = base + p * PAGE_SIZE;
      const b = Math.min(segEnd, base + q * PAGE_SIZE);
      if (group === PAGE.META) push(ITEM.META, a, b, q - p, bandWidth);
      else if (group === PAGE.FREE) push(ITEM.FREE_PAGES, a, b, q - p, bandWidth);
      else {
        // Blocks (and large objects) in these pages; bytes no block covers
        // (an arena's own header) are one small item.
        while (bi < nBlocks && blocks[bi * C + BLOCK.ADDRESS] < a) bi++;
        let cursor = a;
        while (bi < nBlocks) {
          const addr = blocks[bi * C + BLOCK.ADDRESS];
          if (addr >= b) break;
          if (addr > cursor) push(ITEM.OTHER, cursor, addr, 0, otherWidth(addr - cursor));
          const size = blocks[bi * C + BLOCK.SIZE];
          push(ITEM.BLOCK, addr, addr + size, bi, blockWidth(size, z));
          cursor = addr + size;
          bi++;
        }
        if (cursor < b) push(ITEM.OTHER, cursor, b, 0, otherWidth(b - cursor));
      }
      p = q;
    }
    page += count;
  }

  const rowCount = n === 0 ? 0 : rowFirst.length;
  const height = rowCount * rowHeight;

  /** Index of the item containing `address`, or the first item after it when `after`; -1 if none. */
  function itemAt(address, after = false) {
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (end[mid] <= address) lo = mid + 1;
      else hi = mid;
    }
    if (lo >= n) return -1;
    return after || start[lo] <= address ? lo : -1;
  }

  /** The x of `address` inside item `i` (piecewise linear, see the file comment). */
  function xIn(i, address) {
    const x0 = xs[i];
    const w = ws[i];
    const a = start[i];
    const b = end[i];
    const t = Math.min(b, Math.max(a, address));
    if (kind[i] !== ITEM.BLOCK || w < tag * 3) return x0 + ((t - a) / (b - a)) * w;
    const row = ref[i] * C;
    const payload = blocks[row + BLOCK.PAYLOAD];
    const used = blocks[row + BLOCK.FLAGS] & BLOCK_FLAG.USED;
    const bodyEnd = used ? b : b - FOOTER_BYTES;
    if (t <= payload) return x0 + ((t - a) / Math.max(1, payload - a)) * tag;
    const bodyW = used ? w - tag : w - 2 * tag;
    if (t <= bodyEnd) return x0 + tag + ((t - payload) / Math.max(1, bodyEnd - payload)) * bodyW;
    return x0 + tag + bodyW + ((t - bodyEnd) / FOOTER_BYTES) * tag;
  }

  /** The address at x inside item `i` (the inverse of xIn). */
  function addressIn(i, px) {
    const a = start[i];
    const b = end[i];
    const f = (u, v, lo, hi) => Math.floor(lo + Math.min(1, Math.max(0, (px - u) / Math.max(1e-9, v - u))) * (hi - lo));
    const x0 = xs[i];
    const w = ws[i];
    let address;
    if (kind[i] !== ITEM.BLOCK || w < tag * 3) address = f(x0, x0 + w, a, b);
    else {
      const row = ref[i] * C;
      const payload = blocks[row + BLOCK.PAYLOAD];
      const used = blocks[row + BLOCK.FLAGS] & BLOCK_FLAG.USED;
      const bodyEnd = used ? b : b - FOOTER_BYTES;
      const bodyW = used ? w - tag : w - 2 * tag;
      if (px < x0 + tag) address = f(x0, x0 + tag, a, payload);
      else if (px < x0 + tag + bodyW) address = f(x0 + tag, x0 + tag + bodyW, payload, bodyEnd);
      else address = f(x0 + tag + bodyW, x0 + w, bodyEnd, b);
    }
    return Math.min(b - 1, Math.max(a, address));
  }

  const rowTop = (r) => r * rowHeight;
  const boxTop = (r) => r * rowHeight + lane;

  return {
    view: "blocks",
    zoom: z,
    width,
    left,
    plotWidth,
    rowHeight,
    boxHeight,
    lane,
    tag,
    height,
    rowCount,
    /** Number of items. */
    count: n,
    kind,
    start,
    end,
    ref,
    xs,
    ws,
    rowOf,
    rowFirst,
    /** Bytes one CSS pixel stands for, on average (the zoom label). */
    bytesPerPixel: n ? (end[n - 1] - start[0]) / Math.max(1, rowCount * plotWidth) : 0,
    itemAt,
    xIn,
    boxTop,
    rowTop,
    /** The items of row `r`: `[first, last)`. */
    rowItems(r) {
      return [rowFirst[r], r + 1 < rowFirst.length ? rowFirst[r + 1] : n];
    },
    /** Visible rows of the band [top, bottom): `{ row, y, addr, bytes }`. */
    rowsIn(top, bottom) {
      const out = [];
      if (!n) return out;
      const first = Math.max(0, Math.floor(top / rowHeight));
      const last = Math.min(rowCount - 1, Math.floor((bottom - 1) / rowHeight));
      for (let r = first; r <= last; r++) {
        const [i, j] = this.rowItems(r);
        out.push({ row: r, y: boxTop(r), addr: start[i], bytes: end[j - 1] - start[i] });
      }
      return out;
    },
    /** The address ranges `[start, end)` shown in the band, merged. */
    rangesIn(top, bottom) {
      return mergeRows(this.rowsIn(top, bottom));
    },
    /** The rectangles covering bytes [a, b): one per item they touch. */
    rects(a, b) {
      const out = [];
      if (b <= a) return out;
      for (let i = itemAt(a, true); i >= 0 && i < n && start[i] < b; i++) {
        if (kind[i] === ITEM.GAP) continue;
        const x0 = xIn(i, Math.max(a, start[i]));
        const x1 = xIn(i, Math.min(b, end[i]));
        out.push({ x: x0, y: boxTop(rowOf[i]), w: Math.max(1, x1 - x0), h: boxHeight, item: i });
      }
      return out;
    },
    /** The y of the box holding `address`, or null outside every item. */
    yOf(address) {
      const i = itemAt(address);
      return i < 0 ? null : boxTop(rowOf[i]);
    },
    /** The address under map point (x, y), or null (lanes, gaps, margins). */
    addressAt(px, py) {
      if (!n || py < 0) return null;
      const r = Math.floor(py / rowHeight);
      if (r >= rowCount || py < boxTop(r) || py >= boxTop(r) + boxHeight) return null;
      const [i, j] = this.rowItems(r);
      for (let k = i; k < j; k++) {
        if (px >= xs[k] && px < xs[k] + ws[k]) return kind[k] === ITEM.GAP ? null : addressIn(k, px);
      }
      return null;
    },
    /** The centre x of the box of the item holding `address` (free-list arrows). */
    centerOf(address) {
      const i = itemAt(address);
      return i < 0 ? null : { x: xs[i] + ws[i] / 2, y: boxTop(rowOf[i]), row: rowOf[i], item: i };
    },
  };
}

/** The block zoom that fits the heap into `height` pixels, or the smallest zoom (it never goes above 1.5). */
export function fitBlockZoom(snap, width, height) {
  let z = 1.5;
  while (z > MIN_BLOCK_ZOOM && computeBlockLayout(snap, { width, zoom: z }).height > height) z = Math.max(MIN_BLOCK_ZOOM, z / 1.25);
  return z;
}
