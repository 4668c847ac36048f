// Heaps created by JS share one wasm memory with each other and with the
// module's own Rust allocations; each heap reserves memory ahead, so its
// growths stay contiguous: one segment per heap (issue 16 item 6).
import { beforeAll, describe, expect, test } from "vitest";
import { init, Heap, POLICIES } from "../src/heaplab.js";

beforeAll(async () => {
  await init();
});

/** Segments that touch are one run of memory. */
function runs(heap) {
  const out = [];
  for (const { base, bytes } of heap.segments()) {
    const last = out.at(-1);
    if (last && last.base + last.bytes === base) last.bytes += bytes;
    else out.push({ base, bytes });
  }
  return out;
}

describe("contiguous heaps", () => {
  test("heaps growing in turn, with the module allocating in between, each keep one segment", () => {
    const heaps = POLICIES.map((policy) => new Heap({ policy }));
    const saves = [];
    for (let round = 0; round < 30; round++) {
      for (const heap of heaps) {
        heap.malloc(40_000); // a block: the arena grows
        if (round % 3 === 0) heap.malloc(100_000); // a large object: pages of its own
        // The module's own allocations (a saved copy of the heap's pages,
        // the block table) grow memory between the heaps' growths.
        saves.push(heap.save());
        heap.blocks();
      }
    }
    for (const heap of heaps) {
      const segments = heap.segments();
      expect(heap.stats().heapBytes).toBeGreaterThan(1_500_000);
      expect(segments, heap.options.policy).toHaveLength(1);
      expect(heap.stats().segments).toBe(1);
      heap.check();
    }
    // The heaps do not overlap.
    const all = heaps.map((h) => h.segments()[0]).sort((a, b) => a.base - b.base);
    for (let i = 1; i < all.length; i++) expect(all[i].base).toBeGreaterThanOrEqual(all[i - 1].base + all[i - 1].bytes);
    for (const s of saves) s.dispose();
    for (const heap of heaps) heap.dispose();
  });

  test("a heap that outgrows its reserve extends it in place or doubles it: few runs of memory", () => {
    const a = new Heap();
    const b = new Heap({ policy: "best-fit" });
    for (let i = 0; i < 200; i++) {
      a.malloc(150_000);
      b.malloc(150_000);
    }
    for (const heap of [a, b]) {
      const mib = heap.stats().heapBytes / 2 ** 20;
      expect(mib).toBeGreaterThan(28);
      // Reservations of 4, 4, 8, 16 MiB, ...: one run per doubling at most,
      // and one more for a reservation served by a smaller run that an
      // earlier test's heap gave back to the pool.
      expect(runs(heap).length).toBeLessThanOrEqual(Math.ceil(Math.log2(mib / 4)) + 2);
      heap.check();
    }
    a.dispose();
    b.dispose();
  });

  test("the memory limit bounds the reserve, and growth still stops at the limit", () => {
    const small = new Heap({ maxBytes: 4 * 65536 });
    const other = new Heap();
    let failed = null;
    for (let i = 0; i < 20 && !failed; i++) {
      try {
        small.malloc(30_000);
      } catch (error) {
        failed = error;
      }
      other.malloc(30_000);
    }
    expect(failed).toMatchObject({ code: "out-of-memory" });
    expect(small.stats().heapBytes).toBeLessThanOrEqual(4 * 65536);
    expect(small.segments()).toHaveLength(1);
    expect(other.segments()).toHaveLength(1);
    small.dispose();
    other.dispose();
  });

  test("time travel stays deterministic and contiguous: the same growths after a restore, and other ones", () => {
    const heap = new Heap();
    const neighbour = new Heap();
    heap.malloc(1000);
    const saved = heap.save();
    const first = [];
    for (let i = 0; i < 20; i++) {
      first.push(heap.malloc(50_000));
      neighbour.malloc(50_000);
    }
    heap.restore(saved);
    for (let i = 0; i < 20; i++) expect(heap.malloc(50_000)).toBe(first[i]);
    expect(heap.segments()).toHaveLength(1);
    heap.restore(saved);
    // Another way: bigger growths; the handed-back memory is reused in place.
    for (let i = 0; i < 10; i++) {
      heap.malloc(200_000);
      neighbour.malloc(50_000);
    }
    expect(heap.segments()).toHaveLength(1);
    heap.check();
    saved.dispose();
    heap.dispose();
    neighbour.dispose();
  });

  test("a disposed heap's memory, reserve included, serves the next heap", () => {
    const before = new Heap();
    before.malloc(10_000);
    const [{ base }] = before.segments();
    before.dispose();
    const after = new Heap();
    after.malloc(10_000);
    expect(after.segments()[0].base).toBe(base);
    after.dispose();
  });
});
