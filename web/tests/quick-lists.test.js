// The engine's quick lists as the JS API shows them: the option, the QUICK
// block flag, the quick-put / quick-take / flush events and the figures.
import { beforeAll, describe, expect, test } from "vitest";
import { init, Heap, BLOCK, BLOCK_FLAG } from "../src/heaplab.js";

beforeAll(async () => {
  await init();
});

function flagsAt(heap, payload) {
  const blocks = heap.blocks();
  for (let i = 0; i < blocks.length; i += BLOCK.COLUMNS) {
    if (blocks[i + BLOCK.PAYLOAD] === payload) return blocks[i + BLOCK.FLAGS];
  }
  return undefined;
}

describe("quick lists", () => {
  test("off unless asked for: a freed block is free at once, as before", () => {
    const heap = new Heap({ policy: "segregated" });
    expect(heap.options.quickLists).toBe(false);
    const a = heap.malloc(40);
    heap.malloc(40);
    heap.free(a);
    expect(flagsAt(heap, a)).toBe(0);
    expect(heap.lastEvents().map((e) => e.kind)).not.toContain("quick-put");
    expect(heap.flush()).toBe(false);
  });

  test("a freed small block waits on its quick list, flagged QUICK, and serves the next request of its size", () => {
    const heap = new Heap({ policy: "segregated", quickLists: true });
    expect(heap.options.quickLists).toBe(true);
    const a = heap.malloc(40);
    const pin = heap.malloc(40);
    heap.free(a);
    expect(heap.lastEvents().map((e) => e.kind)).toEqual(["free", "mark-free", "quick-put"]);
    expect(flagsAt(heap, a)).toBe(BLOCK_FLAG.USED | BLOCK_FLAG.QUICK);
    const s = heap.stats();
    expect([s.liveBlocks, s.quickBlocks]).toEqual([1, 1]);
    expect(() => heap.free(a)).toThrow(expect.objectContaining({ code: "double-free" }));
    heap.check();
    const b = heap.malloc(40);
    expect(b).toBe(a);
    const take = heap.lastEvents().find((e) => e.kind === "quick-take");
    expect(take).toEqual({ kind: "quick-take", block: a - 8, size: expect.any(Number) });
    expect(flagsAt(heap, b)).toBe(BLOCK_FLAG.USED);
    heap.free(b);
    heap.free(pin);
    expect(heap.flush()).toBe(true);
    const kinds = heap.lastEvents().map((e) => e.kind);
    expect(kinds.at(-1)).toBe("flush");
    expect(kinds).toContain("merge");
    expect(heap.lastEvents().at(-1)).toEqual({ kind: "flush", blocks: 2 });
    expect(heap.stats().quickBlocks).toBe(0);
    heap.check();
  });

  test("first fit never uses them", () => {
    const heap = new Heap({ policy: "first-fit", quickLists: true });
    const a = heap.malloc(40);
    heap.malloc(40);
    heap.free(a);
    expect(flagsAt(heap, a)).toBe(0);
  });

  test("quickLists must be a boolean", () => {
    expect(() => new Heap({ quickLists: "yes" })).toThrow();
  });
});

describe("parseTrace: the Rust .rep reader", () => {
  test("reads both header forms into RUN triples", async () => {
    const { parseTrace, RUN } = await import("../src/heaplab.js");
    const t = parseTrace("20000\n2\n3\n1\na 0 24\nr 0 48\nf 0\n");
    expect(t.ids).toBe(2);
    expect([...t.ops]).toEqual([RUN.MALLOC, 0, 24, RUN.REALLOC, 0, 48, RUN.FREE, 0, 0]);
    expect([...parseTrace("1\n1\na 0 8\n").ops]).toEqual([RUN.MALLOC, 0, 8]);
  });

  test("a bad line throws invalid-trace with its line", async () => {
    const { parseTrace } = await import("../src/heaplab.js");
    expect(() => parseTrace("2\n1\nx 0 8\n")).toThrow(expect.objectContaining({ code: "invalid-trace", line: 3 }));
  });
});
