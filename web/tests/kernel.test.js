// The kernel heap through the wasm API (issue 22): `RawKernel`, a slab
// allocator with `kmalloc` over a buddy page allocator, driven from JS.
// The views and figures it exports are what the machine view will draw.
import { beforeAll, describe, expect, test } from "vitest";
import { init } from "../src/heaplab.js";
import { RawKernel } from "../pkg/heaplab.js";

const PAGE = 4096;

beforeAll(async () => {
  await init();
});

/** The buddy blocks as objects, from the 4-column view. */
function buddyBlocks(kernel) {
  const view = kernel.buddyBlocks();
  const blocks = [];
  for (let i = 0; i < view.length; i += 4) {
    blocks.push({ address: view[i], order: view[i + 1], free: view[i + 2] === 1, owner: view[i + 3] });
  }
  return blocks;
}

describe("RawKernel", () => {
  test("kmalloc takes an object of its size class from a slab of that cache", () => {
    const kernel = new RawKernel(256 * 1024);
    const k = kernel.kmalloc(64);
    expect(k % 64).toBe(0);
    const kinds = kernel.lastEvents().map((e) => e.kind);
    // The first object of a cache takes a new slab from the buddy allocator.
    expect(kinds.indexOf("buddy-alloc")).toBeGreaterThan(0);
    expect(kinds.indexOf("buddy-alloc")).toBeLessThan(kinds.indexOf("slab-new"));
    expect(kinds.indexOf("slab-new")).toBeLessThan(kinds.indexOf("object-alloc"));
    const cache = kernel.caches().find((c) => c.name === "kmalloc-64");
    expect(cache.live).toBe(1);
    expect(cache.slabs).toEqual([0, 1, 0]);
    const slab = buddyBlocks(kernel).find((b) => !b.free && b.owner === cache.index + 1);
    expect(slab.address).toBe(k - (k % PAGE));
    kernel.kfree(k);
    kernel.check();
    kernel.free();
  });

  test("cache_create, cache_alloc and cache_free, with errors as coded exceptions", () => {
    const kernel = new RawKernel(0);
    const inode = kernel.cacheCreate("inode", 184, 0);
    const info = kernel.caches()[inode];
    expect([info.name, info.size, info.align, info.stride]).toEqual(["inode", 184, 8, 184]);
    const a = kernel.cacheAlloc(inode);
    const b = kernel.cacheAlloc(inode);
    expect(b - a).toBe(184);
    kernel.cacheFree(inode, a);
    expect(() => kernel.cacheFree(inode, a)).toThrow(expect.objectContaining({ code: "double-free" }));
    expect(() => kernel.cacheFree(inode, b + 8)).toThrow(expect.objectContaining({ code: "invalid-free" }));
    expect(() => kernel.kmalloc(0)).toThrow(expect.objectContaining({ code: "invalid-size" }));
    expect(() => kernel.cacheCreate("bad", 16, 3)).toThrow(expect.objectContaining({ code: "invalid-align" }));
    expect(kernel.lastEvents().at(-1)).toEqual({ kind: "error", code: "invalid-size" });
    kernel.cacheFree(inode, b);
    // One empty slab is kept; shrinking returns it to the buddy allocator.
    expect(kernel.stats().slabs).toEqual([1, 0, 0]);
    expect(kernel.cacheShrink(inode)).toBe(1);
    expect(kernel.lastEvents().map((e) => e.kind)).toEqual(["free", "buddy-free", "slab-free"]);
    expect(kernel.stats().buddy.usedPages).toBe(0);
    kernel.check();
    kernel.free();
  });

  test("a large kmalloc is a buddy block, and freeing everything merges every buddy pair", () => {
    const kernel = new RawKernel(4 << 20);
    const start = kernel.stats().buddy.freeBlocks;
    const big = kernel.kmalloc(5 * PAGE);
    expect(buddyBlocks(kernel).find((b) => b.address === big)).toEqual({ address: big, order: 3, free: false, owner: 0 });
    expect(kernel.stats().buddy.internalFragmentation).toBeCloseTo(3 / 8);
    const small = Array.from({ length: 200 }, (_, i) => kernel.kmalloc(8 + ((i * 37) % 3000)));
    kernel.check();
    expect(kernel.stats().buddy.splits).toBeGreaterThan(0);
    for (const p of small) kernel.kfree(p);
    kernel.kfree(big);
    for (const c of kernel.caches()) kernel.cacheShrink(c.index);
    kernel.check();
    expect(kernel.stats().buddy.freeBlocks).toEqual(start);
    // Every block is free but the buddy allocator's own metadata (owner tag 0xffff, at page 0).
    expect(buddyBlocks(kernel).every((b) => b.free || b.owner === 0xffff)).toBe(true);
    expect(kernel.stats().buddy.merges).toBe(kernel.stats().buddy.splits);
    kernel.free();
  });
});
