// The engine's quick lists as the JS API shows them: the option, the QUICK
// block flag, the quick-put / quick-take / flush events and the figures.
import { beforeAll, describe, expect, test } from "vitest";
import { init, Heap, BLOCK, BLOCK_FLAG } from "../src/heaplab.js";
import { Session, describeOp } from "../src/session.js";
import { freeListTitle } from "../src/free-list-panel.js";
import { encodeWork, decodeWork, workJson, parseWorkJson } from "../src/share.js";
import { encodeOps, decodeOps } from "../src/replay.js";

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
    // pin ends the used blocks; with segregated fit it waits on its quick
    // list as well (best fit would merge it with the free space
    // after it at once: the next test).
    heap.free(pin);
    expect(heap.lastEvents().map((e) => e.kind)).toContain("quick-put");
    expect(heap.stats().quickBlocks).toBe(2);
    expect(heap.flush()).toBe(true);
    const kinds = heap.lastEvents().map((e) => e.kind);
    expect(kinds.at(-1)).toBe("flush");
    expect(kinds).toContain("merge");
    expect(heap.lastEvents().at(-1)).toEqual({ kind: "flush", blocks: 2 });
    expect(heap.stats().quickBlocks).toBe(0);
    heap.check();
  });

  test("with best fit, a small block freed right before the free space at the heap's end merges with it at once", () => {
    for (const policy of ["best-fit"]) {
      const heap = new Heap({ policy, quickLists: true });
      const a = heap.malloc(40);
      const end = heap.stats().largestFree;
      heap.free(a);
      const kinds = heap.lastEvents().map((e) => e.kind);
      expect(kinds, policy).not.toContain("quick-put");
      expect(kinds, policy).toContain("merge");
      expect(heap.stats().quickBlocks, policy).toBe(0);
      expect(heap.stats().largestFree, policy).toBeGreaterThan(end);
      expect(flagsAt(heap, a), policy).toBe(0);
      heap.check();
    }
    // Segregated fit keeps it on its quick list: the next request of its
    // size takes it back, where the free space at the end would be cut.
    const heap = new Heap({ policy: "segregated", quickLists: true });
    const a = heap.malloc(40);
    heap.free(a);
    expect(heap.lastEvents().map((e) => e.kind)).toContain("quick-put");
    expect(heap.stats().quickBlocks).toBe(1);
    expect(flagsAt(heap, a)).toBe(BLOCK_FLAG.USED | BLOCK_FLAG.QUICK);
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

describe("quick lists in freeLists(), the free-list panel's title and the session's flush", () => {
  test("freeLists() lists every quick block once, on a list of its size marked quick, after the free lists", () => {
    for (const policy of ["best-fit", "worst-fit", "segregated"]) {
      const heap = new Heap({ policy, quickLists: true });
      const p = [24, 24, 40, 100, 24, 600].map((n) => heap.malloc(n));
      heap.malloc(8);
      for (const i of [0, 1, 2, 3, 5]) heap.free(p[i]);
      const { lists } = heap.freeLists();
      const quick = lists.filter((l) => l.quick);
      const firstQuick = lists.findIndex((l) => l.quick);
      expect(lists.slice(firstQuick).every((l) => l.quick), policy).toBe(true);
      const flagged = [];
      const sizes = new Map();
      const table = heap.blocks();
      for (let i = 0; i < table.length; i += BLOCK.COLUMNS) {
        sizes.set(table[i + BLOCK.ADDRESS], table[i + BLOCK.SIZE]);
        if (table[i + BLOCK.FLAGS] & BLOCK_FLAG.QUICK) flagged.push(table[i + BLOCK.ADDRESS]);
      }
      const listed = quick.flatMap((l) => l.blocks);
      expect([...listed].sort((a, b) => a - b), policy).toEqual(flagged.sort((a, b) => a - b));
      expect(listed.length, policy).toBe(4); // the 600-byte block is too big for a quick list
      for (const list of quick) {
        expect(list.min).toBe(list.max);
        expect(list.label).toBe(`quick ${list.min} B`);
        for (const a of list.blocks) expect(sizes.get(a)).toBe(list.min);
      }
      // The two 24-byte blocks share one list, the last freed first.
      const twins = quick.find((l) => l.blocks.includes(p[0] - 8));
      expect(twins.blocks).toEqual([p[1] - 8, p[0] - 8]);
      expect(lists.filter((l) => !l.quick).flatMap((l) => l.blocks)).not.toContain(p[0] - 8);
      expect(freeListTitle(heap.freeLists())).toMatch(/, 4 on quick lists$/);
      heap.flush();
      expect(heap.freeLists().lists.some((l) => l.quick)).toBe(false);
      expect(freeListTitle(heap.freeLists())).not.toMatch(/quick/);
    }
  });

  test("the session's flush is recorded: replays, undo (a replay of fewer operations) and share links keep it", async () => {
    const s = new Session({ policy: "segregated", quickLists: true });
    s.malloc(24, { name: "a" });
    s.malloc(24, { name: "b" });
    s.free("a");
    expect(s.snapshot().stats.quickBlocks).toBe(1);
    const flushed = s.flush();
    expect(flushed).toMatchObject({ ok: true });
    expect(flushed.message).toMatch(/merged 1 block/);
    expect(s.trace.at(-1)).toEqual({ op: "flush" });
    expect(describeOp(s.trace.at(-1))).toMatch(/flush/);
    expect(s.snapshot().stats.quickBlocks).toBe(0);
    // Nothing waiting: nothing happens, nothing is recorded.
    expect(s.flush().message).toMatch(/no block is waiting/);
    expect(s.trace).toHaveLength(4);
    // Undo: the heap before the flush has its quick block again; redo merges it.
    const trace = s.trace.slice();
    s.rebuild(s.options, trace.slice(0, 3));
    expect(s.snapshot().stats.quickBlocks).toBe(1);
    const rebuilt = s.rebuild(s.options, trace);
    expect(rebuilt.ok).toBe(true);
    expect(s.snapshot().stats.quickBlocks).toBe(0);
    // Through a share link and the worker's compact form.
    const back = await decodeWork(await encodeWork({ options: s.options, ops: s.trace, at: s.trace.length }));
    expect(back.ops).toEqual(s.trace);
    expect(parseWorkJson(workJson({ options: s.options, ops: [{ op: "flush" }] })).ops).toEqual([{ op: "flush" }]);
    expect(() => parseWorkJson(workJson({ options: s.options, ops: [] }).replace('"ops":[]', '"ops":[["q",1]]'))).toThrow(/too many fields/);
    expect(decodeOps(encodeOps(s.trace)).at(-1)).toEqual({ op: "flush" });
    s.dispose();
  });
});
