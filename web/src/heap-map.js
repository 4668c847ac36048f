// Draws the heap map on a Canvas 2D: every 4 KiB page of every segment, the
// blocks inside them (header, payload, padding, free space), wasm-page
// boundaries, segment gaps and large objects. Only the visible band of rows is
// drawn: blocks are found by binary search over the block table (read straight
// from wasm memory), so a frame costs the same for a 64 KiB heap and a 64 MiB
// one with 100k blocks. Pure drawing on a context: no DOM besides the canvas
// context handed in (see map-view.js for scrolling, zoom, mouse and keys).
import { BLOCK, BLOCK_FLAG, PAGE, PAGE_SIZE, WASM_PAGE_SIZE } from "./heaplab.js";
import { firstBlockFrom } from "./layout.js";
import { hex, formatBytes } from "./format.js";
import { PALETTES } from "./theme.js";
import { KERNEL_LEGEND, KERNEL_ADDRESS_LEGEND } from "./kernel-view.js";

/**
 * Colour-blind-safe palette (Okabe and Ito), one colour per kind of byte: the
 * light theme's (theme.js); pages pass the current theme's to the views.
 */
export const COLORS = PALETTES.light;

/** Step mode's highlights (steps.js roles): outline colour, translucent fill, dashed. */
export const MARK_STYLES = Object.freeze({
  visit: { color: "#009E73", fill: "rgba(0, 158, 115, 0.18)", dash: [4, 3], label: "looked at" },
  reject: { color: "#D55E00", fill: "rgba(213, 94, 0, 0.22)", dash: [], label: "rejected" },
  choose: { color: "#000000", fill: "rgba(0, 0, 0, 0.12)", dash: [], label: "chosen" },
  split: { color: "#0072B2", fill: "rgba(0, 114, 178, 0.22)", dash: [], label: "used part" },
  remainder: { color: "#009E73", fill: "rgba(0, 158, 115, 0.22)", dash: [2, 2], label: "free remainder" },
  header: { color: "#CC79A7", fill: "rgba(204, 121, 167, 0.6)", dash: [], label: "header written" },
  free: { color: "#E69F00", fill: "rgba(230, 159, 0, 0.3)", dash: [], label: "marked free" },
  merge: { color: "#009E73", fill: "rgba(0, 158, 115, 0.3)", dash: [], label: "merged" },
  memory: { color: "#D55E00", fill: "rgba(213, 94, 0, 0.1)", dash: [6, 3], label: "memory / pages" },
});

export const LEGEND = [
  ["header", "header / footer (boundary tags)"],
  ["payload", "payload (requested bytes)"],
  ["padding", "padding / unused tail"],
  ["free", "free block"],
  ["large", "large object (page run)"],
  ["meta", "page map (metadata)"],
  ["freePage", "free page"],
  ["wasmPage", "64 KiB wasm page boundary", "line"],
];

/** The block view's legend (block-view.js). */
export const BLOCK_LEGEND = [
  ["header", "header / footer (boundary tags)"],
  ["payload", "payload (requested bytes)"],
  ["padding", "padding (alignment, rounding)"],
  ["freeBlock", "free block"],
  ["freeArrow", "free list: next free block", "arrow"],
  ["freePage", "free pages (not yet blocks)", "hatched"],
  ["meta", "page map (metadata)"],
  ["large", "large object (page run)"],
  ["quick", "freed, waiting on a quick list"],
];

/** The block view's legend for a production allocator: its own bytes (headers, metadata, free space it keeps to itself) have their colour. */
export const PRODUCTION_LEGEND = [
  ["payload", "payload (requested bytes)"],
  ["freeBlock", "free block (where the allocator tells)"],
  ["freeArrow", "free list: next free block", "arrow"],
  ["allocator", "the allocator's own bytes (its headers, metadata, free space it does not show)"],
];

/**
 * The legend a map needs: the address map's (`view` "address"), else the
 * block view's for the policy: the kernel heap's ("kmalloc"), a production
 * allocator's (`production`), or the fits'.
 */
export function legendFor(policy, { view = "blocks", production = false } = {}) {
  if (policy === "kmalloc") return view === "address" ? KERNEL_ADDRESS_LEGEND : KERNEL_LEGEND;
  if (view === "address") return LEGEND;
  return production ? PRODUCTION_LEGEND : BLOCK_LEGEND;
}

/** Fills a legend list with `entries` (`[colour key, label, kind?]`) in `colors` (textContent only). */
export function fillLegend(list, entries, colors) {
  const doc = list.ownerDocument;
  list.replaceChildren(
    ...entries.map(([key, label, kind]) => {
      const li = doc.createElement("li");
      const swatch = doc.createElement("span");
      swatch.className = kind ? `swatch ${kind}` : "swatch";
      swatch.dataset.color = key;
      swatch.style.background = colors[key];
      li.append(swatch, doc.createTextNode(label));
      return li;
    }),
  );
}

const LABEL_FONT = "11px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace";

/**
 * Fills rectangles, merging each with the previous one when it continues it
 * (same colour, same row): a zoomed-out map of 100k blocks is a few thousand
 * fillRect calls. Edges are snapped to device pixels so the map stays crisp.
 */
export class Painter {
  constructor(ctx, dpr = 1) {
    this.ctx = ctx;
    this.dpr = dpr;
    this.pending = null;
    this.calls = 0;
  }

  fill(x, y, w, h, color) {
    const p = this.pending;
    if (p && p.color === color && p.y === y && p.h === h && Math.abs(p.x + p.w - x) < 0.51) {
      p.w = x + w - p.x;
      return;
    }
    this.flush();
    this.pending = { x, y, w, h, color };
  }

  flush() {
    const p = this.pending;
    if (!p) return;
    this.pending = null;
    const d = this.dpr;
    const x0 = Math.round(p.x * d) / d;
    let x1 = Math.round((p.x + p.w) * d) / d;
    if (x1 <= x0) x1 = x0 + 1 / d; // never vanish: at least one device pixel
    if (this.ctx.fillStyle !== p.color) this.ctx.fillStyle = p.color;
    this.ctx.fillRect(x0, p.y, x1 - x0, p.h);
    this.calls++;
  }
}

/**
 * Renders the band [view.top, view.top + view.height) of the map.
 * `snap` is a session snapshot `{ segments, pages, blocks }`;
 * `view` is `{ top, height, width, dpr, focus, hover, label, marks }` where focus and
 * hover are block indexes (or -1), `label(payload)` names a used block and
 * `marks` are step mode's highlights (`[{ start, end, role }]`, see steps.js).
 * Returns `{ blocks, fills }`: how many blocks and rectangles were drawn.
 */
export function drawHeapMap(ctx, layout, snap, view) {
  const { top, height, width, dpr = 1 } = view;
  const bottom = top + height;
  beginBand(ctx, view, COLORS.gap);

  const rows = layout.rowsIn(top, bottom);
  const ranges = layout.rangesIn(top, bottom);
  const painter = new Painter(ctx, dpr);
  drawPages(painter, layout, snap, ranges);
  const drawn = drawBlocks(painter, layout, snap, ranges, rows, dpr);
  painter.flush();
  drawBoundaries(ctx, layout, rows);
  drawGaps(ctx, layout, top, bottom);
  drawLabels(ctx, layout, snap, ranges, view);
  drawRowLabels(ctx, layout, rows);
  drawHighlights(ctx, layout, snap, view, ranges);
  if (view.marks?.length) drawMarks(ctx, layout, view.marks, ranges);
  ctx.restore();
  return { blocks: drawn, fills: painter.calls };
}

/**
 * Saves the context, maps map coordinates of the band `view` (`{ top,
 * height, width, dpr }`) onto the canvas and clears it to `background`.
 * The caller restores the context when done.
 */
export function beginBand(ctx, { top, height, width, dpr = 1 }, background) {
  ctx.save();
  ctx.setTransform(dpr, 0, 0, dpr, 0, -top * dpr);
  ctx.fillStyle = background;
  ctx.fillRect(0, top, width, height);
}

/** The band being drawn: fills are clipped to it, so a 64 MiB block costs a few rows. */
let clipStart = 0;
let clipEnd = Infinity;

function fillRange(painter, layout, start, end, color, h = layout.rowHeight - 1) {
  const from = Math.max(start, clipStart);
  const to = Math.min(end, clipEnd);
  if (to <= from) return;
  for (const r of layout.rects(from, to)) painter.fill(r.x, r.y, r.w, h, color);
}

function pageColor(owner) {
  if (owner === PAGE.META) return COLORS.meta;
  if (owner === PAGE.LARGE_HEAD || owner === PAGE.LARGE) return COLORS.large;
  if (owner === PAGE.FREE) return COLORS.freePage;
  return COLORS.free; // arena pages: blocks are drawn over them
}

function drawPages(painter, layout, { pages }, ranges) {
  for (const { start, end } of ranges) {
    const s = layout.segmentOf(start);
    if (!s) continue;
    clipStart = start;
    clipEnd = end;
    let page = Math.floor((start - s.base) / PAGE_SIZE);
    const lastPage = Math.ceil((end - s.base) / PAGE_SIZE);
    while (page < lastPage) {
      // A run of pages with the same colour is one fill.
      const color = pageColor(pages[s.firstPage + page]);
      let runEnd = page + 1;
      while (runEnd < lastPage && pageColor(pages[s.firstPage + runEnd]) === color) runEnd++;
      const from = Math.max(start, s.base + page * PAGE_SIZE);
      const to = Math.min(end, s.base + runEnd * PAGE_SIZE);
      fillRange(painter, layout, from, to, color);
      page = runEnd;
    }
  }
}

/**
 * Blocks narrower than a couple of device pixels cannot show header and
 * payload apart. They are summed into a per-pixel coverage buffer (bytes, and
 * bytes in use) and drawn as one colour per pixel, blended from free to
 * payload by the share in use: a zoomed-out 64 MiB heap with 100k blocks is a
 * few hundred runs instead of 100k rectangles.
 */
class Density {
  constructor(layout, rows, dpr) {
    this.layout = layout;
    this.rows = rows;
    this.dpr = dpr;
    this.cols = Math.ceil(layout.plotWidth * dpr) + 1;
    this.total = new Float32Array(rows.length * this.cols);
    this.used = new Float32Array(rows.length * this.cols);
    this.pxPerByte = layout.scale * dpr;
  }

  /** Adds bytes [a, b) of one block; `rowIndex` is the band row holding `a`, `rowAddr` its address. */
  add(a, b, used, rowIndex, rowAddr) {
    const { bytesPerRow } = this.layout;
    let r = rowIndex;
    let base = rowAddr;
    while (a < b && r < this.rows.length) {
      const rowEnd = base + bytesPerRow;
      const to = Math.min(b, rowEnd);
      let x0 = (a - base) * this.pxPerByte;
      const x1 = (to - base) * this.pxPerByte;
      const offset = r * this.cols;
      while (x0 < x1) {
        const col = Math.floor(x0);
        const next = Math.min(x1, col + 1);
        const share = next - x0;
        this.total[offset + col] += share;
        if (used) this.used[offset + col] += share;
        x0 = next;
      }
      a = to;
      base = rowEnd;
      r++;
    }
  }

  flush(painter) {
    const { left, rowHeight } = this.layout;
    const levels = DENSITY_COLORS.length - 1;
    const w = 1 / this.dpr;
    for (let r = 0; r < this.rows.length; r++) {
      const offset = r * this.cols;
      const y = this.rows[r].y;
      for (let c = 0; c < this.cols; c++) {
        const total = this.total[offset + c];
        if (total <= 0) continue;
        const level = Math.round((this.used[offset + c] / total) * levels);
        painter.fill(left + c * w, y, w, rowHeight - 1, DENSITY_COLORS[level]);
      }
    }
    painter.flush();
  }
}

/** Free (light grey) to payload (sky blue), in five steps. */
const DENSITY_COLORS = (() => {
  const from = [0xe4, 0xe4, 0xe4];
  const to = [0x56, 0xb4, 0xe9];
  const out = [];
  for (let k = 0; k <= 4; k++) {
    const c = from.map((f, i) => Math.round(f + ((to[i] - f) * k) / 4));
    out.push(`#${c.map((v) => v.toString(16).padStart(2, "0")).join("")}`.toUpperCase());
  }
  return out;
})();

function drawBlocks(painter, layout, { blocks, opaque = false }, ranges, rows, dpr) {
  const C = BLOCK.COLUMNS;
  const n = blocks.length / C;
  const tickBytes = 3 / layout.scale; // blocks narrower than 3 px get no boundary tick
  const detailBytes = 2 / (layout.scale * dpr); // blocks narrower than 2 device px are summed
  const density = layout.scale * dpr < 0.5 ? new Density(layout, rows, dpr) : null;
  const bpr = layout.bytesPerRow;
  const ticks = [];
  let drawn = 0;
  let rowCursor = 0;
  for (const { start, end } of ranges) {
    clipStart = start;
    clipEnd = end;
    while (rowCursor < rows.length && rows[rowCursor].addr < start) rowCursor++;
    const firstRow = rowCursor;
    for (let i = firstBlockFrom(blocks, C, start); i < n; i++) {
      const row = i * C;
      const addr = blocks[row + BLOCK.ADDRESS];
      if (addr >= end) break;
      const size = blocks[row + BLOCK.SIZE];
      const flags = blocks[row + BLOCK.FLAGS];
      const used = flags & BLOCK_FLAG.USED;
      const blockEnd = addr + size;
      drawn++;
      if (density && size < detailBytes) {
        const a = Math.max(addr, start);
        const k = Math.floor((a - start) / bpr);
        density.add(a, Math.min(blockEnd, end), used, firstRow + k, start + k * bpr);
        continue;
      }
      const body = flags & BLOCK_FLAG.LARGE ? COLORS.large : COLORS.payload;
      if (size < detailBytes) {
        fillRange(painter, layout, addr, blockEnd, used ? body : COLORS.free);
        continue;
      }
      const payload = blocks[row + BLOCK.PAYLOAD];
      if (used) {
        const requested = blocks[row + BLOCK.REQUESTED];
        fillRange(painter, layout, addr, payload, COLORS.header);
        fillRange(painter, layout, payload, payload + requested, body);
        fillRange(painter, layout, payload + requested, blockEnd, COLORS.padding);
      } else if (opaque) {
        // A heap whose free blocks carry no boundary tags of ours (the kernel heap's free objects, a production allocator's).
        fillRange(painter, layout, addr, blockEnd, COLORS.free);
      } else {
        fillRange(painter, layout, addr, payload, COLORS.header);
        fillRange(painter, layout, payload, blockEnd - 8, COLORS.free);
        fillRange(painter, layout, blockEnd - 8, blockEnd, COLORS.header);
      }
      if (size >= tickBytes && addr >= start) ticks.push(addr);
    }
  }
  clipStart = 0;
  clipEnd = Infinity;
  painter.flush();
  density?.flush(painter);
  // Block boundaries: a dark tick at each block's start.
  for (const addr of ticks) {
    const r = layout.rects(addr, addr + 1)[0];
    if (r) painter.fill(r.x, r.y, 1, layout.rowHeight - 1, COLORS.border);
  }
  return drawn;
}

function drawBoundaries(ctx, layout, rows) {
  const { left, plotWidth, scale, bytesPerRow, rowHeight } = layout;
  for (const row of rows) {
    // 4 KiB page boundaries inside a row (zoomed out), when far enough apart.
    if (bytesPerRow > PAGE_SIZE && PAGE_SIZE * scale >= 4) {
      ctx.fillStyle = COLORS.pageLine;
      for (let a = PAGE_SIZE; a < row.bytes; a += PAGE_SIZE) ctx.fillRect(left + a * scale, row.y, 1, rowHeight - 1);
    }
    // A page starting at this row (zoomed in, several rows a page): a thin top line.
    if (bytesPerRow < PAGE_SIZE && row.addr % PAGE_SIZE === 0) {
      ctx.fillStyle = COLORS.pageLine;
      ctx.fillRect(left, row.y, plotWidth, 1);
    }
    // 64 KiB wasm pages: an orange line at the row's top, or a tick inside it.
    ctx.fillStyle = COLORS.wasmPage;
    if (row.addr % WASM_PAGE_SIZE === 0) ctx.fillRect(left - 8, row.y, plotWidth + 8, 2);
    if (bytesPerRow > WASM_PAGE_SIZE && WASM_PAGE_SIZE * scale >= 3) {
      for (let a = WASM_PAGE_SIZE; a < row.bytes; a += WASM_PAGE_SIZE) ctx.fillRect(left + a * scale - 1, row.y, 2, rowHeight);
    }
  }
}

function drawGaps(ctx, layout, top, bottom) {
  const segs = layout.segments;
  ctx.font = LABEL_FONT;
  ctx.textBaseline = "middle";
  for (let k = 1; k < segs.length; k++) {
    const gapTop = segs[k - 1].bottom;
    const gapBottom = segs[k].top;
    if (gapBottom <= top || gapTop >= bottom) continue;
    ctx.fillStyle = COLORS.gapHatch;
    for (let x = layout.left; x < layout.width; x += 8) ctx.fillRect(x, gapTop + 3, 4, 1);
    for (let x = layout.left + 4; x < layout.width; x += 8) ctx.fillRect(x, gapBottom - 4, 4, 1);
    const from = segs[k - 1].base + segs[k - 1].bytes;
    const to = segs[k].base;
    ctx.fillStyle = COLORS.text;
    ctx.fillText(`gap: ${hex(from)}–${hex(to)} (${formatBytes(to - from)}) is not this heap's memory`, layout.left + 6, (gapTop + gapBottom) / 2);
  }
}

function drawLabels(ctx, layout, { blocks }, ranges, view) {
  if (!view.label) return;
  const C = BLOCK.COLUMNS;
  const n = blocks.length / C;
  ctx.font = LABEL_FONT;
  ctx.textBaseline = "middle";
  const minBytes = 22 / layout.scale;
  for (const { start, end } of ranges) {
    for (let i = firstBlockFrom(blocks, C, start); i < n; i++) {
      const row = i * C;
      const addr = blocks[row + BLOCK.ADDRESS];
      if (addr >= end) break;
      const flags = blocks[row + BLOCK.FLAGS];
      if (!(flags & BLOCK_FLAG.USED)) continue;
      const payload = blocks[row + BLOCK.PAYLOAD];
      const size = blocks[row + BLOCK.SIZE];
      if (size < minBytes && !(flags & BLOCK_FLAG.LARGE)) continue;
      const text = view.label(payload);
      if (!text) continue;
      // The widest piece of the block inside the band carries the label.
      const pieces = layout.rects(Math.max(payload, start), Math.min(addr + size, end));
      const label = flags & BLOCK_FLAG.LARGE ? `${text} (large)` : text;
      const w = ctx.measureText(label).width;
      // The first piece wide enough carries the label, else the widest.
      let best = pieces.find((r) => r.w >= w + 6) ?? null;
      if (!best) for (const r of pieces) if (!best || r.w > best.w) best = r;
      if (!best || best.w < 14) continue;
      if (w + 6 > best.w) {
        if (ctx.measureText(text).width + 6 > best.w) continue;
      }
      const shown = w + 6 > best.w ? text : label;
      ctx.fillStyle = COLORS.text;
      ctx.fillText(shown, best.x + 3, best.y + layout.rowHeight / 2);
      if (flags & BLOCK_FLAG.LARGE) {
        // Large objects: a black bracket along the top of every piece.
        ctx.fillStyle = COLORS.largeMark;
        for (const r of pieces) ctx.fillRect(r.x, r.y + 1, r.w, 2);
      }
    }
  }
}

function drawRowLabels(ctx, layout, rows) {
  ctx.font = LABEL_FONT;
  ctx.textBaseline = "middle";
  ctx.fillStyle = COLORS.gap;
  for (const row of rows) ctx.fillRect(0, row.y, layout.left - 8, layout.rowHeight);
  ctx.fillStyle = COLORS.text;
  for (const row of rows) ctx.fillText(hex(row.addr), 4, row.y + layout.rowHeight / 2);
}

/** Step mode's highlights: `[{ start, end, role }]` byte ranges, filled and outlined by role. */
export function drawMarks(ctx, layout, marks, ranges) {
  for (const { start, end, role } of marks) {
    const style = MARK_STYLES[role] ?? MARK_STYLES.choose;
    const pieces = [];
    for (const band of ranges) {
      if (start < band.end && end > band.start) pieces.push(...layout.rects(Math.max(start, band.start), Math.min(end, band.end)));
    }
    ctx.setLineDash(style.dash);
    for (const r of pieces) {
      ctx.fillStyle = style.fill;
      ctx.fillRect(r.x, r.y, Math.max(r.w, 2), r.h - 1);
      ctx.strokeStyle = style.color;
      ctx.lineWidth = 3;
      ctx.strokeRect(r.x + 1.5, r.y + 1.5, Math.max(r.w - 3, 1), r.h - 4);
    }
    ctx.setLineDash([]);
  }
}

export function drawHighlights(ctx, layout, { blocks }, { hover = -1, focus = -1 }, ranges) {
  const C = BLOCK.COLUMNS;
  const outline = (index, color, width, inner) => {
    if (index < 0 || index >= blocks.length / C) return;
    const addr = blocks[index * C];
    const size = blocks[index * C + 1];
    const pieces = [];
    for (const { start, end } of ranges) {
      if (addr < end && addr + size > start) pieces.push(...layout.rects(Math.max(addr, start), Math.min(addr + size, end)));
    }
    for (const r of pieces) {
      ctx.strokeStyle = color;
      ctx.lineWidth = width;
      ctx.strokeRect(r.x + width / 2, r.y + width / 2, Math.max(r.w - width, 1), r.h - width - 1);
      if (inner) {
        ctx.strokeStyle = inner;
        ctx.lineWidth = 1;
        ctx.strokeRect(r.x + width + 0.5, r.y + width + 0.5, Math.max(r.w - 2 * width - 1, 1), r.h - 2 * width - 2);
      }
    }
  };
  if (hover !== focus) outline(hover, COLORS.hover, 2);
  outline(focus, COLORS.focus, 2, COLORS.focusInner);
}
