// Draws the heap map on a Canvas 2D: every 4 KiB page of every segment, the
// blocks inside them (header, payload, padding, free space), wasm-page
// boundaries and large objects. Reads the block table and page owners straight
// from wasm memory (typed-array views), so a frame costs no copies.
import { BLOCK, BLOCK_FLAG, PAGE, PAGE_SIZE, WASM_PAGE_SIZE } from "./heaplab.js";
import { computeLayout } from "./layout.js";

/** Colour-blind-safe palette (Okabe and Ito), one colour per kind of byte. */
export const COLORS = Object.freeze({
  header: "#0072B2",
  payload: "#56B4E9",
  padding: "#F0E442",
  free: "#E4E4E4",
  freePage: "#FAFAFA",
  meta: "#CC79A7",
  large: "#E69F00",
  border: "#222222",
  wasmPage: "#D55E00",
  text: "#333333",
  focus: "#000000",
});

export const LEGEND = [
  ["header", "header"],
  ["payload", "payload (requested bytes)"],
  ["padding", "padding / unused tail"],
  ["free", "free block"],
  ["large", "large object payload"],
  ["meta", "page map (metadata)"],
  ["freePage", "free page"],
];

const HEADER_BYTES = 8;

/**
 * Renders one frame. `state` holds `segments`, `pages` (Uint8Array), `blocks`
 * (Uint32Array), and optionally `focus` (index of the focused block).
 * Returns the layout used, for hit-testing.
 */
export function drawHeapMap(canvas, state, { bytesPerRow = PAGE_SIZE } = {}) {
  const dpr = globalThis.devicePixelRatio || 1;
  const cssWidth = canvas.clientWidth || 800;
  const layout = computeLayout(state.segments, { width: cssWidth, bytesPerRow });
  const cssHeight = Math.max(layout.height, 40);
  canvas.style.height = `${cssHeight}px`;
  canvas.width = Math.round(cssWidth * dpr);
  canvas.height = Math.round(cssHeight * dpr);
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, cssWidth, cssHeight);

  drawPages(ctx, layout, state);
  drawBlocks(ctx, layout, state);
  drawRowLabels(ctx, layout);
  return layout;
}

function fill(ctx, layout, start, end, color) {
  ctx.fillStyle = color;
  for (const r of layout.rects(start, end)) ctx.fillRect(r.x, r.y, Math.max(r.w, 0.5), r.h - 1);
}

function drawPages(ctx, layout, { segments, pages }) {
  let page = 0;
  for (const segment of segments) {
    for (let offset = 0; offset < segment.bytes; offset += PAGE_SIZE, page++) {
      const owner = pages[page];
      const color = owner === PAGE.META ? COLORS.meta : owner >= PAGE.LARGE_HEAD ? COLORS.large : COLORS.freePage;
      const addr = segment.base + offset;
      fill(ctx, layout, addr, addr + PAGE_SIZE, color);
    }
  }
}

function drawBlocks(ctx, layout, { blocks, focus = -1 }) {
  const n = blocks.length / BLOCK.COLUMNS;
  for (let i = 0; i < n; i++) {
    const row = i * BLOCK.COLUMNS;
    const addr = blocks[row + BLOCK.ADDRESS];
    const size = blocks[row + BLOCK.SIZE];
    const payload = blocks[row + BLOCK.PAYLOAD];
    const requested = blocks[row + BLOCK.REQUESTED];
    const flags = blocks[row + BLOCK.FLAGS];
    const end = addr + size;
    if (flags & BLOCK_FLAG.USED) {
      fill(ctx, layout, addr, payload, COLORS.header);
      const body = flags & BLOCK_FLAG.LARGE ? COLORS.large : COLORS.payload;
      fill(ctx, layout, payload, payload + requested, body);
      fill(ctx, layout, payload + requested, end, COLORS.padding);
    } else {
      fill(ctx, layout, addr, addr + HEADER_BYTES, COLORS.header);
      fill(ctx, layout, addr + HEADER_BYTES, end, COLORS.free);
    }
    // Block boundary: a dark tick at its start.
    ctx.fillStyle = COLORS.border;
    const first = layout.rects(addr, addr + 1)[0];
    if (first) ctx.fillRect(first.x, first.y, 1, first.h - 1);
    if (i === focus) {
      ctx.strokeStyle = COLORS.focus;
      ctx.lineWidth = 2;
      for (const r of layout.rects(addr, end)) ctx.strokeRect(r.x + 1, r.y + 1, Math.max(r.w - 2, 1), r.h - 3);
    }
  }
}

function drawRowLabels(ctx, layout) {
  ctx.font = "11px ui-monospace, monospace";
  ctx.textBaseline = "middle";
  for (const row of layout.rows) {
    const wasmBoundary = row.addr % WASM_PAGE_SIZE === 0;
    ctx.fillStyle = COLORS.text;
    ctx.fillText(`0x${row.addr.toString(16).padStart(6, "0")}`, 4, row.y + layout.rowHeight / 2);
    if (wasmBoundary) {
      ctx.fillStyle = COLORS.wasmPage;
      ctx.fillRect(layout.left - 6, row.y, layout.plotWidth + 6, 2);
    }
  }
}
