// The kernel heap's picture (policy kmalloc): one row per block of the buddy
// allocator, in address order. A free block is one box (its order and pages);
// a slab shows its header and each of its objects, live or free, under a line
// naming its cache and list; a large kmalloc block is one box. Pure geometry
// (`computeKernelLayout`) and drawing on a context (`drawKernelView`), read
// from the snapshot's `kernel` picture (Kernel.picture(): caches, slabs,
// buddy blocks) and block table. map-view.js scrolls, hovers and focuses it
// through the same layout methods as the block view's.
import { BLOCK, PAGE_SIZE } from "./heaplab.js";
import { hex, formatBytes } from "./format.js";
import { ellipsize, hatch } from "./canvas.js";

/** The owner tag of the buddy allocator's own block (its lists and bitmap, at page 0 of its memory; Rust `buddy::META_OWNER`). */
export const BUDDY_META = 0xffff;

const FONT = "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace";
const PAD = 8;
const CAPTION = 18;
const BOX = 30;
const GAP = 10;
/** Width of the slab header's cell. */
const HEADER_W = 34;

/** The legend of the kernel view: `[colour key, label, kind?]`. */
export const KERNEL_LEGEND = [
  ["freeBlock", "free buddy block (2^order pages)"],
  ["slabHeader", "slab header (lists, object bitmap)"],
  ["payload", "live object"],
  ["freeObject", "free object (on its slab's free list)"],
  ["slabWaste", "slab tail too small for an object", "hatched"],
  ["large", "large kmalloc block (pages from the buddy allocator)"],
  ["meta", "the buddy allocator's own lists (its metadata)"],
];

/** The address map's legend under kmalloc: what its colours mean there (no boundary tags: objects side by side). */
export const KERNEL_ADDRESS_LEGEND = [
  ["payload", "object or large block in use (requested bytes)"],
  ["padding", "rest of its size class or of its pages"],
  ["free", "free object, free buddy block, or a slab's header"],
  ["large", "large kmalloc block"],
];

/** What the hint under the map says of the kernel view. */
export const KERNEL_HINT =
  "One row per block of the buddy allocator, in address order: free blocks by order, each slab with its header and its objects (blue: in use; pale: free), large kmalloc blocks in orange. Hover an object for its details; a click selects it, a double click frees it (kfree). The free lists are the buddy allocator's, one per order. The table of blocks says the same in text.";

const pages = (order) => 2 ** order;
const pagesText = (order) => `${pages(order)} page${order ? "s" : ""}`;

/**
 * The rows of the picture: `{ kind: "free" | "slab" | "large" | "pages", address, order, y, h, cells? }`,
 * cells (slab) `{ address, end, x, y, w, h, live, header? }`.
 */
export function computeKernelLayout(snap, { width }) {
  const { caches, slabs, blocks } = snap.kernel;
  const bySlab = new Map(slabs.map((s) => [s.address, s]));
  const inner = Math.max(120, width - 2 * PAD);
  const rows = [];
  let y = PAD;
  for (let i = 0; i < blocks.length; i++) {
    const b = blocks[i];
    const bytes = PAGE_SIZE * pages(b.order);
    const row = { address: b.address, end: b.address + bytes, order: b.order, y };
    if (b.free) {
      // A run of free buddy blocks side by side is one row, a box each, widths growing with the order.
      let j = i;
      while (j + 1 < blocks.length && blocks[j + 1].free) j++;
      const run = blocks.slice(i, j + 1);
      const weight = run.reduce((a, x) => a + x.order + 2, 0);
      let x = PAD;
      const cells = run.map((f) => {
        const w = (inner * (f.order + 2)) / weight;
        const cell = { address: f.address, end: f.address + PAGE_SIZE * pages(f.order), order: f.order, x, y, w, h: BOX, free: true };
        x += w;
        return cell;
      });
      Object.assign(row, { kind: "free", h: BOX, cells, end: cells.at(-1).end, run });
      i = j;
    } else if (b.owner > 0 && bySlab.has(b.address)) {
      const slab = bySlab.get(b.address);
      const cache = caches[b.owner - 1];
      const count = slab.live.length;
      const offset = slab.first - b.address;
      // Few objects (one line): the header as wide as its bytes, to the objects' scale (a 4 KiB object's slab starts with a page of header).
      const oneLine = count <= 32;
      const headerW = oneLine ? Math.max(HEADER_W, Math.min(inner / 2, ((inner - 2) * offset) / (offset + count * cache.stride))) : HEADER_W;
      const avail = inner - headerW - 2;
      const cols = Math.max(1, Math.min(count, Math.floor(avail / (oneLine ? 26 : 12))));
      const lines = Math.ceil(count / cols);
      const cellW = avail / cols;
      const cellH = lines === 1 ? BOX : Math.max(12, Math.min(20, Math.floor(160 / lines)));
      const cells = [{ address: b.address, end: slab.first, x: PAD, y, w: headerW, h: Math.max(BOX, lines * cellH), header: true }];
      slab.live.forEach((live, n) => {
        const address = slab.first + n * cache.stride;
        cells.push({ address, end: address + cache.stride, x: PAD + headerW + 2 + (n % cols) * cellW, y: y + Math.floor(n / cols) * cellH, w: cellW, h: cellH, live: live === 1 });
      });
      const waste = bytes - (slab.first - b.address) - count * cache.stride;
      Object.assign(row, { kind: "slab", h: Math.max(BOX, lines * cellH), cells, slab, cache, waste });
    } else Object.assign(row, { kind: b.owner > 0 ? "pages" : "large", meta: b.owner === BUDDY_META, h: BOX });
    // The caption: one line when it fits the width (about 6.7 px a character at 11 px), else two.
    row.caption = rowCaption(row);
    row.captionH = row.caption.join(" · ").length * 6.7 > inner ? 2 * CAPTION - 4 : CAPTION;
    row.top = y + row.captionH;
    if (row.cells) for (const c of row.cells) c.y += row.captionH;
    y += row.captionH + row.h + GAP;
    rows.push(row);
  }
  return new KernelLayout(rows, width, y + PAD);
}

class KernelLayout {
  constructor(rows, width, height) {
    this.view = "kernel";
    this.rows = rows;
    this.width = width;
    this.height = height;
    this.left = PAD;
    this.rowHeight = BOX + CAPTION;
    this.boxHeight = BOX;
    this.zoom = 1;
    this.count = rows.length;
  }

  #row(address) {
    let lo = 0;
    let hi = this.rows.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = this.rows[mid];
      if (address < r.address) hi = mid - 1;
      else if (address >= r.end) lo = mid + 1;
      else return r;
    }
    return null;
  }

  /** The rectangle that shows `address` (its object's cell, or its row's box). */
  #rect(address) {
    const r = this.#row(address);
    if (!r) return null;
    if (r.cells) {
      const c = r.cells.find((cell) => address >= cell.address && address < cell.end);
      if (c) return c;
    }
    return { x: PAD, y: r.top, w: this.width - 2 * PAD, h: r.h };
  }

  /** What a step-mode mark of [start, end) outlines: a whole buddy block (its row, or its box in a run of free blocks), else the object at `start`. */
  markRect(start, end) {
    const r = this.#row(start);
    if (!r) return null;
    const box = r.cells?.find((c) => c.free && c.address === start && c.end === end);
    if (box) return box;
    if (r.address === start && end >= r.end) return { x: PAD, y: r.top, w: this.width - 2 * PAD, h: r.h };
    return this.#rect(start);
  }

  yOf(address) {
    return this.#rect(address)?.y ?? null;
  }

  rects(start) {
    const r = this.#rect(start);
    return r ? [{ x: r.x, y: r.y, w: r.w, h: r.h }] : [];
  }

  /** The address under a point: an object's (or the slab header's) start, or a row's block address. */
  addressAt(x, y) {
    for (const r of this.rows) {
      const top = r.top;
      if (y < top || y >= top + r.h) continue;
      if (r.cells) {
        const c = r.cells.find((cell) => x >= cell.x && x < cell.x + cell.w && y >= cell.y && y < cell.y + cell.h);
        return c ? c.address : null;
      }
      return x >= PAD && x < this.width - PAD ? r.address : null;
    }
    return null;
  }

  rangesIn(top, bottom) {
    return this.rows.filter((r) => r.top + r.h >= top && r.y <= bottom).map((r) => ({ start: r.address, end: r.end }));
  }
}


function text(ctx, s, x, y, w, color, { bold = false, size = 12, center = false } = {}) {
  ctx.font = `${bold ? "bold " : ""}${size}px ${FONT}`;
  const cut = ellipsize(ctx, s, w);
  if (!cut) return "";
  ctx.fillStyle = color;
  ctx.textBaseline = "middle";
  ctx.textAlign = center ? "center" : "left";
  ctx.fillText(cut, center ? x + w / 2 : x, y);
  ctx.textAlign = "left";
  return cut;
}

/** What a row's caption says: `[what it is, where]`, drawn on one line when it fits, else two. */
export function rowCaption(r) {
  const where = `order ${r.order}, ${pagesText(r.order)} (${formatBytes(PAGE_SIZE * pages(r.order))}) · ${hex(r.address)}`;
  if (r.kind === "free" && r.run?.length > 1) {
    const n = r.run.reduce((a, f) => a + pages(f.order), 0);
    return [`${r.run.length} free buddy blocks, orders ${r.run.map((f) => f.order).join(", ")}`, `${n} pages (${formatBytes(n * PAGE_SIZE)}) · ${hex(r.address)}`];
  }
  if (r.kind === "free") return ["free buddy block", where];
  if (r.kind === "slab") {
    const used = r.slab.live.reduce((a, n) => a + n, 0);
    return [`slab of "${r.cache.name}" · ${r.slab.list} · ${used}/${r.slab.live.length} objects in use`, `${r.cache.stride} B objects · ${where}`];
  }
  if (r.kind === "large") return ["large kmalloc block (its own pages)", where];
  if (r.meta) return ["the buddy allocator's own lists (its metadata)", where];
  return ["pages from the buddy allocator", where];
}

/**
 * Draws the visible band. `view` as for the block view: `{ top, height, width, dpr, colors, label(payload), marks, focus, hover }`;
 * `snap.blocks` gives each live allocation's id and requested bytes.
 */
export function drawKernelView(ctx, layout, snap, view) {
  const { top, height, width, dpr = 1 } = view;
  const colors = view.colors;
  ctx.setTransform(dpr, 0, 0, dpr, 0, -top * dpr);
  ctx.fillStyle = colors.background;
  ctx.fillRect(0, top, width, height);
  const requested = new Map();
  for (let i = 0; i < snap.blocks.length; i += BLOCK.COLUMNS) requested.set(snap.blocks[i + BLOCK.PAYLOAD], snap.blocks[i + BLOCK.REQUESTED]);
  const labels = [];
  let drawn = 0;
  for (const r of layout.rows) {
    if (r.top + r.h < top || r.y > top + height) continue;
    drawn++;
    const lines = r.captionH > CAPTION ? r.caption : [r.caption.join(" · ")];
    lines.forEach((line, n) => text(ctx, line, PAD, r.y + CAPTION / 2 + n * (CAPTION - 4), width - 2 * PAD, colors.text, { bold: r.kind !== "free" && n === 0, size: 11 }));
    labels.push({ address: r.address, text: r.caption.join(" · ") });
    const y = r.top;
    const w = width - 2 * PAD;
    if (r.kind === "free") {
      for (const c of r.cells) {
        ctx.fillStyle = colors.freeBlock;
        ctx.fillRect(c.x, c.y, c.w, c.h);
        ctx.strokeStyle = colors.freeBorder;
        ctx.strokeRect(c.x + 0.5, c.y + 0.5, c.w - 1, c.h - 1);
        const label = [`free · order ${c.order} · ${pagesText(c.order)}`, `order ${c.order}`, `${c.order}`].find((t) => t.length * 6.5 < c.w - 6);
        if (label) text(ctx, label, c.x, c.y + c.h / 2, c.w, colors.onBlock, { size: 11, center: true });
      }
    } else if (r.kind === "large" || r.kind === "pages") {
      ctx.fillStyle = r.kind === "large" ? colors.large : colors.meta;
      ctx.fillRect(PAD, y, w, r.h);
      ctx.strokeStyle = colors.border;
      ctx.strokeRect(PAD + 0.5, y + 0.5, w - 1, r.h - 1);
      const name = view.label?.(r.address) || "";
      const bytes = requested.get(r.address);
      const what = r.meta ? `buddy allocator's own lists · ${formatBytes(PAGE_SIZE * pages(r.order))}` : `${name ? `${name} · ` : ""}${bytes ? `${formatBytes(bytes)} asked, ` : ""}${formatBytes(PAGE_SIZE * pages(r.order))} given`;
      text(ctx, what, PAD, y + r.h / 2, w, colors.onBlock, { center: true });
    } else {
      for (const c of r.cells) {
        if (c.header) {
          ctx.fillStyle = colors.slabHeader;
          ctx.fillRect(c.x, c.y, c.w, c.h);
          text(ctx, c.w > 90 ? `header · ${formatBytes(c.end - c.address)}` : "hdr", c.x, c.y + c.h / 2, c.w, colors.onDark, { size: 10, center: true });
          continue;
        }
        ctx.fillStyle = c.live ? colors.payload : colors.freeObject;
        ctx.fillRect(c.x + 0.5, c.y + 0.5, Math.max(1, c.w - 1), c.h - 1);
        if (c.w >= 4) {
          ctx.strokeStyle = colors.pageLine;
          ctx.strokeRect(c.x + 0.5, c.y + 0.5, Math.max(1, c.w - 1), c.h - 1);
        }
        if (c.w >= 22 && c.live) text(ctx, view.label?.(c.address) || "", c.x + 1, c.y + c.h / 2, c.w - 2, colors.onBlock, { size: 10, center: true });
      }
      if (r.waste > 0) {
        const last = r.cells[r.cells.length - 1];
        const wx = last.x + last.w + 2;
        if (wx < width - PAD - 4) hatch(ctx, wx, last.y, width - PAD - wx, last.h, colors.slabWaste, 6);
      }
      ctx.strokeStyle = colors.border;
      ctx.strokeRect(PAD + 0.5, y + 0.5, w - 1, r.h - 1);
    }
  }
  // Step mode's marks and the focus: an outline around the cell or row that shows the address.
  for (const m of view.marks ?? []) {
    const rect = layout.markRect(m.start, m.end);
    if (!rect) continue;
    ctx.strokeStyle = view.markColor?.(m.role) ?? colors.focus;
    ctx.lineWidth = 3;
    ctx.strokeRect(rect.x - 1, rect.y - 1, rect.w + 2, rect.h + 2);
    ctx.lineWidth = 1;
  }
  if (view.focus >= 0) {
    const address = snap.blocks[view.focus * BLOCK.COLUMNS + BLOCK.ADDRESS];
    const rect = layout.rects(address)[0];
    if (rect) {
      ctx.strokeStyle = colors.focus;
      ctx.lineWidth = 2;
      ctx.strokeRect(rect.x, rect.y, rect.w, rect.h);
      ctx.lineWidth = 1;
    }
  }
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  return { blocks: drawn, arrows: 0, labels, links: [], empty: !layout.count };
}
