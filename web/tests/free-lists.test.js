// Heap.freeLists() and the listOrder option, through the JS API on the built
// wasm (web/pkg): the lists hold exactly the free blocks of blocks(), in the
// documented order, under every policy and list order.
import { beforeAll, describe, expect, test } from "vitest";
import { init, Heap, BLOCK, BLOCK_FLAG, LIST_ORDERS, POLICIES } from "../src/heaplab.js";
import { rng } from "./rng.js";

// The shared names and codes (POLICIES, PAGE, BLOCK, ...) come from the wasm
// module: load it before the tests are collected.
await init();

beforeAll(async () => {
  await init();
});

const DEFAULT_ORDER = {
  "first-fit": "address",
  "next-fit": "address",
  "best-fit": "size-asc",
  "worst-fit": "size-asc",
  segregated: "size-class",
};

/** The orders `policy` accepts (every one but "size-class"; segregated fit only that). */
const ordersFor = (policy) => LIST_ORDERS.filter((o) => (o === "size-class") === (policy === "segregated"));

/** Free blocks of the block table: address -> size. */
function freeBlocks(heap) {
  const rows = heap.blocks();
  const free = new Map();
  for (let i = 0; i < rows.length; i += BLOCK.COLUMNS) {
    if (!(rows[i + BLOCK.FLAGS] & BLOCK_FLAG.USED)) free.set(rows[i + BLOCK.ADDRESS], rows[i + BLOCK.SIZE]);
  }
  return free;
}

/** Mixed mallocs, frees and reallocs, so that blocks split, merge and move. */
function workload(heap, seed) {
  const next = rng(seed);
  const live = [];
  for (let i = 0; i < 160; i++) {
    const r = next(10);
    if (r < 5 || live.length === 0) live.push(heap.malloc(1 + next(400)));
    else if (r < 9) heap.free(live.splice(next(live.length), 1)[0]);
    else {
      const j = next(live.length);
      live[j] = heap.realloc(live[j], 1 + next(900));
    }
  }
  return live;
}

/** Asserts the lists hold exactly the free blocks, each once, in `order`. */
function expectListsMatchBlocks(heap, policy, order) {
  const fl = heap.freeLists();
  const free = freeBlocks(heap);
  expect(fl.order).toBe(order);
  const listed = fl.lists.flatMap((l) => l.blocks);
  expect(new Set(listed).size).toBe(listed.length);
  expect([...listed].sort((a, b) => a - b)).toEqual([...free.keys()].sort((a, b) => a - b));
  for (const list of fl.lists) expect(list.blocks.length).toBeGreaterThan(0);
  const sizes = (list) => list.blocks.map((a) => free.get(a));
  // Best and segregated fit keep the free block that ends the heap apart
  // (the wilderness): one block in a list of its own, after the others.
  const wild = fl.lists.filter((l) => l.wilderness);
  const lists = fl.lists.filter((l) => !l.wilderness);
  expect(wild.length).toBeLessThanOrEqual(["best-fit", "segregated"].includes(policy) ? 1 : 0);
  for (const w of wild) {
    expect(w).toMatchObject({ label: "end of the heap", min: 0, max: 0, quick: false });
    expect(w.blocks.length).toBe(1);
    expect(fl.lists.indexOf(w)).toBe(lists.length);
    const [b] = w.blocks;
    const rows = heap.blocks();
    const starts = new Set();
    for (let i = 0; i < rows.length; i += BLOCK.COLUMNS) starts.add(rows[i + BLOCK.ADDRESS]);
    expect(free.has(b), "the wilderness is a free block").toBe(true);
    expect(starts.has(b + free.get(b)), "no block follows the wilderness in its region").toBe(false);
  }
  if (order === "size-class") {
    for (let i = 0; i < lists.length; i++) {
      const list = lists[i];
      for (const s of sizes(list)) {
        expect(s).toBeGreaterThanOrEqual(list.min);
        expect(s).toBeLessThanOrEqual(list.max);
      }
      if (i > 0) expect(list.min).toBeGreaterThan(lists[i - 1].max);
      expect(list.label).toBe(list.max < list.min + 8 ? `${list.min} B` : `${list.min}-${list.max} B`);
    }
  } else {
    expect(lists.length).toBeLessThanOrEqual(1);
    for (const list of lists) {
      expect(list).toMatchObject({ label: "free list", min: 0, max: 2 ** 32 - 1 });
      const s = sizes(list);
      for (let i = 1; i < list.blocks.length; i++) {
        if (order === "address") expect(list.blocks[i]).toBeGreaterThan(list.blocks[i - 1]);
        if (order === "size-asc") expect(s[i]).toBeGreaterThanOrEqual(s[i - 1]);
        if (order === "size-desc") expect(s[i]).toBeLessThanOrEqual(s[i - 1]);
      }
    }
  }
  if (policy === "next-fit") {
    if (listed.length === 0) expect(fl.rover).toBeNull();
    else expect(listed).toContain(fl.rover);
  } else {
    expect(fl.rover).toBeNull();
  }
  return fl;
}

describe("freeLists()", () => {
  for (const policy of POLICIES) {
    for (const order of [undefined, ...ordersFor(policy)]) {
      const want = order ?? DEFAULT_ORDER[policy];
      test(`${policy}, listOrder ${order ?? "(default)"}: exactly the free blocks, in ${want} order`, () => {
        const heap = new Heap(order ? { policy, listOrder: order } : { policy });
        expect(heap.options.listOrder).toBe(want);
        expect(heap.freeLists()).toEqual({ order: want, rover: null, lists: [] });
        for (const seed of [1, 2, 3]) {
          const live = workload(heap, seed);
          heap.check();
          expectListsMatchBlocks(heap, policy, want);
          for (const p of live) heap.free(p);
          expectListsMatchBlocks(heap, policy, want);
          heap.reset();
        }
        heap.dispose();
      });
    }
  }

  test("a block freed between used neighbours goes to the front (lifo), the back (fifo), its place (address, size)", () => {
    for (const policy of ["first-fit", "next-fit", "best-fit", "worst-fit"]) {
      for (const order of ["address", "lifo", "fifo", "size-asc", "size-desc"]) {
        const heap = new Heap({ policy, listOrder: order });
        // Blocks of 32, 64, 96 and 128 bytes, each followed by a used fence.
        const ps = [24, 8, 56, 8, 88, 8, 120, 8].map((n) => heap.malloc(n));
        for (const i of [2, 6, 0]) heap.free(ps[i]);
        const header = (p) => p - 8;
        heap.free(ps[4]); // the 96-byte block
        const lists = heap.freeLists().lists;
        const list = lists.find((l) => !l.wilderness);
        const wild = lists.find((l) => l.wilderness);
        const at = list.blocks.indexOf(header(ps[4]));
        const tail = [...list.blocks, ...(wild?.blocks ?? [])].find((a) => a > header(ps[7]));
        let expected = {
          address: [header(ps[0]), header(ps[2]), header(ps[4]), header(ps[6]), tail],
          lifo: [header(ps[4]), header(ps[0]), header(ps[6]), header(ps[2]), tail],
          fifo: [tail, header(ps[2]), header(ps[6]), header(ps[0]), header(ps[4])],
          "size-asc": [header(ps[0]), header(ps[2]), header(ps[4]), header(ps[6]), tail],
          "size-desc": [tail, header(ps[6]), header(ps[4]), header(ps[2]), header(ps[0])],
        }[order];
        // Best fit keeps the block at the end of the heap apart (searched last).
        if (policy === "best-fit") {
          expected = expected.filter((a) => a !== tail);
          expect(wild?.blocks, `${policy} ${order}`).toEqual([tail]);
        } else {
          expect(wild, `${policy} ${order}`).toBeUndefined();
        }
        expect(at, `${policy} ${order}`).toBeGreaterThanOrEqual(0);
        expect(list.blocks, `${policy} ${order}`).toEqual(expected);
        heap.dispose();
      }
    }
  });

  test("the order decides which block first fit takes (malloc.py's homework)", () => {
    // a 96, b 32, c 64, d 128 bytes, each followed by a fence; free c, a, d, b;
    // malloc(40) needs 48 bytes.
    const took = {};
    for (const order of ["address", "lifo", "fifo", "size-asc", "size-desc"]) {
      const heap = new Heap({ policy: "first-fit", listOrder: order });
      const ps = [88, 8, 24, 8, 56, 8, 120, 8].map((n) => heap.malloc(n));
      for (const i of [4, 0, 6, 2]) heap.free(ps[i]);
      const p = heap.malloc(40);
      took[order] = ps.indexOf(p) >= 0 ? "abcd"[ps.indexOf(p) / 2] : p > ps[7] ? "tail" : "?";
      heap.check();
      heap.dispose();
    }
    expect(took).toEqual({ address: "a", lifo: "d", fifo: "tail", "size-asc": "c", "size-desc": "tail" });
  });

  test("next fit reports its rover: the block where the next search starts", () => {
    const heap = new Heap({ policy: "next-fit" });
    const ps = [24, 8, 24, 8].map((n) => heap.malloc(n));
    const tail = heap.freeLists().lists[0].blocks.at(-1);
    expect(heap.freeLists().rover).toBe(tail);
    heap.free(ps[0]);
    heap.free(ps[2]);
    expect(heap.freeLists().rover).toBe(tail); // it stays where the last search ended
    heap.malloc(2000); // from the tail: the rover follows its remainder
    const { rover, lists } = heap.freeLists();
    expect(rover).toBe(lists[0].blocks.at(-1));
    expect(rover).toBeGreaterThan(tail);
  });
});

describe("the listOrder option", () => {
  test("is reported by options and round-trips", () => {
    for (const policy of POLICIES) {
      for (const order of ordersFor(policy)) {
        const options = new Heap({ policy, listOrder: order }).options;
        expect(options.listOrder).toBe(order);
        expect(new Heap(options).options).toEqual(options);
      }
    }
  });

  test("an order the policy cannot keep, or not an order, is invalid-option", () => {
    const bad = [
      { policy: "segregated", listOrder: "lifo" },
      { policy: "first-fit", listOrder: "size-class" },
      { listOrder: "ADDRSORT" },
      { listOrder: "" },
      { listOrder: 3 },
    ];
    for (const options of bad) {
      expect(() => new Heap(options), JSON.stringify(options)).toThrow(expect.objectContaining({ code: "invalid-option" }));
    }
    expect(() => new Heap({ listOrder: "stack" })).toThrow(/listOrder.*address, lifo, fifo, size-asc, size-desc/);
  });
});
