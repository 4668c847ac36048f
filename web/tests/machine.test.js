// The machine view's logic (issue 22, item 3): the console parser, the
// narration of the buddy allocator's events, and the model over the wasm
// `RawMachine` (a kernel heap and two application heaps over one buddy
// allocator), driven by console lines as the page drives it.
import { beforeAll, describe, expect, test } from "vitest";
import { init } from "../src/heaplab.js";
import { MachineModel, parseMachineLine, narrateBuddy } from "../src/machine/model.js";
import { layoutMap, hitBlock, applyBuddyEvent } from "../src/machine/map.js";
import { machineQuestion, judgeMachine, recordGuess, runPredicted } from "../src/machine/predict.js";

beforeAll(async () => {
  await init();
});

const pagesOf = (snap, owner) => snap.blocks.filter((b) => b.owner === owner).reduce((n, b) => n + b.pages, 0);

describe("parseMachineLine", () => {
  test("reads the heap before the colon and the statement after it", () => {
    expect(parseMachineLine("kernel: k = kmalloc(64)")).toEqual({ kind: "kmalloc", heap: "kernel", target: "k", size: 64 });
    expect(parseMachineLine("  app1:p=malloc( 24 );")).toEqual({ kind: "malloc", heap: "app1", target: "p", size: 24 });
    expect(parseMachineLine("app2: free(q)")).toEqual({ kind: "free", heap: "app2", ref: { name: "q" } });
    expect(parseMachineLine("free(0x1f000)")).toEqual({ kind: "free", heap: null, ref: { address: 0x1f000 } });
    expect(parseMachineLine("check").kind).toBe("check");
    expect(parseMachineLine("").kind).toBe("empty");
  });

  test("says what is wrong with a line it cannot read", () => {
    expect(parseMachineLine("app1: malloc(24)").error).toMatch(/name it, as in app1: p = malloc\(24\)/);
    expect(parseMachineLine("app1: p = malloc(-3)").error).toMatch(/whole number/);
    expect(parseMachineLine("app1: p = free(q)").error).toMatch(/returns nothing/);
    expect(parseMachineLine("app1: p = calloc(2, 3)").error).toMatch(/unknown function calloc/);
    expect(parseMachineLine("app1 p = malloc(24)").error).toMatch(/cannot read/);
    expect(parseMachineLine("app1: free(1+2)").error).toMatch(/name or address/);
  });
});

test("narrateBuddy says splits and merges with orders and addresses", () => {
  const lines = narrateBuddy(
    [
      { kind: "buddy-split", addr: 0x10000, order: 3 },
      { kind: "buddy-alloc", addr: 0x10000, order: 2 },
      { kind: "buddy-merge", addr: 0x14000, with: 0x10000, order: 4 },
      { kind: "alloc", size: 3, align: 8 },
    ],
    () => "app1",
  );
  expect(lines).toEqual([
    "split the free block at 0x010000, order 3 (8 pages), into two buddies of order 2",
    "handed out order 2 (4 pages) at 0x010000 to app1",
    "merged the buddies at 0x010000 and 0x014000 into one block of order 4 (16 pages)",
  ]);
});

describe("MachineModel", () => {
  test("the kernel and two application heaps take pages from one buddy allocator, no page shared", () => {
    const m = new MachineModel();
    const start = m.snapshot();
    // Page 0 holds the buddy allocator's own map; every other page is free.
    expect(start.blocks[0]).toMatchObject({ index: 0, owner: "buddy", free: false });
    expect(start.blocks.slice(1).every((b) => b.free)).toBe(true);
    expect(start.blocks.reduce((n, b) => n + b.pages, 0)).toBe(start.pages);
    expect(m.run("kernel: k = kmalloc(64)").ok).toBe(true);
    const a = m.run("app1: p = malloc(24)");
    expect(a.ok).toBe(true);
    expect(a.steps.at(-1)).toMatch(/handed out order \d .* to app1/);
    // app1 took the free block of its order; app2 needs one of the same order and none is left.
    const b = m.run("app2: q = malloc(3000)");
    expect(b.ok).toBe(true);
    expect(b.steps[0]).toMatch(/^split the free block at 0x[0-9a-f]+, order \d/);
    expect(b.steps.at(-1)).toMatch(/handed out order \d .* to app2/);
    const snap = m.snapshot();
    for (const owner of ["kernel", "app1", "app2"]) expect(pagesOf(snap, owner)).toBeGreaterThan(0);
    expect(snap.heaps.map((h) => [h.name, h.policy])).toEqual([["app1", "first-fit"], ["app2", "best-fit"], ["app3", "segregated"]]);
    expect(pagesOf(snap, "app3")).toBe(0);
    // Every heap's blocks lie in buddy blocks of its own.
    for (const h of snap.heaps) {
      for (const b of h.blocks) {
        const run = snap.blocks.find((x) => b.address >= x.address && b.address < x.address + x.pages * 4096);
        expect(run.owner).toBe(h.name);
      }
    }
    const p = snap.heaps[0].blocks.find((b) => b.name === "p");
    expect(p).toMatchObject({ used: true, requested: 24 });
    expect(snap.slabs.find((s) => s.cache === "kmalloc-64")).toMatchObject({ objects: 1, names: ["k"] });
    expect(m.run("check").ok).toBe(true);
    m.dispose();
  });

  test("a heap that frees its last block gives its pages back and the buddies merge", () => {
    const m = new MachineModel();
    m.run("app1: p = malloc(24)");
    m.run("app2: q = malloc(3000)");
    m.run("app2: r = malloc(100)");
    const held = pagesOf(m.snapshot(), "app2");
    expect(held).toBeGreaterThan(0);
    const notLast = m.run("app2: free(q)");
    expect(notLast).toMatchObject({ ok: true, returned: 0 });
    expect(pagesOf(m.snapshot(), "app2")).toBe(held);
    const last = m.run("free(r)");
    expect(last).toMatchObject({ ok: true, heap: "app2", returned: held });
    expect(last.message).toMatch(`gave its ${held} pages back`);
    expect(last.steps.some((s) => s.startsWith("merged the buddies"))).toBe(true);
    const after = m.snapshot();
    expect(pagesOf(after, "app2")).toBe(0);
    expect(after.heaps[1].runs).toEqual([]);
    m.run("app1: free(p)");
    // Everything is free again: the blocks are the ones the machine started with.
    const fresh = new MachineModel().snapshot();
    expect(m.snapshot().blocks.map((b) => [b.index, b.order, b.free])).toEqual(fresh.blocks.map((b) => [b.index, b.order, b.free]));
    m.dispose();
  });

  test("bad input gets a clear message and changes nothing", () => {
    const m = new MachineModel();
    m.run("app1: p = malloc(24)");
    const before = JSON.stringify(m.snapshot().blocks);
    const cases = [
      ["app9: x = malloc(8)", /no heap is named app9: the heaps are kernel, app1, app2, app3/],
      ["x = malloc(8)", /which heap\?/],
      ["kernel: x = malloc(8)", /kernel heap has no malloc/],
      ["app1: x = kmalloc(8)", /kmalloc is the kernel's allocator/],
      ["app2: free(p)", /p came from app1, not app2/],
      ["app1: free(nothing)", /nothing is not a block name/],
      ["app1: x = malloc(100000000)", /app1: out of memory/],
      ["kernel: x = kmalloc(0)", /no size kmalloc can serve/],
      ["app1: free(0x10)", /refused: not a block of this heap/],
      ["app1: p = malloc(8)", /p still holds a block of app1/],
    ];
    for (const [line, message] of cases) {
      const r = m.run(line);
      expect(r.ok, line).toBe(false);
      expect(r.message, line).toMatch(message);
    }
    expect(JSON.stringify(m.snapshot().blocks)).toBe(before);
    expect(m.run("app1: free(p)").ok).toBe(true);
    const again = m.run("app1: free(p)");
    expect(again).toMatchObject({ ok: false, code: "double-free" });
    expect(again.message).toMatch(/double free: p/);
    expect(m.run("check").ok).toBe(true);
    m.dispose();
  });
});

test("layoutMap lays blocks over rows of pages and hitBlock finds them", () => {
  const blocks = [
    { index: 0, pages: 32, order: 5 },
    { index: 32, pages: 4, order: 2 },
    { index: 36, pages: 2, order: 1 },
  ];
  const l = layoutMap(blocks, { width: 16 * 40 + 68, columns: 16, left: 64, top: 0, rowHeight: 40 });
  expect(l.cell).toBe(40);
  expect(l.boxes[0]).toMatchObject({ x: 64, y: 0, w: 640, h: 80 });
  expect(l.boxes[1]).toMatchObject({ x: 64, y: 80, w: 160, h: 40 });
  expect(l.boxes[2]).toMatchObject({ x: 64 + 160, y: 80, w: 80 });
  expect(l.rows).toBe(3);
  expect(hitBlock(l, 64 + 170, 90).block.index).toBe(36);
  expect(hitBlock(l, 10, 10)).toBe(null);
});

test("applyBuddyEvent replays an operation's buddy events from the blocks before it to the blocks after it", () => {
  const m = new MachineModel();
  const shape = (blocks) => blocks.map((b) => [b.address, b.order, b.index, b.free, b.owner]);
  const lines = ["kernel: k = kmalloc(64)", "app1: p = malloc(24)", "app2: q = malloc(3000)", "app2: r = malloc(50000)", "app2: free(q)", "app2: free(r)", "kernel: kfree(k)", "app1: free(p)"];
  let merges = 0;
  for (const line of lines) {
    const before = m.snapshot().blocks;
    const result = m.run(line);
    expect(result.ok, line).toBe(true);
    const after = m.snapshot().blocks;
    const owners = new Map(after.map((b) => [b.address, b.owner]));
    const replayed = result.events.reduce((blocks, e) => applyBuddyEvent(blocks, e, (a) => owners.get(a)), before);
    expect(shape(replayed), line).toEqual(shape(after));
    merges += result.events.filter((e) => e.kind === "buddy-merge").length;
  }
  expect(merges).toBeGreaterThan(0);
  expect(m.snapshot().blocks.every((b) => b.free || b.owner === "buddy")).toBe(true);
  m.dispose();
});

describe("predict mode's questions (machine/predict.js)", () => {
  test("a malloc that takes pages asks which free buddy block they come from; judged right, alike, too small, too large", () => {
    const m = new MachineModel();
    m.run("kernel: k = kmalloc(64)");
    m.run("app1: p = malloc(24)");
    const asked = [];
    // app1 has room: no question.
    runPredicted(m, "app1: s = malloc(16)", (q) => asked.push(q));
    expect(asked).toEqual([]);
    const before = m.snapshot();
    const result = m.run("app2: q = malloc(3000)");
    const question = machineQuestion(before, result);
    expect(question).toMatchObject({ kind: "take", heap: "app2", order: 3 });
    expect(question.text).toBe("app2 needs new pages: order 3 (8 pages). Which free buddy block will the buddy allocator take them from? Click it on the map, or choose it here.");
    const free = before.blocks.filter((b) => b.free);
    expect(question.options.map((o) => o.value)).toEqual(free.map((b) => b.address));
    // The smallest free block large enough is the one split.
    const host = free.filter((b) => b.order >= 3).reduce((a, b) => (b.order < a.order ? b : a));
    expect(question.answer).toBe(host.address);
    const after = m.snapshot();
    const right = judgeMachine(question, host.address, after);
    expect(right.right).toBe(true);
    expect(right.said).toMatch(`Right: the buddy allocator took the free block at page ${host.index}, order ${host.order} (${host.pages} pages), split it 1 time and handed out order 3 (8 pages) at 0x`);
    const small = free.find((b) => b.order < 3);
    expect(judgeMachine(question, small.address, after).said).toMatch(`Not quite: the buddy allocator took`);
    expect(judgeMachine(question, small.address, after).said).toMatch(`is too small: app2 needs order 3`);
    const large = free.find((b) => b.order > host.order);
    expect(judgeMachine(question, large.address, after).said).toMatch("is larger than needed: the buddy allocator splits the smallest free block that is large enough");
    const record = recordGuess(result, question, large.address, after);
    expect(result.prediction).toBe(record);
    expect(record).toMatchObject({ kind: "take", guess: large.address, right: false });
    m.dispose();
  });

  test("a free that gives pages back asks the order they merge into; lines that fail or move no page ask nothing", () => {
    const m = new MachineModel();
    m.run("app1: p = malloc(24)");
    m.run("app2: q = malloc(3000)");
    let question = null;
    const freed = runPredicted(m, "app2: free(q)", (q) => {
      question = q;
      return q.answer;
    });
    expect(question).toMatchObject({ kind: "merge", heap: "app2" });
    expect(question.options.at(-1).value).toBe(m.snapshot().stats.buddy.maxOrder);
    expect(freed.prediction).toMatchObject({ kind: "merge", right: true });
    expect(freed.prediction.said).toMatch(/^Right: the buddies merged \d times?, into one free block of order \d \(\d+ pages\) at page \d+\. It stopped there because its buddy/);
    const before = m.snapshot();
    expect(machineQuestion(before, m.run("app2: free(q)"))).toBe(null);
    expect(machineQuestion(before, m.run("check"))).toBe(null);
    expect(machineQuestion(before, m.run("app1: x = malloc(8)"))).toBe(null);
    m.dispose();
  });
});
