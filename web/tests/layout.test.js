import { describe, expect, test } from "vitest";
import { computeLayout, blockAt } from "../src/layout.js";

const segments = [
  { base: 0x110000, bytes: 3 * 4096 },
  { base: 0x200000, bytes: 2 * 4096 },
];

describe("computeLayout", () => {
  const layout = computeLayout(segments, { width: 84 + 1024, rowHeight: 10, gap: 6, left: 84 });

  test("one row per 4 KiB page, with a gap between segments", () => {
    expect(layout.rows.map((r) => r.addr)).toEqual([0x110000, 0x111000, 0x112000, 0x200000, 0x201000]);
    expect(layout.rows.map((r) => r.y)).toEqual([0, 10, 20, 36, 46]);
    expect(layout.height).toBe(56);
    expect(layout.scale).toBe(0.25);
  });

  test("a range spanning a page boundary gives one rectangle per row", () => {
    const rects = layout.rects(0x110000 + 4000, 0x111000 + 96);
    expect(rects).toEqual([
      { x: 84 + 1000, y: 0, w: 24, h: 10 },
      { x: 84, y: 10, w: 24, h: 10 },
    ]);
  });

  test("addressAt inverts rects and is null outside the heap", () => {
    const [r] = layout.rects(0x200000 + 400, 0x200000 + 404);
    expect(layout.addressAt(r.x, r.y + 1)).toBe(0x200000 + 400);
    expect(layout.addressAt(10, 5)).toBeNull(); // the label column
    expect(layout.addressAt(100, 31)).toBeNull(); // the gap between segments
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
});
