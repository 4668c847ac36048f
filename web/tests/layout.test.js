import { describe, expect, test } from "vitest";
import { computeLayout, blockAt, firstBlockFrom, fitBytesPerRow, clampBytesPerRow, MAX_ROWS } from "../src/layout.js";

const segments = [
  { base: 0x110000, bytes: 3 * 4096 },
  { base: 0x200000, bytes: 2 * 4096 },
];

describe("computeLayout", () => {
  const layout = computeLayout(segments, { width: 84 + 1024, rowHeight: 10, gap: 6, left: 84 });

  test("one row per 4 KiB page, with a gap between segments", () => {
    const rows = layout.rowsIn(0, layout.height);
    expect(rows.map((r) => r.addr)).toEqual([0x110000, 0x111000, 0x112000, 0x200000, 0x201000]);
    expect(rows.map((r) => r.y)).toEqual([0, 10, 20, 36, 46]);
    expect(layout.height).toBe(56);
    expect(layout.scale).toBe(0.25);
    expect(layout.bytesPerPixel).toBe(4);
    expect(layout.rowCount).toBe(5);
  });

  test("rowsIn returns only the rows of the visible band", () => {
    expect(layout.rowsIn(12, 40).map((r) => r.addr)).toEqual([0x111000, 0x112000, 0x200000]);
    expect(layout.rowsIn(31, 35)).toEqual([]); // inside the gap
    expect(layout.rangesIn(0, 56)).toEqual([
      { start: 0x110000, end: 0x113000 },
      { start: 0x200000, end: 0x202000 },
    ]);
  });

  test("a range spanning a page boundary gives one rectangle per row", () => {
    const rects = layout.rects(0x110000 + 4000, 0x111000 + 96);
    expect(rects).toEqual([
      { x: 84 + 1000, y: 0, w: 24, h: 10 },
      { x: 84, y: 10, w: 24, h: 10 },
    ]);
  });

  test("a range across the gap skips it", () => {
    const rects = layout.rects(0x112f00, 0x200010);
    expect(rects.map((r) => r.y)).toEqual([20, 36]);
  });

  test("addressAt inverts rects and is null outside the heap", () => {
    const [r] = layout.rects(0x200000 + 400, 0x200000 + 404);
    expect(layout.addressAt(r.x, r.y + 1)).toBe(0x200000 + 400);
    expect(layout.addressAt(10, 5)).toBeNull(); // the label column
    expect(layout.addressAt(100, 31)).toBeNull(); // the gap between segments
    expect(layout.addressAt(100, 56)).toBeNull(); // below the heap
    expect(layout.yOf(0x201000 + 5)).toBe(46);
    expect(layout.yOf(0x150000)).toBeNull();
  });

  test("zoomed in, a page takes several rows; zoomed out, a row holds several pages", () => {
    const zin = computeLayout(segments, { width: 84 + 1024, bytesPerRow: 1024, rowHeight: 10, gap: 6 });
    expect(zin.rowCount).toBe(20);
    expect(zin.scale).toBe(1);
    const zout = computeLayout(segments, { width: 84 + 1024, bytesPerRow: 65536, rowHeight: 10, gap: 6 });
    expect(zout.rowsIn(0, zout.height).map((r) => r.bytes)).toEqual([3 * 4096, 2 * 4096]);
  });

  test("a 64 MiB heap at 64 bytes a row is arithmetic, not a million objects", () => {
    const big = computeLayout([{ base: 0x100000, bytes: 64 << 20 }], { width: 1100, bytesPerRow: 64 });
    expect(big.rowCount).toBe((64 << 20) / 64);
    const t0 = performance.now();
    const rows = big.rowsIn(5_000_000, 5_000_600);
    expect(performance.now() - t0).toBeLessThan(20);
    expect(rows.length).toBeLessThanOrEqual(35);
    expect(big.addressAt(84, rows[0].y)).toBe(rows[0].addr);
  });
});

describe("zoom levels", () => {
  test("fitBytesPerRow is the smallest power of two that fits", () => {
    expect(fitBytesPerRow(64 * 1024, 16)).toBe(4096);
    expect(fitBytesPerRow(64 << 20, 40)).toBe(2 << 20);
  });
  test("clampBytesPerRow keeps the row count under MAX_ROWS", () => {
    expect(clampBytesPerRow(64, 64 * 1024)).toBe(64);
    const bpr = clampBytesPerRow(64, 64 << 20);
    expect((64 << 20) / bpr).toBeLessThanOrEqual(MAX_ROWS);
    expect(clampBytesPerRow(1, 4096)).toBe(64);
  });
});

describe("blockAt", () => {
  // address, size, then four more columns
  const blocks = new Uint32Array([100, 32, 0, 0, 0, 0, 132, 64, 0, 0, 0, 0, 196, 16, 0, 0, 0, 0]);
  test("finds the block containing an address by binary search", () => {
    expect(blockAt(blocks, 6, 100)).toBe(0);
    expect(blockAt(blocks, 6, 131)).toBe(0);
    expect(blockAt(blocks, 6, 132)).toBe(1);
    expect(blockAt(blocks, 6, 211)).toBe(2);
    expect(blockAt(blocks, 6, 212)).toBe(-1);
    expect(blockAt(blocks, 6, 99)).toBe(-1);
  });
  test("firstBlockFrom finds the first block ending after an address", () => {
    expect(firstBlockFrom(blocks, 6, 0)).toBe(0);
    expect(firstBlockFrom(blocks, 6, 131)).toBe(0);
    expect(firstBlockFrom(blocks, 6, 132)).toBe(1);
    expect(firstBlockFrom(blocks, 6, 300)).toBe(3);
  });
});
