// Loads the built wasm package in Node (no browser) and calls it.
import { beforeAll, describe, expect, test } from "vitest";
import { init, Heap, BLOCK, BLOCK_FLAG, PAGE } from "../src/heaplab.js";

beforeAll(async () => {
  await init();
});

function liveBlocks(heap) {
  const blocks = heap.blocks();
  const out = [];
  for (let i = 0; i < blocks.length; i += BLOCK.COLUMNS) {
    if (blocks[i + BLOCK.FLAGS] & BLOCK_FLAG.USED) {
      out.push({ payload: blocks[i + BLOCK.PAYLOAD], requested: blocks[i + BLOCK.REQUESTED], size: blocks[i + BLOCK.SIZE] });
    }
  }
  return out;
}

describe("the wasm heap from Node", () => {
  test("malloc returns aligned, distinct addresses that the block table shows", () => {
    const heap = new Heap();
    const a = heap.malloc(100);
    const b = heap.malloc(200);
    const c = heap.malloc(300);
    for (const p of [a, b, c]) expect(p % 8).toBe(0);
    expect(new Set([a, b, c]).size).toBe(3);
    expect(liveBlocks(heap).map((x) => [x.payload, x.requested])).toEqual([
      [a, 100],
      [b, 200],
      [c, 300],
    ]);
    heap.free(b);
    expect(liveBlocks(heap).map((x) => x.payload)).toEqual([a, c]);
    heap.check();
    heap.dispose();
  });

  test("freeing the middle block then a neighbour coalesces them", () => {
    const heap = new Heap();
    const a = heap.malloc(64);
    const b = heap.malloc(64);
    const c = heap.malloc(64);
    heap.malloc(64); // keeps c's right neighbour used
    heap.free(b);
    const freeBefore = heap.stats().freeBlocks;
    heap.free(c);
    expect(heap.stats().freeBlocks).toBe(freeBefore); // b and c merged into one
    heap.free(a);
    heap.check();
  });

  test("errors carry a stable code and leave the heap unchanged", () => {
    const heap = new Heap();
    const p = heap.malloc(32);
    const before = JSON.stringify(heap.stats());
    expect(() => heap.free(p + 8)).toThrow(expect.objectContaining({ code: "invalid-free" }));
    heap.free(p);
    const afterFree = JSON.stringify(heap.stats());
    expect(() => heap.free(p)).toThrow(expect.objectContaining({ code: "double-free" }));
    expect(JSON.stringify(heap.stats())).toBe(afterFree);
    expect(() => heap.malloc(-1)).toThrow(expect.objectContaining({ code: "invalid-size" }));
    expect(() => heap.malloc(Number.NaN)).toThrow(expect.objectContaining({ code: "invalid-size" }));
    expect(() => heap.malloc(2.5)).toThrow(expect.objectContaining({ code: "invalid-size" }));
    expect(before).not.toBe(afterFree);
  });

  test("pages and segments describe the memory the heap obtained", () => {
    const heap = new Heap();
    heap.malloc(50_000);
    const segments = heap.segments();
    const pages = heap.pages();
    expect(segments.length).toBeGreaterThan(0);
    const bytes = segments.reduce((sum, s) => sum + s.bytes, 0);
    expect(pages.length).toBe(bytes / 4096);
    for (const s of segments) expect(s.base % 65536).toBe(0);
    expect([...pages].some((owner) => owner === PAGE.ARENA_HEAD || owner === PAGE.LARGE_HEAD)).toBe(true);
  });

  test("creating a heap before init() finished is a clear error", async () => {
    const fresh = await import("../src/heaplab.js?fresh");
    expect(() => new fresh.Heap()).toThrow(/await init\(\)/);
  });
});
