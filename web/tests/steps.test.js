// Step mode's pure part: the core's events (real ones, from the wasm heap in
// Node) become frames with captions and highlighted byte ranges.
import { beforeAll, describe, expect, test } from "vitest";
import { init, Heap } from "../src/heaplab.js";
import { stepFrames, policyWords } from "../src/steps.js";
import { hex } from "../src/format.js";

beforeAll(async () => {
  await init();
});

/** Five blocks of 16..80 bytes, the second and fourth freed: holes of 24 and 56 bytes (+ header). */
function holes(policy, options = {}) {
  const heap = new Heap({ policy, ...options });
  const p = [16, 32, 48, 64, 80].map((n) => heap.malloc(n));
  heap.free(p[1]);
  heap.free(p[3]);
  return { heap, p };
}

describe("stepFrames", () => {
  test("first fit walks its list: each rejected block with why, then the chosen one, the split and the header", () => {
    const { heap } = holes("first-fit");
    heap.malloc(40);
    const events = heap.lastEvents();
    const frames = stepFrames(events, { policy: "first-fit" });
    expect(frames.map((f) => f.kind)).toEqual(["alloc", "visit", "reject", "visit", "choose", "split", "mark-used"]);
    // The search only looks (the map may show the heap before); from the split on, the heap has changed.
    expect(frames.map((f) => f.phase)).toEqual(["before", "before", "before", "before", "before", "after", "after"]);
    const reject = events.find((e) => e.kind === "reject");
    expect(frames[2].caption).toBe(`first fit: block at ${hex(reject.block)} (${reject.size} bytes) is too small for 40 bytes`);
    // The rejected block stays marked while the search goes on, until one is chosen.
    expect(frames[3].marks).toContainEqual({ start: reject.block, end: reject.block + reject.size, role: "reject" });
    expect(frames[4].marks.map((m) => m.role)).toEqual(["reject", "choose"]);
    expect(frames[5].marks.map((m) => m.role)).toEqual(["split", "remainder"]);
    const split = events.find((e) => e.kind === "split");
    expect(frames[5].marks[1]).toEqual({ start: split.block + split.size, end: split.block + split.size + split.remainder, role: "remainder" });
    expect(frames[6].caption).toMatch(/^writes the header at 0x[0-9a-f]+: 48 bytes, used/);
    expect(frames[6].marks[0].role).toBe("header");
    heap.dispose();
  });

  test("best fit and segregated fit go straight to a block that fits (no rejects)", () => {
    for (const policy of ["best-fit", "segregated"]) {
      const { heap } = holes(policy);
      heap.malloc(40);
      const frames = stepFrames(heap.lastEvents(), { policy });
      expect(frames.some((f) => f.kind === "reject")).toBe(false);
      expect(frames[0].caption).toContain(policyWords(policy));
      heap.dispose();
    }
  });

  test("a free marks the block and merges it with its free neighbours", () => {
    const { heap, p } = holes("first-fit");
    heap.free(p[2]);
    const frames = stepFrames(heap.lastEvents(), { policy: "first-fit" });
    expect(frames.map((f) => f.kind)).toEqual(["free", "mark-free", "merge", "merge"]);
    expect(frames.map((f) => f.phase)).toEqual(["before", "after", "after", "after"]);
    expect(frames[0].caption).toBe(`free(${hex(p[2])}): the block's header is just before the payload, at ${hex(p[2] - 8)}`);
    expect(frames[3].caption).toMatch(/^merges the free neighbours at 0x[0-9a-f]+ and 0x[0-9a-f]+ into one free block of \d+ bytes$/);
    heap.dispose();
  });

  test("deferred coalescing: the free only marks, and says the merge waits for the sweep; a sweep shows as such", () => {
    const { heap, p } = holes("first-fit", { coalesce: "deferred" });
    heap.free(p[2]);
    const frames = stepFrames(heap.lastEvents(), { policy: "first-fit", coalesce: "deferred" });
    expect(frames.map((f) => f.kind)).toEqual(["free", "mark-free"]);
    expect(frames[1].caption).toContain("merge only at the next sweep");
    const sweep = stepFrames([{ kind: "sweep-start" }, { kind: "merge", block: 64, with: 96, size: 80 }, { kind: "sweep-end", merged: 1 }], {
      coalesce: "deferred",
    });
    expect(sweep.map((f) => f.caption)).toEqual([
      "deferred coalescing: the sweep walks the heap and merges every run of neighbouring free blocks",
      `merges the free neighbours at ${hex(64)} and ${hex(96)} into one free block of 80 bytes`,
      "the sweep is done: 1 merge",
    ]);
    heap.dispose();
  });

  test("a large request, new memory, alignment rejects and errors have words too", () => {
    const heap = new Heap();
    heap.malloc(200_000);
    const frames = stepFrames(heap.lastEvents());
    expect(frames.map((f) => f.kind)).toContain("large-alloc");
    expect(frames.find((f) => f.kind === "grow")?.caption).toMatch(/memory\.grow/);
    const aligned = stepFrames([{ kind: "alloc", size: 64, align: 256 }, { kind: "reject", block: 4096, size: 128, reason: "alignment" }]);
    expect(aligned[1].caption).toBe(`first fit: block at ${hex(4096)} (128 bytes) cannot place 64 bytes aligned to 256 in it`);
    expect(stepFrames([{ kind: "error", code: "double-free" }])[0].caption).toBe("fails: double-free");
    expect(stepFrames(null)).toEqual([]);
    heap.dispose();
  });
});

describe("stepFrames: the searches of best fit and segregated fit", () => {
  test("best fit passes over blocks that fit but are not the best; segregated fit names its size class", () => {
    const frames = stepFrames(
      [
        { kind: "alloc", size: 40, align: 8 },
        { kind: "visit", block: 4096, size: 200 },
        { kind: "reject", block: 4096, size: 200, reason: "not-best" },
        { kind: "size-class", min: 48, max: 63 },
      ],
      { policy: "best-fit" },
    );
    expect(frames[2].caption).toBe(`best fit: block at ${hex(4096)} (200 bytes) would fit, but a smaller free block is better`);
    expect(frames[3].caption).toBe("best fit: jumps to the free list of the size class 48–63 bytes");
  });
});

describe("quick lists and the realloc slide, narrated", () => {
  test("quick-take says where the block came from and that nothing was searched", () => {
    const frames = stepFrames([{ kind: "alloc", size: 40, align: 8 }, { kind: "quick-take", block: 0x141000, size: 48 }], { policy: "segregated" });
    expect(frames[1].caption).toBe("taken from the quick list for 48 bytes: the block at 0x141000 waited there, so no search and no split");
    expect(frames[1].marks.at(-1)).toEqual({ start: 0x141000, end: 0x141030, role: "choose" });
    expect(frames[1].phase).toBe("after");
  });
  test("quick-put, flush and slide are frames of their own", () => {
    const kinds = stepFrames([
      { kind: "free", payload: 0x141008 },
      { kind: "quick-put", block: 0x141000, size: 48 },
      { kind: "flush", blocks: 3 },
      { kind: "slide", block: 0x141100, to: 0x141000, size: 96 },
    ]).map((f) => f.kind);
    expect(kinds).toEqual(["free", "quick-put", "flush", "slide"]);
  });
});

describe("the free-list order in the captions", () => {
  test("an allocation says how the list is kept and searched", () => {
    const [first] = stepFrames([{ kind: "alloc", size: 40, align: 8 }], { policy: "first-fit", listOrder: "lifo" });
    expect(first.caption).toContain("walks the free list from its head and takes the first block big enough, the list kept LIFO: a freed block goes to the front");
    const [best] = stepFrames([{ kind: "alloc", size: 40, align: 8 }], { policy: "best-fit", listOrder: "address" });
    expect(best.caption).toContain("walks the whole free list and takes the smallest block big enough");
    const [plain] = stepFrames([{ kind: "alloc", size: 40, align: 8 }], { policy: "best-fit" });
    expect(plain.caption).toContain("searches its size index");
  });
});
