// The machine's page map on a canvas: every page of the buddy allocator in
// rows, each buddy block one box over its pages, coloured by the heap that
// holds it (the legend names the colours), free blocks light. Layout is pure
// (`layoutMap`); `drawMap` paints it; `hitBlock` answers a click.
import { currentTheme } from "../theme.js";

/** Colours of the owners: the kernel first, then the application heaps in order (Okabe-Ito). */
const OWNER_FILLS = ["#D55E00", "#0072B2", "#009E73", "#E69F00", "#56B4E9", "#F0E442", "#999999", "#FFFFFF"];
/** Label colour on each fill (contrast at least 4.5:1). */
const OWNER_INK = ["#FFFFFF", "#FFFFFF", "#000000", "#000000", "#000000", "#000000", "#000000", "#000000"];

/** The buddy allocator's own pages (its map): the page map's metadata colour. */
export const BUDDY_COLORS = Object.freeze({ fill: "#CC79A7", ink: "#000000" });

/** The fill and ink of `owner` among `names` (["kernel", "app1", ...]); free blocks take the theme's. */
export function ownerColors(owner, names) {
  if (owner === "buddy") return BUDDY_COLORS;
  const i = names.indexOf(owner);
  if (owner === "free" || i < 0) return null;
  return { fill: OWNER_FILLS[i % OWNER_FILLS.length], ink: OWNER_INK[i % OWNER_INK.length] };
}

/** Pages per row for a canvas `width` pixels wide: 16, or 8 on a narrow screen. */
export const columnsFor = (width) => (width < 560 ? 8 : 16);

/**
 * Boxes for the buddy blocks: `{ block, x, y, w, h }` in pixels, over a grid
 * of `columns` pages per row starting at `left`, `top`. A block of at most a
 * row spans its pages in one row; a larger one (aligned to its size, so to
 * whole rows) spans whole rows. Pure.
 */
export function layoutMap(blocks, { width, columns = columnsFor(width), left = 64, top = 4, rowHeight = 42 }) {
  const cell = (width - left - 4) / columns;
  const boxes = blocks.map((block) => {
    const row = Math.floor(block.index / columns);
    const col = block.index % columns;
    if (block.pages <= columns) return { block, x: left + col * cell, y: top + row * rowHeight, w: block.pages * cell, h: rowHeight };
    return { block, x: left, y: top + row * rowHeight, w: columns * cell, h: (block.pages / columns) * rowHeight };
  });
  const pages = blocks.reduce((n, b) => Math.max(n, b.index + b.pages), 0);
  const rows = Math.ceil(pages / columns);
  return { boxes, cell, columns, rows, left, top, rowHeight, height: top + rows * rowHeight + 4 };
}

/** The box under the point (x, y), or null. */
export function hitBlock(layout, x, y) {
  return layout.boxes.find((b) => x >= b.x && x < b.x + b.w && y >= b.y && y < b.y + b.h) ?? null;
}

/** The longest of `labels` that fits `width` pixels in `ctx`'s font, or "". */
function fitting(ctx, labels, width) {
  return labels.find((l) => ctx.measureText(l).width <= width - 6) ?? "";
}

/**
 * Paints the map: `names` orders the owners' colours, `selected` (an owner)
 * is outlined, `touched` (addresses) are the blocks the last operation split,
 * merged, handed out or took back (dashed).
 */
export function drawMap(canvas, snapshot, { names, selected = null, touched = new Set() }) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || canvas.parentElement?.clientWidth || 600;
  const layout = layoutMap(snapshot.blocks, { width, rowHeight: width < 560 ? 32 : 42 });
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(layout.height * ratio);
  canvas.style.height = `${layout.height}px`;
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  const { colors } = currentTheme();
  ctx.fillStyle = colors.background;
  ctx.fillRect(0, 0, width, layout.height);
  ctx.font = "12px system-ui, sans-serif";
  ctx.textBaseline = "middle";
  // Row labels: the first page of each row.
  ctx.fillStyle = colors.mutedText;
  ctx.textAlign = "right";
  for (let r = 0; r < layout.rows; r++) ctx.fillText(`page ${r * layout.columns}`, layout.left - 6, layout.top + r * layout.rowHeight + layout.rowHeight / 2);
  ctx.textAlign = "center";
  for (const box of layout.boxes) {
    const { block } = box;
    const c = ownerColors(block.owner, names);
    ctx.fillStyle = c ? c.fill : colors.freePage;
    ctx.fillRect(box.x + 1, box.y + 1, box.w - 2, box.h - 2);
    // Page lines inside a free block: the pages are there, unused.
    if (!c) {
      ctx.strokeStyle = colors.grid;
      ctx.lineWidth = 1;
      for (let x = box.x + layout.cell; x < box.x + box.w - 1; x += layout.cell) {
        ctx.beginPath();
        ctx.moveTo(x + 0.5, box.y + 4);
        ctx.lineTo(x + 0.5, box.y + box.h - 4);
        ctx.stroke();
      }
    }
    ctx.strokeStyle = colors.border;
    ctx.lineWidth = 1.5;
    ctx.strokeRect(box.x + 1, box.y + 1, box.w - 2, box.h - 2);
    if (selected && block.owner === selected) {
      ctx.strokeStyle = colors.text;
      ctx.lineWidth = 3;
      ctx.strokeRect(box.x + 2.5, box.y + 2.5, box.w - 5, box.h - 5);
    }
    if (touched.has(block.address)) {
      ctx.save();
      ctx.setLineDash([5, 3]);
      ctx.strokeStyle = "#E69F00";
      ctx.lineWidth = 3;
      ctx.strokeRect(box.x + 4, box.y + 4, box.w - 8, box.h - 8);
      ctx.restore();
    }
    const who = block.owner === "buddy" ? "buddy map" : block.owner;
    const detail = block.cache && block.owner === "kernel" ? block.cache : null;
    const lines = [
      [`${who} · order ${block.order} · ${block.pages} page${block.pages === 1 ? "" : "s"}`, `${who} · order ${block.order}`, who, ...(block.owner === "buddy" ? ["map"] : [who.slice(0, 4)]), who.slice(0, 1)],
      detail ? [detail, detail.replace("kmalloc-", "k")] : null,
    ].filter(Boolean);
    ctx.fillStyle = c ? c.ink : colors.mutedText;
    const cy = box.y + box.h / 2;
    const first = fitting(ctx, lines[0], box.w);
    const second = lines[1] && box.h >= 40 ? fitting(ctx, lines[1], box.w) : "";
    if (second) {
      ctx.fillText(first, box.x + box.w / 2, cy - 8);
      ctx.fillText(second, box.x + box.w / 2, cy + 8);
    } else {
      ctx.fillText(first, box.x + box.w / 2, cy);
    }
  }
  return layout;
}

/**
 * The buddy blocks after one buddy event, from the blocks before it (pure):
 * a split halves a free block, an alloc gives a block to `ownerOf(addr)`, a
 * free makes a block free, a merge joins two free buddies. Other events
 * change nothing. The frames of an animation are these, one event at a time.
 */
export function applyBuddyEvent(blocks, event, ownerOf = () => "?") {
  const at = (addr) => blocks.findIndex((b) => b.address === addr);
  const pageBytes = 4096;
  const piece = (b, address, order, free, owner) => ({ ...b, address, order, pages: 2 ** order, index: b.index + (address - b.address) / pageBytes, free, owner, cache: free ? null : b.cache });
  const out = blocks.slice();
  switch (event.kind) {
    case "buddy-split": {
      const i = at(event.addr);
      if (i < 0) return blocks;
      const b = out[i];
      const half = 2 ** (event.order - 1) * pageBytes;
      out.splice(i, 1, piece(b, b.address, event.order - 1, true, "free"), piece(b, b.address + half, event.order - 1, true, "free"));
      return out;
    }
    case "buddy-alloc": {
      const i = at(event.addr);
      if (i < 0) return blocks;
      out[i] = { ...out[i], free: false, owner: ownerOf(event.addr) };
      return out;
    }
    case "buddy-free": {
      const i = at(event.addr);
      if (i < 0) return blocks;
      out[i] = { ...out[i], free: true, owner: "free", cache: null };
      return out;
    }
    case "buddy-merge": {
      const lo = Math.min(event.addr, event.with);
      const i = at(lo);
      const j = at(Math.max(event.addr, event.with));
      if (i < 0 || j < 0) return blocks;
      out.splice(j, 1);
      out[i] = piece(out[i], lo, event.order, true, "free");
      return out;
    }
    default:
      return blocks;
  }
}
