// One vocabulary across the boundary: the names and codes heaplab.js exports
// (POLICIES, LIST_ORDERS, RUN, PAGE, BLOCK, BLOCK_FLAG) come from the wasm
// module, and one id system numbers allocations (the heap's, which the
// session reads). These tests check what the heap does against the names, so
// a code the core reports without a name, or a column in the wrong place,
// fails here.
import { describe, expect, test } from "vitest";
import { init, Heap, BLOCK, BLOCK_FLAG, PAGE, POLICIES, LIST_ORDERS, RUN, parseTrace } from "../src/heaplab.js";
import { Session } from "../src/session.js";

await init();

const code = (c) => expect.objectContaining({ code: c });

/** The rows of the block table as objects keyed by BLOCK's column names. */
function rows(heap) {
  const table = heap.blocks();
  const names = Object.keys(BLOCK).filter((k) => k !== "COLUMNS");
  const out = [];
  for (let i = 0; i < table.length; i += BLOCK.COLUMNS) out.push(Object.fromEntries(names.map((n) => [n, table[i + BLOCK[n]]])));
  return out;
}

/** A heap with arenas, large objects, free pages and quick blocks, of every policy. */
function busyHeap(policy) {
  const heap = new Heap({ policy, quickLists: true });
  const small = Array.from({ length: 40 }, (_, i) => heap.malloc(16 + 8 * (i % 20)));
  const large = [heap.malloc(300_000), heap.malloc(200_000), heap.malloc(150_000)];
  for (let i = 0; i < small.length; i += 3) heap.free(small[i]);
  heap.free(large[1]);
  return heap;
}

describe("the shared constants come from the module", () => {
  test("after init they are filled and frozen", () => {
    for (const shared of [POLICIES, LIST_ORDERS, RUN, PAGE, BLOCK, BLOCK_FLAG]) {
      expect(Object.isFrozen(shared)).toBe(true);
      expect(Object.keys(shared).length).toBeGreaterThan(0);
    }
  });

  test("every policy name builds a heap of that policy; the error for another lists exactly POLICIES", () => {
    for (const policy of POLICIES) expect(new Heap({ policy }).options.policy).toBe(policy);
    let error;
    try {
      new Heap({ policy: "no-fit" });
    } catch (e) {
      error = e;
    }
    expect(error.code).toBe("invalid-option");
    expect(error.message).toContain(`one of ${POLICIES.join(", ")}`);
  });

  test("every list order is some policy's, and every policy's order is in LIST_ORDERS", () => {
    const accepted = new Set();
    for (const policy of POLICIES) {
      expect(LIST_ORDERS).toContain(new Heap({ policy }).freeLists().order);
      for (const listOrder of LIST_ORDERS) {
        try {
          expect(new Heap({ policy, listOrder }).freeLists().order).toBe(listOrder);
          accepted.add(listOrder);
        } catch (error) {
          expect(error.code).toBe("invalid-option");
        }
      }
    }
    expect([...accepted].sort()).toEqual([...LIST_ORDERS].sort());
  });

  test("every page owner the core reports has a name in PAGE, and every name is reported", () => {
    const named = new Set(Object.values(PAGE));
    const seen = new Set();
    for (const policy of POLICIES) {
      for (const owner of busyHeap(policy).pages()) {
        expect(named.has(owner), `${policy}: owner ${owner}`).toBe(true);
        seen.add(owner);
      }
    }
    expect([...seen].sort()).toEqual([...named].sort());
  });

  test("every flag bit in the block table is in BLOCK_FLAG, and each flag shows up", () => {
    const known = Object.values(BLOCK_FLAG).reduce((a, b) => a | b, 0);
    let seen = 0;
    for (const policy of POLICIES) {
      for (const row of rows(busyHeap(policy))) {
        expect(row.FLAGS & ~known, `${policy}: flags ${row.FLAGS}`).toBe(0);
        seen |= row.FLAGS;
      }
    }
    expect(seen).toBe(known);
  });

  test("the block table's columns hold what their names say", () => {
    const heap = new Heap({ policy: "best-fit", quickLists: true });
    const a = heap.malloc(40);
    const b = heap.malloc(24);
    heap.malloc(8);
    heap.free(b);
    const table = heap.blocks();
    expect(table.length % BLOCK.COLUMNS).toBe(0);
    expect(new Set(Object.entries(BLOCK).filter(([k]) => k !== "COLUMNS").map(([, v]) => v))).toEqual(new Set(Array.from({ length: BLOCK.COLUMNS }, (_, i) => i)));
    const all = rows(heap);
    for (let i = 1; i < all.length; i++) expect(all[i].ADDRESS).toBeGreaterThan(all[i - 1].ADDRESS);
    const first = all.find((r) => r.PAYLOAD === a);
    expect(first).toMatchObject({ ADDRESS: a - 8, REQUESTED: 40, ID: 1, FLAGS: BLOCK_FLAG.USED });
    expect(first.SIZE).toBeGreaterThanOrEqual(48);
    expect(all.find((r) => r.PAYLOAD === b)).toMatchObject({ ID: 0, FLAGS: BLOCK_FLAG.USED | BLOCK_FLAG.QUICK });
  });

  test("RUN's codes are the ones parseTrace writes and run() obeys", () => {
    const { ops } = parseTrace("0\n1\n3\n1\na 0 24\nr 0 4000\nf 0\n");
    expect([ops[0], ops[3], ops[6]]).toEqual([RUN.MALLOC, RUN.REALLOC, RUN.FREE]);
    const heap = new Heap();
    heap.run([RUN.MALLOC, 0, 24]);
    expect(rows(heap).find((r) => r.ID === 1)).toMatchObject({ REQUESTED: 24 });
    heap.run([RUN.REALLOC, 0, 4000]);
    expect(rows(heap).find((r) => r.ID === 1)).toMatchObject({ REQUESTED: 4000 });
    heap.run([RUN.FREE, 0, 0]);
    expect(rows(heap).some((r) => r.ID === 1)).toBe(false);
  });
});

describe("one id system: the heap numbers allocations", () => {
  test("malloc and calloc number 1, 2, ...; idOf, addressOf and the ID column agree; realloc keeps the id", () => {
    const heap = new Heap();
    const a = heap.malloc(24);
    const b = heap.calloc(4, 8);
    expect([heap.idOf(a), heap.idOf(b), heap.nextId]).toEqual([1, 2, 3]);
    expect([heap.addressOf(1), heap.addressOf(2), heap.addressOf(3), heap.addressOf(0)]).toEqual([a, b, 0, 0]);
    const moved = heap.realloc(a, 5000);
    expect(moved).not.toBe(a);
    expect([heap.idOf(moved), heap.idOf(a), heap.addressOf(1)]).toEqual([1, 0, moved]);
    for (const row of rows(heap)) expect(row.ID).toBe(row.FLAGS & BLOCK_FLAG.USED && !(row.FLAGS & BLOCK_FLAG.QUICK) ? heap.idOf(row.PAYLOAD) : 0);
    heap.free(b);
    expect([heap.idOf(b), heap.addressOf(2), heap.nextId]).toEqual([0, 0, 3]);
    expect(heap.realloc(moved, 0)).toBe(0);
    expect(heap.addressOf(1)).toBe(0);
  });

  test("nextId chooses the next id; an id still allocated is refused and the heap is unchanged", () => {
    const heap = new Heap();
    heap.nextId = 7;
    const p = heap.malloc(16);
    expect([heap.idOf(p), heap.nextId]).toEqual([7, 8]);
    heap.nextId = 7;
    const before = heap.stats();
    expect(() => heap.malloc(16)).toThrow(code("invalid-id"));
    expect(heap.stats()).toEqual(before);
    expect(() => (heap.nextId = 0)).toThrow(code("invalid-id"));
    expect(() => (heap.nextId = 1.5)).toThrow(code("invalid-id"));
    expect(() => (heap.nextId = "3")).toThrow(code("invalid-id"));
  });

  test("run() gives trace id t the id t + 1 and moves nextId past it; save and restore keep the ids", () => {
    const heap = new Heap();
    heap.run([RUN.MALLOC, 4, 24, RUN.MALLOC, 1, 40]);
    expect(heap.nextId).toBe(6);
    const saved = heap.save();
    const at5 = heap.addressOf(5);
    expect(heap.idOf(at5)).toBe(5);
    heap.run([RUN.FREE, 4, 0]);
    expect(heap.malloc(8)).toBeGreaterThan(0);
    expect(heap.nextId).toBe(7);
    heap.restore(saved);
    expect([heap.addressOf(5), heap.idOf(at5), heap.nextId]).toEqual([at5, 5, 6]);
    heap.reset();
    expect([heap.addressOf(2), heap.nextId]).toEqual([0, 1]);
  });

  test("the session's ids are the heap's", () => {
    const s = new Session();
    const a = s.malloc(24, { name: "p" });
    const b = s.calloc(2, 8);
    expect([a.id, b.id]).toEqual([1, 2]);
    expect([s.heap.idOf(a.address), s.heap.idOf(b.address)]).toEqual([1, 2]);
    expect(s.addressOf(1)).toBe(a.address);
    expect(s.trace.map((op) => op.id)).toEqual([1, 2]);
    s.free("p");
    expect([s.addressOf(1), s.isLive(1), s.heap.addressOf(1)]).toEqual([undefined, false, 0]);
    expect(s.free("p").code).toBe("double-free");
    expect([...s.live()]).toEqual([[2, b.address]]);
    s.dispose();
  });

  test("a replay keeps the recorded ids, and skips the id of an allocation it drops", () => {
    const s = new Session({ maxBytes: 65536 * 4 });
    const trace = [
      { op: "malloc", id: 1, size: 24, align: 0, name: "a" },
      { op: "malloc", id: 5, size: 40, align: 0 },
      { op: "free", id: 1 },
      { op: "malloc", id: 6, size: 10_000_000, align: 0 },
    ];
    const result = s.rebuild(s.options, trace);
    expect(result.failed.map((f) => f.op.id)).toEqual([6]);
    expect(s.trace.map((op) => op.id)).toEqual([1, 5, 1]);
    expect([s.isLive(1), s.isLive(5), s.heap.idOf(s.addressOf(5))]).toEqual([false, true, 5]);
    expect(s.nextId).toBe(7);
    expect(s.malloc(8).id).toBe(7);
    expect(s.label(1)).toBe("a");
    s.dispose();
  });
});
