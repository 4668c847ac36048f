// Never trap, always recover (the JS side): a wasm trap becomes an Error with
// code "trap", the session rebuilds its heap from the trace and says so;
// every heap has a memory limit by default; console writes are checked
// before any array is built.
import { beforeAll, describe, expect, test } from "vitest";
import { init, Heap, DEFAULT_MAX_BYTES, isTrap } from "../src/heaplab.js";
import { Session } from "../src/session.js";
import { runStatement } from "../src/console.js";

beforeAll(async () => {
  await init();
});

/** Makes the session's current heap trap on its next call of `method` (once). */
function trapOnce(session, method) {
  const heap = session.heap;
  const real = heap[method].bind(heap);
  let armed = true;
  heap[method] = (...args) => {
    if (!armed) return real(...args);
    armed = false;
    throw new WebAssembly.RuntimeError("memory access out of bounds");
  };
}

describe("traps", () => {
  test("isTrap knows a RuntimeError and wasm-bindgen's borrowed-object error", () => {
    expect(isTrap(new WebAssembly.RuntimeError("unreachable"))).toBe(true);
    expect(isTrap(new Error("recursive use of an object detected which would lead to unsafe aliasing in rust"))).toBe(true);
    expect(isTrap(Object.assign(new Error("double free"), { code: "double-free" }))).toBe(false);
  });

  test("a trap in malloc: coded, the heap rebuilt from the trace, the session usable", () => {
    const s = new Session({ policy: "best-fit" });
    for (const size of [24, 40, 100]) expect(s.malloc(size).ok).toBe(true);
    expect(s.free(2).ok).toBe(true);
    // The layout relative to the first block (a rebuilt heap may sit at another address).
    const shape = () => {
      const b = s.snapshot().blocks;
      return Array.from(b).map((v, i) => (i % 6 === 0 || i % 6 === 2 ? v - b[0] : v));
    };
    const before = shape();
    const oldHeap = s.heap;
    trapOnce(s, "malloc");
    const r = s.malloc(64);
    expect(r).toMatchObject({ ok: false, code: "trap" });
    expect(r.message).toMatch(/trapped \(memory access out of bounds\); the heap was rebuilt from 4 recorded operations/);
    expect(s.heap).not.toBe(oldHeap);
    expect(s.trace.map((op) => op.op)).toEqual(["malloc", "malloc", "malloc", "free"]);
    expect(shape()).toEqual(before);
    expect(s.malloc(64).ok).toBe(true);
    expect(s.check().ok).toBe(true);
  });

  test("a trap that replaying repeats: the operations that trap again are dropped", () => {
    const s = new Session();
    for (const size of [24, 777, 40]) expect(s.malloc(size).ok).toBe(true);
    // From now on every heap traps on malloc(777): replaying the trace meets it.
    const real = Heap.prototype.malloc;
    Heap.prototype.malloc = function (size, align) {
      if (size === 777) throw new WebAssembly.RuntimeError("unreachable");
      return real.call(this, size, align);
    };
    try {
      trapOnce(s, "free");
      const r = s.free(1);
      expect(r.code).toBe("trap");
      expect(s.recovered).toMatchObject({ kept: 1, dropped: 2 });
      expect(s.trace).toHaveLength(1);
    } finally {
      Heap.prototype.malloc = real;
    }
    expect(s.malloc(8).ok).toBe(true);
  });

  test("reset always works, even on a heap a trap left unusable", () => {
    const s = new Session();
    s.malloc(24);
    trapOnce(s, "reset");
    expect(s.reset().ok).toBe(true);
    expect(s.trace).toEqual([]);
    expect(s.malloc(24).ok).toBe(true);
  });
});

describe("limits by default", () => {
  test("a heap without maxBytes has the 256 MiB limit; calloc of 1 GiB is refused at once", () => {
    const h = new Heap();
    expect(DEFAULT_MAX_BYTES).toBe(256 * 1024 * 1024);
    expect(h.options.maxBytes).toBe(DEFAULT_MAX_BYTES);
    const t0 = Date.now();
    expect(() => h.calloc(1, 1 << 30)).toThrow(expect.objectContaining({ code: "out-of-memory" }));
    expect(() => h.calloc(2, 1 << 30)).toThrow(expect.objectContaining({ code: "invalid-size" }));
    expect(h.stats().heapBytes).toBeLessThan(DEFAULT_MAX_BYTES);
    expect(Date.now() - t0).toBeLessThan(10_000); // nothing near 2 GiB was zeroed
    h.dispose();
    const big = new Heap({ maxBytes: 512 * 1024 * 1024 });
    expect(big.options.maxBytes).toBe(512 * 1024 * 1024);
    big.dispose();
  });

  test("a session's heap has the default limit too", () => {
    const s = new Session();
    expect(s.heap.options.maxBytes).toBe(DEFAULT_MAX_BYTES);
    expect(s.calloc(1, 1 << 30)).toMatchObject({ ok: false, code: "out-of-memory" });
  });

  test("memset with a huge count is refused before any array is built", () => {
    const s = new Session();
    runStatement(s, "p = malloc(16)");
    const r = runStatement(s, "memset(p, 65, 4294967295)");
    expect(r).toMatchObject({ ok: false, code: "invalid-size" });
    expect(r.message).toMatch(/more than the heap's \d+ bytes of memory, nothing written/);
    expect(runStatement(s, "memset(p, 65, 16)").ok).toBe(true);
  });
});

describe("the error contract and C semantics of the JS API", () => {
  test("free(NULL) does nothing; realloc(NULL, n) is malloc(n)", () => {
    const h = new Heap();
    const p = h.malloc(24);
    const before = Array.from(h.blocks());
    h.free(0);
    h.free(null);
    expect(Array.from(h.blocks())).toEqual(before);
    const q = h.realloc(0, 40);
    expect(q).toBeGreaterThan(0);
    expect(q).not.toBe(p);
    expect(h.stats().liveBlocks).toBe(2);
    h.dispose();
  });

  test("run() validates every operand: NaN, 1.5, -1, \"12\" and 2^32 are refused, nothing runs", () => {
    const h = new Heap();
    for (const bad of [Number.NaN, 1.5, -1, "12", 2 ** 32, null]) {
      let error = null;
      try {
        h.run([0, 0, 24, 0, 1, bad]);
      } catch (e) {
        error = e;
      }
      expect(error, String(bad)).toMatchObject({ code: "invalid-trace", index: 1 });
      expect(h.stats().liveBlocks).toBe(0);
    }
    expect(() => h.run("0,0,24")).toThrow(expect.objectContaining({ code: "invalid-trace" }));
    h.run([0, 0, 24]);
    expect(h.stats().liveBlocks).toBe(1);
    h.dispose();
  });

  test("write() checks its address as read() does, with the same code, and its bytes", () => {
    const h = new Heap();
    const p = h.malloc(16);
    for (const address of ["16", Number.NaN, undefined]) {
      expect(() => h.read(address, 1), `read(${address})`).toThrow(expect.objectContaining({ code: "out-of-bounds" }));
      expect(() => h.write(address, [1]), `write(${address})`).toThrow(expect.objectContaining({ code: "out-of-bounds" }));
    }
    expect(() => h.write(p, [256])).toThrow(expect.objectContaining({ code: "invalid-bytes" }));
    expect(() => h.write(p, "hi")).toThrow(expect.objectContaining({ code: "invalid-bytes" }));
    h.write(p, [104, 105]);
    expect(Array.from(h.read(p, 2))).toEqual([104, 105]);
    h.dispose();
  });
});

describe("free of address 0 in the session", () => {
  test("free(0x0) is free(NULL): nothing happens, the heap is unchanged", () => {
    const s = new Session();
    s.malloc(24);
    const before = Array.from(s.snapshot().blocks);
    expect(s.free({ address: 0 })).toMatchObject({ ok: true, message: "free(NULL) does nothing" });
    expect(s.free("0x0")).toMatchObject({ ok: true });
    expect(Array.from(s.snapshot().blocks)).toEqual(before);
    expect(s.trace).toHaveLength(1);
  });
});
