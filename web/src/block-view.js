// Draws the block view (block-layout.js) on a Canvas 2D: each block a box
// with its header, payload, padding and (free blocks) footer as parts, a
// label (variable or #id, size, address) whenever it fits; the page map,
// runs of free pages and segment gaps as one labelled item each; the free
// list in its own order as arrows from each free block to the next in the
// lane above the boxes, with each list's head and next fit's roving pointer.
// Only the visible rows are drawn. Pure drawing on a context.
import { BLOCK, BLOCK_FLAG } from "./heaplab.js";
import { ITEM, FOOTER_BYTES } from "./block-layout.js";
import { hex, formatBytes } from "./format.js";
import { ellipsize, hatch, wrapWords } from "./canvas.js";
import { COLORS, beginBand, drawMarks, drawHighlights } from "./heap-map.js";

const FONT = "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace";

/** Colours of the free lists when there are several (segregated fit's classes). */
const LIST_COLORS = ["#007A5A", "#B04A00", "#5B3A8C", "#0063A0", "#8A6D00", "#A0306A"];

/**
 * Pairs of items joined by a free-list arrow, computed once per layout and
 * free-list reading: `{ from, to, list }` item indexes, plus each list's head.
 */
function arrowsOf(layout, freeLists) {
  const cache = layout.arrowCache;
  if (cache && cache.freeLists === freeLists) return cache;
  const pairs = [];
  const heads = [];
  const lists = freeLists?.lists ?? [];
  lists.forEach((list, li) => {
    let prev = -1;
    let headless = true;
    for (const address of list.blocks) {
      const item = layout.itemAt(address);
      if (item < 0) {
        prev = -1;
        continue;
      }
      if (headless) heads.push({ item, list: li });
      headless = false;
      if (prev >= 0) pairs.push({ from: prev, to: item, list: li });
      prev = item;
    }
  });
  const rover = freeLists?.rover != null ? layout.itemAt(freeLists.rover) : -1;
  layout.arrowCache = { freeLists, pairs, heads, rover };
  return layout.arrowCache;
}

/**
 * Renders the band [view.top, view.top + view.height) of the block view.
 * `view`: `{ top, height, width, dpr, focus, hover, label(payload), marks, freeLists, colors, empty }`.
 * Returns what was drawn, for the page's tests and announcements:
 * `{ blocks, arrows, labels: [{ address, text }], links: [[from, to]] }`
 * (block addresses; `links` are the free-list arrows in list order).
 */
export function drawBlockView(ctx, layout, snap, view) {
  const { top, height, width } = view;
  const colors = view.colors ?? COLORS;
  const bottom = top + height;
  beginBand(ctx, view, colors.gap);

  const rows = layout.rowsIn(top, bottom);
  let drawn = 0;
  const labels = [];
  for (const row of rows) {
    const [i, j] = layout.rowItems(row.row);
    for (let k = i; k < j; k++) drawn += drawItem(ctx, layout, snap, k, view, colors, labels);
  }
  const ranges = layout.rangesIn(top, bottom);
  const links = [];
  const arrows = drawFreeLists(ctx, layout, view.freeLists, rows, colors, links);
  drawHighlights(ctx, layout, snap, view, ranges);
  if (view.marks?.length) drawMarks(ctx, layout, view.marks, ranges);
  if (!layout.count || view.empty) drawEmpty(ctx, layout, top, height, width, colors, view.empty);
  ctx.restore();
  return { blocks: drawn, arrows, labels, links, empty: !layout.count };
}

function drawEmpty(ctx, layout, top, height, width, colors, text) {
  const given = text ?? ["The heap is empty.", "Type p = malloc(24) in the console below, or press malloc."];
  // Each line wrapped at spaces to the map's width (a phone's is ~350 px).
  const lines = given.flatMap((line, n) => {
    ctx.font = n === 0 ? `bold 15px ${FONT}` : `13px ${FONT}`;
    return wrapWords(ctx, line, width - 16).map((part) => ({ part, bold: n === 0 }));
  });
  const y = layout.count ? Math.max(top + 20, layout.height + 24) : top + height / 2 - 22 - (lines.length - given.length) * 10;
  ctx.fillStyle = colors.text;
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  lines.forEach(({ part, bold }, n) => {
    ctx.font = bold ? `bold 15px ${FONT}` : `13px ${FONT}`;
    ctx.fillText(part, width / 2, y + n * 20);
  });
  ctx.textAlign = "left";
}


/** Fits `lines` (most important first) into a box: as many as fit, each cut to the width. Returns the lines drawn. */
function drawLabel(ctx, lines, x, y, w, h, color) {
  if (w < 18) return [];
  const sizes = [12, 11, 10];
  const fitting = [];
  let used = 0;
  for (let n = 0; n < lines.length; n++) {
    const text = lines[n];
    if (!text) continue;
    const size = sizes[Math.min(n, sizes.length - 1)];
    if (used + size + 3 > h - 4) break;
    ctx.font = `${n === 0 ? "bold " : ""}${size}px ${FONT}`;
    if (ctx.measureText(text).width > w - 6) {
      if (n === 0) {
        // The main label is cut rather than dropped.
        const cut = ellipsize(ctx, text, w - 6);
        if (!cut) break;
        fitting.push({ text: cut, size, bold: true });
        used += size + 3;
      }
      continue;
    }
    fitting.push({ text, size, bold: n === 0 });
    used += size + 3;
  }
  if (!fitting.length) return [];
  ctx.fillStyle = color;
  ctx.textBaseline = "top";
  ctx.textAlign = "center";
  let ty = y + (h - used) / 2 + 1;
  for (const line of fitting) {
    ctx.font = `${line.bold ? "bold " : ""}${line.size}px ${FONT}`;
    ctx.fillText(line.text, x + w / 2, ty);
    ty += line.size + 3;
  }
  ctx.textAlign = "left";
  return fitting.map((line) => line.text);
}


function drawItem(ctx, layout, snap, i, view, colors, labels) {
  const x = layout.xs[i];
  const w = layout.ws[i];
  const y = layout.boxTop(layout.rowOf[i]);
  const h = layout.boxHeight;
  const a = layout.start[i];
  const b = layout.end[i];
  switch (layout.kind[i]) {
    case ITEM.META: {
      ctx.fillStyle = colors.meta;
      ctx.fillRect(x, y, w, h);
      drawLabel(ctx, ["page map", `metadata · ${formatBytes(b - a)}`, hex(a)], x, y, w, h, colors.onMeta ?? "#1A1A1A");
      return 0;
    }
    case ITEM.FREE_PAGES: {
      ctx.fillStyle = colors.freePage;
      ctx.fillRect(x, y, w, h);
      hatch(ctx, x, y, w, h, colors.freePageHatch ?? "#E2E2E2");
      ctx.setLineDash([4, 3]);
      ctx.strokeStyle = colors.pageLine;
      ctx.strokeRect(x + 0.5, y + 0.5, w - 1, h - 1);
      ctx.setLineDash([]);
      const pages = layout.ref[i];
      drawLabel(ctx, [`${pages} free page${pages === 1 ? "" : "s"}`, formatBytes(b - a), hex(a)], x, y, w, h, colors.text);
      return 0;
    }
    case ITEM.GAP: {
      hatch(ctx, x, y, w, h, colors.gapHatch);
      drawLabel(ctx, ["gap"], x, y, w, h, colors.text);
      return 0;
    }
    case ITEM.OTHER: {
      ctx.fillStyle = colors.allocator ?? colors.header;
      ctx.fillRect(x, y, w, h);
      // A production allocator's own bytes: headers, metadata, free space it keeps to itself.
      if (snap.opaque && w > 40) drawLabel(ctx, ["allocator's", formatBytes(b - a), hex(a)], x, y, w, h, colors.onMeta ?? "#1A1A1A");
      return 0;
    }
    default:
      break;
  }
  // A block: header | payload | padding, or header | free | footer.
  const C = BLOCK.COLUMNS;
  const row = layout.ref[i] * C;
  const blocks = snap.blocks;
  const flags = blocks[row + BLOCK.FLAGS];
  const used = (flags & BLOCK_FLAG.USED) !== 0;
  const large = (flags & BLOCK_FLAG.LARGE) !== 0;
  const quick = (flags & (BLOCK_FLAG.QUICK ?? 0)) !== 0;
  const payload = blocks[row + BLOCK.PAYLOAD];
  const size = b - a;
  const px = layout.xIn(i, payload);
  ctx.fillStyle = colors.header;
  ctx.fillRect(x, y, Math.max(1, px - x), h);
  let textX = px;
  let textW = x + w - px;
  if (used) {
    const requested = blocks[row + BLOCK.REQUESTED];
    const rx = layout.xIn(i, payload + requested);
    ctx.fillStyle = quick ? colors.quick : large ? colors.large : colors.payload;
    ctx.fillRect(px, y, Math.max(0, rx - px), h);
    if (rx < x + w - 0.5) {
      ctx.fillStyle = colors.padding;
      ctx.fillRect(rx, y, x + w - rx, h);
    }
  } else {
    // (A production allocator's free block has no footer of ours.)
    const fx = snap.opaque ? x + w : layout.xIn(i, b - FOOTER_BYTES);
    ctx.fillStyle = colors.freeBlock;
    ctx.fillRect(px, y, Math.max(0, fx - px), h);
    ctx.fillStyle = colors.header;
    ctx.fillRect(fx, y, x + w - fx, h);
    textW = fx - px;
  }
  ctx.strokeStyle = used ? colors.border : colors.freeBorder;
  ctx.lineWidth = 1;
  ctx.strokeRect(x + 0.5, y + 0.5, w - 1, h - 1);
  let lines;
  if (quick) lines = ["quick", formatBytes(size), hex(a)];
  else if (used) {
    const name = view.label?.(payload) || `#${blocks[row + BLOCK.ID]}`;
    lines = [large ? `${name} large` : name, `${formatBytes(blocks[row + BLOCK.REQUESTED])}${textW > 90 ? ` of ${formatBytes(size - (payload - a))}` : ""}`, hex(payload)];
  } else lines = ["free", formatBytes(size), hex(a)];
  const shown = drawLabel(ctx, lines, textX, y, textW, h, colors.onBlock ?? colors.text);
  labels.push({ address: a, text: shown.join(" ") });
  return 1;
}

/** The free lists as arrows in the lanes; returns how many were drawn. */
function drawFreeLists(ctx, layout, freeLists, rows, colors, links) {
  if (!freeLists || !rows.length) return 0;
  const { pairs, heads, rover } = arrowsOf(layout, freeLists);
  const firstRow = rows[0].row;
  const lastRow = rows[rows.length - 1].row;
  // Quick lists come after the free lists and are drawn dashed, in the quick blocks' colour.
  const several = (freeLists.lists?.filter((l) => !l.quick).length ?? 0) > 1;
  const isQuick = (li) => Boolean(freeLists.lists?.[li]?.quick);
  const colorOf = (li) => (isQuick(li) ? colors.quick : several ? LIST_COLORS[li % LIST_COLORS.length] : colors.freeArrow);
  const lane = layout.lane;
  let drawn = 0;
  ctx.lineWidth = 1.6;
  for (const { from, to, list } of pairs) {
    const ra = layout.rowOf[from];
    const rb = layout.rowOf[to];
    if (Math.max(ra, rb) < firstRow || Math.min(ra, rb) > lastRow) continue;
    const color = colorOf(list);
    const xa = layout.xs[from] + layout.ws[from] / 2 + 5;
    const xb = layout.xs[to] + layout.ws[to] / 2 - 5;
    const ya = layout.boxTop(ra);
    const yb = layout.boxTop(rb);
    const lift = ra === rb ? Math.min(lane - 5, 7 + Math.abs(xb - xa) * 0.06) : lane - 5;
    ctx.strokeStyle = color;
    ctx.setLineDash?.(isQuick(list) ? [4, 3] : []);
    ctx.beginPath();
    ctx.moveTo(xa, ya);
    ctx.bezierCurveTo(xa, ya - lift, xb, yb - lift, xb, yb - 1);
    ctx.stroke();
    ctx.setLineDash?.([]);
    arrowHead(ctx, xb, yb - 1, color);
    links.push([layout.start[from], layout.start[to]]);
    drawn++;
  }
  ctx.font = `bold 10px ${FONT}`;
  ctx.textBaseline = "bottom";
  // Labels left to right; one that would overlap the label before it on its
  // row drops "head", then its text (the arrow stays; the panel names it).
  const labelEnd = new Map();
  const ordered = [...heads].sort((a, b) => layout.xs[a.item] - layout.xs[b.item]);
  for (const { item, list } of ordered) {
    const r = layout.rowOf[item];
    if (r < firstRow || r > lastRow) continue;
    const color = colorOf(list);
    const x = layout.xs[item] + layout.ws[item] / 2 - 5;
    const y = layout.boxTop(r);
    const info = freeLists.lists[list];
    const long = info.quick || (several && info.label) ? `head ${info.label}` : "free list";
    const fits = (t) => {
      const w = ctx.measureText(t).width;
      return Math.max(layout.left, Math.min(x - w - 3, layout.left + layout.plotWidth - w)) >= (labelEnd.get(r) ?? -Infinity) + 4;
    };
    const text = [long, info.label ?? ""].find((t) => t && fits(t)) ?? "";
    ctx.strokeStyle = color;
    ctx.beginPath();
    ctx.moveTo(x, y - lane + 12);
    ctx.lineTo(x, y - 1);
    ctx.stroke();
    arrowHead(ctx, x, y - 1, color);
    if (!text) continue;
    const tw = ctx.measureText(text).width;
    const tx = Math.max(layout.left, Math.min(x - tw - 3, layout.left + layout.plotWidth - tw));
    labelEnd.set(r, tx + tw);
    ctx.fillStyle = colors.gap;
    ctx.fillRect(tx - 1, y - lane + 1, tw + 2, 11);
    ctx.fillStyle = color;
    ctx.fillText(text, tx, y - lane + 12);
  }
  if (rover >= 0) {
    const r = layout.rowOf[rover];
    if (r >= firstRow && r <= lastRow) {
      const x = layout.xs[rover] + 4;
      const y = layout.boxTop(r);
      ctx.fillStyle = colors.rover;
      ctx.beginPath();
      ctx.moveTo(x, y - 9);
      ctx.lineTo(x + 10, y - 9);
      ctx.lineTo(x + 5, y - 1);
      ctx.closePath();
      ctx.fill();
      ctx.fillText("rover", x + 12, y - 1);
    }
  }
  return drawn;
}

function arrowHead(ctx, x, y, color) {
  ctx.fillStyle = color;
  ctx.beginPath();
  ctx.moveTo(x, y);
  ctx.lineTo(x - 4, y - 7);
  ctx.lineTo(x + 4, y - 7);
  ctx.closePath();
  ctx.fill();
}
