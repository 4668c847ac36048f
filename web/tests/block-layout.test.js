// The block view's geometry (block-layout.js) and the free-list panel's
// pure parts: every block a readable box in address order, the rest collapsed,
// and the address queries (rects, yOf, addressAt) consistent with each other.
import { describe, expect, test } from "vitest";
import { computeBlockLayout, blockWidth, fitBlockZoom, ITEM } from "../src/block-layout.js";
import { freeListTitle, blockSizeAt } from "../src/free-list-panel.js";
import { init, PAGE } from "../src/heaplab.js";

// The shared names and codes (POLICIES, PAGE, BLOCK, ...) come from the wasm
// module: load it before the tests are collected.
await init();

const BASE = 0x140000;
/** One segment of 16 pages: a page-map page, 4 arena pages of blocks, 11 free pages. */
function heap() {
  const pages = new Uint8Array(16).fill(PAGE.FREE);
  pages[0] = PAGE.META;
  pages[1] = PAGE.ARENA_HEAD;
  pages[2] = pages[3] = pages[4] = PAGE.ARENA;
  const a = BASE + 0x1000;
  // address, size, payload, requested, flags, id
  const rows = [
    [a, 32, a + 8, 24, 1, 1],
    [a + 32, 48, a + 40, 0, 0, 0],
    [a + 80, 32, a + 88, 16, 1, 3],
    [a + 112, 16384 - 112 - 8, a + 120, 0, 0, 0],
  ];
  return { segments: [{ base: BASE, bytes: 16 * 4096 }], pages, blocks: new Uint32Array(rows.flat()), version: 1 };
}

describe("computeBlockLayout", () => {
  test("items in address order: page map strip, each block, the arena's end tag, one band of free pages", () => {
    const layout = computeBlockLayout(heap(), { width: 1000 });
    const kinds = Array.from(layout.kind.slice(0, layout.count));
    expect(kinds).toEqual([ITEM.META, ITEM.BLOCK, ITEM.BLOCK, ITEM.BLOCK, ITEM.BLOCK, ITEM.OTHER, ITEM.FREE_PAGES]);
    expect(layout.ref[layout.count - 1]).toBe(11); // free pages in the band
    for (let i = 1; i < layout.count; i++) expect(layout.start[i]).toBe(layout.end[i - 1]);
  });

  test("a small block is wide enough for a label; a bigger one is wider, but not in proportion", () => {
    expect(blockWidth(32)).toBeGreaterThanOrEqual(56);
    expect(blockWidth(16384)).toBeGreaterThan(blockWidth(32) * 3);
    expect(blockWidth(16384)).toBeLessThan(blockWidth(32) * 16);
    expect(blockWidth(64, 2)).toBe(2 * blockWidth(64, 1));
  });

  test("rows wrap inside the width; every box fits in its row", () => {
    const layout = computeBlockLayout(heap(), { width: 400 });
    expect(layout.rowCount).toBeGreaterThan(1);
    for (let i = 0; i < layout.count; i++) {
      expect(layout.xs[i]).toBeGreaterThanOrEqual(layout.left);
      expect(layout.xs[i] + layout.ws[i]).toBeLessThanOrEqual(layout.left + layout.plotWidth + 0.01);
    }
    expect(layout.height).toBe(layout.rowCount * layout.rowHeight);
  });

  test("addressAt inverts rects: the header, payload and footer of a block map to their own x ranges", () => {
    const snap = heap();
    const layout = computeBlockLayout(snap, { width: 1000 });
    const a = BASE + 0x1000;
    for (const address of [a, a + 7, a + 8, a + 20, a + 31, a + 32, a + 39, a + 60, a + 79, a + 200, a + 16000]) {
      const [r] = layout.rects(address, address + 1);
      const back = layout.addressAt(r.x + Math.min(0.2, r.w / 2), r.y + 3);
      const bytesPerPixel = (layout.end[r.item] - layout.start[r.item]) / layout.ws[r.item];
      expect(Math.abs(back - address), `address ${address.toString(16)}`).toBeLessThanOrEqual(Math.ceil(bytesPerPixel * 0.3) + 1);
      expect(layout.yOf(address)).toBe(r.y);
    }
    // The header is a fixed-width tag at the block's left; the payload takes the rest.
    const [header] = layout.rects(a, a + 8);
    const [payload] = layout.rects(a + 8, a + 32);
    expect(header.w).toBe(layout.tag);
    expect(payload.x).toBeCloseTo(header.x + header.w, 5);
    // Lanes (where the arrows run) are not addresses.
    expect(layout.addressAt(header.x + 2, header.y - 4)).toBeNull();
  });

  test("a gap between two segments is one item that holds no address", () => {
    const one = heap();
    const pages = new Uint8Array(32).fill(PAGE.FREE);
    pages.set(one.pages);
    const snap = { ...one, segments: [one.segments[0], { base: BASE + 0x100000, bytes: 16 * 4096 }], pages };
    const layout = computeBlockLayout(snap, { width: 2000 });
    const gap = Array.from(layout.kind.slice(0, layout.count)).indexOf(ITEM.GAP);
    expect(gap).toBeGreaterThan(0);
    expect(layout.addressAt(layout.xs[gap] + 2, layout.boxTop(layout.rowOf[gap]) + 3)).toBeNull();
    expect(layout.rects(layout.start[gap], layout.end[gap])).toEqual([]);
  });

  test("100k blocks lay out in one pass; fit picks a smaller zoom for a taller heap", () => {
    const n = 100_000;
    const rows = new Uint32Array(n * 6);
    const base = BASE + 0x1000;
    for (let i = 0; i < n; i++) rows.set([base + i * 64, 64, base + i * 64 + 8, 40, i % 3 ? 1 : 0, i + 1], i * 6);
    const pages = new Uint8Array(Math.ceil((n * 64 + 0x1000) / 4096) + 1).fill(PAGE.ARENA);
    pages[0] = PAGE.META;
    const snap = { segments: [{ base: BASE, bytes: pages.length * 4096 }], pages, blocks: rows };
    const layout = computeBlockLayout(snap, { width: 1200 });
    expect(layout.count).toBeGreaterThanOrEqual(n);
    expect(layout.rowsIn(0, 600).length).toBeLessThan(20);
    expect(fitBlockZoom(heap(), 1000, 400)).toBeGreaterThan(fitBlockZoom(snap, 1000, 400));
  });
});

describe("free-list panel", () => {
  test("the title says the order and the count; sizes come from the block table", () => {
    const snap = heap();
    expect(freeListTitle({ order: "address", lists: [{ blocks: [1, 2] }] })).toBe("Free list (address order): 2 free blocks");
    expect(freeListTitle({ order: "size-class", lists: [{ blocks: [1] }, { blocks: [2] }] })).toMatch(/^Free lists \(one list per size class\): 2 free blocks/);
    expect(blockSizeAt(snap.blocks, BASE + 0x1000 + 32)).toBe(48);
    expect(blockSizeAt(snap.blocks, BASE + 0x1000 + 33)).toBe(0);
  });
});
