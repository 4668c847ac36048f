// The wasm package in Node (no browser): every method of the JS API, every
// error code, and the layouts of the views.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, test } from "vitest";
import { init, Heap, BLOCK, BLOCK_FLAG, PAGE, PAGE_SIZE, POLICIES, RUN } from "../src/heaplab.js";

// The shared names and codes (POLICIES, PAGE, BLOCK, ...) come from the wasm
// module: load it before the tests are collected.
await init();

beforeAll(async () => {
  await init();
});

const code = (c) => expect.objectContaining({ code: c });

function rows(heap) {
  const blocks = heap.blocks();
  const out = [];
  for (let i = 0; i < blocks.length; i += BLOCK.COLUMNS) {
    out.push({
      address: blocks[i + BLOCK.ADDRESS],
      size: blocks[i + BLOCK.SIZE],
      payload: blocks[i + BLOCK.PAYLOAD],
      requested: blocks[i + BLOCK.REQUESTED],
      used: Boolean(blocks[i + BLOCK.FLAGS] & BLOCK_FLAG.USED),
      large: Boolean(blocks[i + BLOCK.FLAGS] & BLOCK_FLAG.LARGE),
      id: blocks[i + BLOCK.ID],
    });
  }
  return out;
}
const live = (heap) => rows(heap).filter((r) => r.used);

/** Everything observable about a heap, to prove an error changed nothing. */
const snapshot = (heap) => JSON.stringify({ stats: heap.stats(), blocks: [...heap.blocks()], pages: [...heap.pages()] });

describe("malloc, free and the block table", () => {
  test("malloc returns aligned, distinct addresses that the block table shows in order", () => {
    const heap = new Heap();
    const [a, b, c] = [100, 200, 300].map((n) => heap.malloc(n));
    for (const p of [a, b, c]) expect(p % 8).toBe(0);
    expect(live(heap).map((r) => [r.payload, r.requested, r.id])).toEqual([
      [a, 100, 1],
      [b, 200, 2],
      [c, 300, 3],
    ]);
    heap.free(b);
    expect(live(heap).map((r) => r.payload)).toEqual([a, c]);
    heap.check();
    heap.dispose();
  });

  test("block table layout: header 8 bytes before the payload, blocks tile their arena", () => {
    const heap = new Heap({ align: 16 });
    heap.malloc(1);
    heap.malloc(40);
    const all = rows(heap);
    for (const r of all) {
      expect(r.payload - r.address).toBe(8);
      expect(r.payload % 16).toBe(0);
      if (r.used) expect(r.size).toBeGreaterThanOrEqual(r.requested + 8);
    }
    for (let i = 1; i < all.length; i++) expect(all[i].address).toBeGreaterThanOrEqual(all[i - 1].address + all[i - 1].size);
    expect(all[1].address).toBe(all[0].address + all[0].size); // adjacent in one arena
  });

  test("alignment up to 4 KiB is honoured", () => {
    const heap = new Heap();
    for (const align of [8, 16, 64, 256, 4096]) expect(heap.malloc(24, align) % align).toBe(0);
    heap.check();
  });

  test("freeing neighbours coalesces them into one free block", () => {
    const heap = new Heap();
    const [a, b, c] = [64, 64, 64].map((n) => heap.malloc(n));
    heap.malloc(64); // keeps c's right neighbour used
    heap.free(b);
    const free = heap.stats().freeBlocks;
    heap.free(c);
    expect(heap.stats().freeBlocks).toBe(free);
    heap.free(a);
    expect(heap.stats().freeBlocks).toBe(free);
    heap.check();
  });

  test("a request above the large threshold takes whole pages and gives them back", () => {
    const heap = new Heap();
    const p = heap.malloc(200_000);
    const block = live(heap).find((r) => r.payload === p);
    expect(block.large).toBe(true);
    const owners = () => [...heap.pages()].filter((o) => o === PAGE.LARGE_HEAD || o === PAGE.LARGE).length;
    expect(owners()).toBeGreaterThanOrEqual(Math.ceil(200_000 / PAGE_SIZE));
    heap.free(p);
    expect(owners()).toBe(0);
  });
});

describe("realloc, calloc, read and write", () => {
  test("realloc keeps the bytes, shrinking in place and growing by moving when it must", () => {
    const heap = new Heap();
    const p = heap.malloc(16);
    const bytes = Uint8Array.from({ length: 16 }, (_, i) => i * 7);
    heap.write(p, bytes);
    heap.malloc(16); // a used neighbour: growing must move
    const q = heap.realloc(p, 4000);
    expect(heap.read(q, 16)).toEqual(bytes);
    const r = heap.realloc(q, 8);
    expect(r).toBe(q);
    expect(heap.read(r, 8)).toEqual(bytes.subarray(0, 8));
    expect(live(heap).find((b) => b.payload === r).requested).toBe(8);
    heap.check();
  });

  test("calloc zeroes its payload and checks for overflow", () => {
    const heap = new Heap();
    const p = heap.malloc(64);
    heap.write(p, new Uint8Array(64).fill(0xab));
    heap.free(p);
    const q = heap.calloc(8, 8);
    expect([...heap.read(q, 64)].every((b) => b === 0)).toBe(true);
    expect(() => heap.calloc(2 ** 31, 4)).toThrow(code("invalid-size"));
  });

  test("write accepts plain arrays; read and write stay inside the heap", () => {
    const heap = new Heap();
    const p = heap.malloc(8);
    heap.write(p, [1, 2, 3]);
    expect([...heap.read(p, 3)]).toEqual([1, 2, 3]);
    const [segment] = heap.segments();
    expect(() => heap.read(segment.base - 1, 4)).toThrow(code("out-of-bounds"));
    expect(() => heap.read(segment.base + segment.bytes - 2, 4)).toThrow(code("out-of-bounds"));
    expect(() => heap.write(0, [1])).toThrow(code("out-of-bounds"));
  });

  test("writing past a payload over the next header is caught by check()", () => {
    const heap = new Heap();
    const p = heap.malloc(24);
    heap.malloc(24);
    const size = live(heap)[0].size;
    heap.write(p, new Uint8Array(size + 8).fill(0x41)); // the payload, its slack and the next header
    expect(() => heap.check()).toThrow(code("corrupt-heap"));
    heap.reset();
    heap.check();
    expect(live(heap)).toEqual([]);
  });
});

describe("errors carry a stable code and leave the heap unchanged", () => {
  test("bad frees", () => {
    const heap = new Heap();
    const p = heap.malloc(32);
    heap.malloc(32);
    let before = snapshot(heap);
    expect(() => heap.free(p + 8)).toThrow(code("invalid-free"));
    expect(() => heap.free(12345678)).toThrow(code("invalid-free"));
    expect(() => heap.free(-8)).toThrow(code("invalid-free"));
    expect(() => heap.free(Number.NaN)).toThrow(code("invalid-free"));
    expect(snapshot(heap)).toBe(before);
    heap.free(p);
    before = snapshot(heap);
    expect(() => heap.free(p)).toThrow(code("double-free"));
    expect(() => heap.realloc(p, 10)).toThrow(code("double-free"));
    expect(snapshot(heap)).toBe(before);
    heap.check();
  });

  test("bad sizes and alignments", () => {
    const heap = new Heap();
    heap.malloc(10);
    const before = snapshot(heap);
    for (const size of [-1, Number.NaN, 2.5, Infinity, 2 ** 32]) {
      expect(() => heap.malloc(size), `size ${size}`).toThrow(code("invalid-size"));
    }
    expect(() => heap.malloc("12")).toThrow(code("invalid-size"));
    for (const align of [3, 24, 8192, -8, 1.5]) {
      expect(() => heap.malloc(16, align), `align ${align}`).toThrow(code("invalid-align"));
    }
    expect(snapshot(heap)).toBe(before);
  });

  test("hostile addresses and arguments: metadata pages, interiors, non-numbers, overflow", () => {
    const heap = new Heap();
    const p = heap.malloc(64);
    const large = heap.malloc(200_000);
    heap.free(heap.malloc(16)); // a free block too
    const before = snapshot(heap);
    const pages = heap.pages();
    const base = heap.segments()[0].base;
    const meta = [];
    for (let i = 0; i < pages.length; i++) if (pages[i] === PAGE.META) meta.push(base + i * PAGE_SIZE);
    expect(meta.length).toBeGreaterThan(0);
    for (const page of meta) {
      for (let offset = 0; offset < PAGE_SIZE; offset += 8) {
        expect(() => heap.free(page + offset)).toThrow(code("invalid-free"));
      }
      expect(() => heap.realloc(page, 8)).toThrow(code("invalid-free"));
    }
    for (const offset of [1, 8, 4096, 199_999]) expect(() => heap.free(large + offset)).toThrow(code("invalid-free"));
    expect(() => heap.free(p - 8)).toThrow(code("invalid-free"));
    for (const address of [undefined, "16", {}, [p], 10n, true]) {
      expect(() => heap.free(address), `free(${String(address)})`).toThrow(code("invalid-free"));
    }
    for (const size of [-1, Number.NaN, 2 ** 32, Infinity, "8", undefined]) {
      expect(() => heap.realloc(p, size), `realloc(p, ${String(size)})`).toThrow(code("invalid-size"));
    }
    for (const [n, size] of [[2 ** 31, 2 ** 31], [2 ** 32 - 1, 2], [-1, 8], [8, Number.NaN]]) {
      expect(() => heap.calloc(n, size), `calloc(${n}, ${size})`).toThrow(code("invalid-size"));
    }
    for (const [address, length] of [[-1, 4], [0, 8], [base, 2 ** 32], [2 ** 32 - 4, 8]]) {
      expect(() => heap.read(address, length), `read(${address}, ${length})`).toThrow(code("out-of-bounds"));
    }
    expect(snapshot(heap)).toBe(before);
    heap.check();
  });

  test("out of memory at the memory limit", () => {
    const heap = new Heap({ maxBytes: 256 * 1024 });
    heap.malloc(1000);
    const before = snapshot(heap);
    expect(() => heap.malloc(1024 * 1024)).toThrow(code("out-of-memory"));
    expect(snapshot(heap)).toBe(before);
    heap.check();
  });

  test("unknown options name the option and the accepted values", () => {
    expect(() => new Heap({ policy: "fastest" })).toThrow(/policy.*first-fit.*segregated/);
    expect(() => new Heap({ policy: "fastest" })).toThrow(code("invalid-option"));
    expect(() => new Heap({ align: 4 })).toThrow(/align.*8 or 16/);
    expect(() => new Heap({ coalesce: "later" })).toThrow(/coalesce.*immediate.*deferred/);
    expect(() => new Heap({ splitMin: -1 })).toThrow(/splitMin/);
    expect(() => new Heap({ maxBytes: 10 })).toThrow(/maxBytes/);
    expect(() => new Heap({ colour: "red" })).toThrow(/colour/);
  });

  test("a disposed heap's memory goes to the next heap (wasm memory never shrinks)", () => {
    const first = new Heap();
    first.malloc(300_000);
    const bases = first.segments().map((s) => s.base);
    first.dispose();
    const second = new Heap();
    second.malloc(1000);
    expect(bases).toContain(second.segments()[0].base);
    second.check();
  });

  test("a disposed heap says so", () => {
    const heap = new Heap();
    heap.dispose();
    expect(() => heap.malloc(8)).toThrow(code("disposed"));
  });
});

describe("options, policies and independence", () => {
  test("options reports the defaults and what was chosen", () => {
    expect(new Heap().options).toMatchObject({ policy: "first-fit", align: 8, coalesce: "immediate" });
    expect(new Heap({ policy: "next-fit", align: 16, coalesce: "deferred" }).options).toMatchObject({
      policy: "next-fit",
      align: 16,
      coalesce: "deferred",
    });
  });

  test.each(POLICIES)("%s: a heap of each policy works on its own", (policy) => {
    const heap = new Heap({ policy });
    const other = new Heap({ policy });
    const ps = [100, 20, 300, 4000].map((n) => heap.malloc(n));
    other.malloc(50);
    heap.free(ps[1]);
    heap.free(ps[2]);
    expect(live(heap).map((b) => b.requested)).toEqual([100, 4000]);
    expect(live(other).map((b) => b.requested)).toEqual([50]);
    heap.check();
    other.check();
  });

  test("stats add up", () => {
    const heap = new Heap();
    heap.malloc(100);
    const p = heap.malloc(200);
    heap.free(p);
    const s = heap.stats();
    expect(s.liveRequested).toBe(100);
    expect(s.peakLiveRequested).toBe(300);
    expect(s.liveBlocks).toBe(1);
    expect(s.operations).toBe(3);
    expect(s.utilization).toBeCloseTo(300 / s.highWaterMark);
    expect(s.heapBytes % 65536).toBe(0);
    expect(s.externalFragmentation).toBeCloseTo(1 - s.largestFree / s.freeBytes);
  });

  test("lastEvents tells what the last operation did", () => {
    const heap = new Heap();
    const p = heap.malloc(64);
    const kinds = heap.lastEvents().map((e) => e.kind);
    expect(kinds[0]).toBe("alloc");
    expect(kinds).toContain("choose");
    expect(kinds).toContain("mark-used");
    heap.malloc(64);
    heap.free(p);
    expect(heap.lastEvents().map((e) => e.kind)).toContain("mark-free");
  });

  test("pages and segments describe the memory the heap obtained", () => {
    const heap = new Heap();
    heap.malloc(50_000);
    const segments = heap.segments();
    const bytes = segments.reduce((sum, s) => sum + s.bytes, 0);
    expect(heap.pages().length).toBe(bytes / PAGE_SIZE);
    for (const s of segments) expect(s.base % 65536).toBe(0);
    expect([...heap.pages()]).toContain(PAGE.ARENA_HEAD);
    expect([...heap.pages()]).toContain(PAGE.META);
  });
});

test("creating a heap before init() finished is a clear error", async () => {
  const fresh = await import("../src/heaplab.js?fresh");
  expect(() => new fresh.Heap()).toThrow(/await init\(\)/);
});

test("a Node script imports the package by name and runs random operations on every policy", () => {
  const script = fileURLToPath(new URL("./node/random-ops.mjs", import.meta.url));
  const run = spawnSync(process.execPath, [script, "100000", "7"], { encoding: "utf8", timeout: 240_000 });
  expect(run.stderr).toBe("");
  expect(run.status).toBe(0);
  const report = JSON.parse(run.stdout);
  expect(Object.keys(report)).toEqual([...POLICIES]);
  console.log("100k random operations per policy (ms):", Object.fromEntries(Object.entries(report).map(([p, r]) => [p, r.ms])));
}, 300_000);

describe("run, save and restore: replaying and time travel", () => {
  const ops = (triples) => Uint32Array.from(triples.flat());

  test("run replays trace operations in wasm; ids become allocation ids + 1", () => {
    const heap = new Heap();
    heap.run(ops([[RUN.MALLOC, 0, 100], [RUN.MALLOC, 1, 200], [RUN.REALLOC, 0, 300], [RUN.FREE, 1, 0]]));
    expect(live(heap).map((b) => [b.id, b.requested])).toEqual([[1, 300]]);
    heap.check();
  });

  test("run stops at the first failure, says where, and keeps what came before", () => {
    const heap = new Heap();
    let error;
    try {
      heap.run(ops([[RUN.MALLOC, 0, 64], [RUN.FREE, 0, 0], [RUN.FREE, 0, 0], [RUN.MALLOC, 1, 8]]));
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: "invalid-trace", index: 2 });
    expect(live(heap)).toEqual([]);
    expect(() => heap.run([RUN.MALLOC, 0])).toThrow(code("invalid-trace"));
    expect(() => heap.run([7, 0, 0])).toThrow(code("invalid-trace"));
  });

  test("size 0 as glibc: malloc(0) and calloc of 0 bytes give unique blocks, realloc(p, 0) frees p", () => {
    const heap = new Heap();
    const a = heap.malloc(0);
    const b = heap.malloc(0);
    const c = heap.calloc(0, 8);
    const d = heap.calloc(8, 0);
    expect(new Set([a, b, c, d]).size).toBe(4);
    for (const p of [a, b, c, d]) expect(p).toBeGreaterThan(0);
    expect(live(heap)).toHaveLength(4);
    expect(heap.realloc(a, 0)).toBe(0);
    expect(live(heap)).toHaveLength(3);
    expect(() => heap.free(a)).toThrow(code("double-free"));
    for (const p of [b, c, d]) heap.free(p);
    expect(live(heap)).toEqual([]);
    heap.check();
    // The same in trace replays: `a 0 0` allocates, `r 0 0` frees.
    heap.run(ops([[RUN.MALLOC, 0, 0], [RUN.MALLOC, 1, 0]]));
    expect(live(heap)).toHaveLength(2);
    heap.run(ops([[RUN.REALLOC, 0, 0]]));
    expect(live(heap)).toHaveLength(1);
    expect(() => heap.run(ops([[RUN.FREE, 0, 0]]))).toThrow(code("invalid-trace"));
    heap.run(ops([[RUN.FREE, 1, 0]]));
    expect(live(heap)).toEqual([]);
    heap.check();
  });

  test("restore puts blocks, pages, bytes and stats back, any number of times", () => {
    const heap = new Heap();
    const p = heap.malloc(40);
    heap.write(p, [9, 8, 7]);
    heap.malloc(5000);
    const saved = heap.save();
    const before = snapshot(heap);
    heap.write(p, [1, 1, 1]);
    heap.free(p);
    for (let i = 0; i < 50; i++) heap.malloc(20_000); // grows memory
    heap.restore(saved);
    expect(snapshot(heap)).toBe(before);
    expect([...heap.read(p, 3)]).toEqual([9, 8, 7]);
    heap.check();
    heap.free(p);
    heap.restore(saved);
    expect(snapshot(heap)).toBe(before);
    saved.dispose();
    expect(() => heap.restore(saved)).toThrow(code("disposed"));
  });

  test("replaying the same operations after a restore gives the same addresses", () => {
    const heap = new Heap({ policy: "best-fit" });
    const saved = heap.save();
    const work = ops(Array.from({ length: 400 }, (_, i) => (i % 3 === 2 ? [RUN.FREE, i - 1, 0] : [RUN.MALLOC, i, 100 + ((i * 997) % 9000)])));
    heap.run(work);
    const first = [...heap.blocks()];
    heap.restore(saved);
    heap.run(work);
    expect([...heap.blocks()]).toEqual(first);
  });

  test("a later save restores after going back to an earlier one (forward jumps)", () => {
    const heap = new Heap();
    const early = heap.save();
    const p = heap.malloc(100);
    for (let i = 0; i < 40; i++) heap.malloc(30_000); // grows memory past the early segments
    heap.write(p, [4, 5, 6]);
    const late = heap.save();
    const lateState = snapshot(heap);
    heap.restore(early);
    expect(live(heap)).toEqual([]);
    heap.restore(late);
    expect(snapshot(heap)).toBe(lateState);
    expect([...heap.read(p, 3)]).toEqual([4, 5, 6]);
    heap.check();
    heap.malloc(200_000); // and it keeps working from there
    heap.check();
  });

  test("many heaps one after another stay within few segments each", () => {
    for (let round = 0; round < 30; round++) {
      const heap = new Heap();
      for (let i = 0; i < 60; i++) heap.malloc(4000 + ((round * 7919 + i * 104729) % 60_000));
      expect(heap.stats().segments).toBeLessThan(8);
      heap.dispose();
    }
  });

  test("a save only restores into its own heap", () => {
    const a = new Heap();
    const b = new Heap();
    const saved = a.save();
    expect(() => b.restore(saved)).toThrow(code("invalid-save"));
    expect(() => b.restore({})).toThrow(code("invalid-save"));
  });
});
