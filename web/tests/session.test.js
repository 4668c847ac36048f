// The session on the real wasm heap (loaded in Node).
import { beforeAll, describe, expect, test } from "vitest";
import { init, BLOCK, BLOCK_FLAG } from "../src/heaplab.js";
import { Session, POLICY_NAMES } from "../src/session.js";
import { runStatement, History } from "../src/console.js";

beforeAll(async () => {
  await init();
});

const usedPayloads = (session) => {
  const { blocks } = session.snapshot();
  const out = [];
  for (let i = 0; i < blocks.length; i += BLOCK.COLUMNS) if (blocks[i + BLOCK.FLAGS] & BLOCK_FLAG.USED) out.push(blocks[i + BLOCK.PAYLOAD]);
  return out;
};

describe("Session", () => {
  test("records every successful operation as a trace with its own ids", () => {
    const s = new Session();
    const a = s.malloc(24, { name: "p" });
    const b = s.calloc(4, 8);
    const c = s.realloc("p", 200);
    const d = s.free({ id: b.id });
    for (const r of [a, b, c, d]) expect(r.ok, r.message).toBe(true);
    expect(s.trace).toEqual([
      { op: "malloc", id: 1, size: 24, align: 0, name: "p" },
      { op: "calloc", id: 2, count: 4, size: 8 },
      { op: "realloc", id: 1, size: 200 },
      { op: "free", id: 2 },
    ]);
    expect(s.label(1)).toBe("p");
    expect(s.idOfPayload(c.address)).toBe(1);
    expect(usedPayloads(s)).toEqual([c.address]);
  });

  test("errors never throw and change nothing; double free names the variable", () => {
    const s = new Session({ maxBytes: 65536 });
    s.malloc(24, { name: "p" });
    expect(s.free("p").ok).toBe(true);
    const version = s.version;
    const again = s.free("p");
    expect(again).toMatchObject({ ok: false, code: "double-free", message: "double free of p" });
    expect(s.free("#1")).toMatchObject({ ok: false, message: "double free of p" });
    expect(s.free("q")).toMatchObject({ ok: false, code: "unknown-variable" });
    expect(s.malloc(-5)).toMatchObject({ ok: false, code: "invalid-size" });
    expect(s.malloc(Number.NaN)).toMatchObject({ ok: false, code: "invalid-size" });
    expect(s.malloc(10_000_000)).toMatchObject({ ok: false, code: "out-of-memory" });
    expect(s.free({ address: 12345 })).toMatchObject({ ok: false, code: "invalid-free" });
    expect(s.realloc("#7", 10)).toMatchObject({ ok: false, code: "unknown-block" });
    expect(s.version).toBe(version);
    expect(s.trace).toHaveLength(2);
  });

  test("size 0 as glibc: malloc(0) is a block, realloc(p, 0) frees p and records a free", () => {
    const s = new Session();
    const a = s.malloc(0, { name: "p" });
    expect(a).toMatchObject({ ok: true, id: 1 });
    expect(usedPayloads(s)).toEqual([a.address]);
    const r = s.realloc("p", 0);
    expect(r).toMatchObject({ ok: true, address: 0 });
    expect(r.message).toMatch(/^realloc\(p, 0\) freed the block at 0x[0-9a-f]+ and returned NULL/);
    expect(usedPayloads(s)).toEqual([]);
    expect(s.trace).toEqual([
      { op: "malloc", id: 1, size: 0, align: 0, name: "p" },
      { op: "free", id: 1 },
    ]);
    expect(s.free("p")).toMatchObject({ ok: false, code: "double-free" });
    expect(runStatement(s, "q = malloc(0)").ok).toBe(true);
    expect(runStatement(s, "realloc(q, 0)").ok).toBe(true);
    expect(usedPayloads(s)).toEqual([]);
  });

  test("changing an option replays the trace, keeping ids and names", () => {
    const s = new Session();
    s.malloc(100, { name: "a" });
    s.malloc(40, { name: "b" });
    s.malloc(300);
    s.free("a");
    s.malloc(30, { name: "c" });
    const before = s.trace.map((op) => ({ ...op }));
    for (const policy of POLICY_NAMES) {
      const r = s.setOptions({ policy });
      expect(r.ok, r.message).toBe(true);
      expect(s.trace).toEqual(before);
      expect([...s.live().keys()].sort()).toEqual([2, 3, 4]);
      expect(s.label(4)).toBe("c");
      s.heap.check();
    }
    expect(s.setOptions({ align: 16 }).ok).toBe(true);
    for (const p of usedPayloads(s)) expect(p % 16).toBe(0);
    expect(s.malloc(8).id).toBe(5); // ids continue after the replayed ones
  });

  test("a replay that fails under a tighter limit drops the failed operations and says so", () => {
    const s = new Session();
    s.malloc(40_000, { name: "big" });
    s.malloc(40_000);
    s.free("#1");
    const r = s.setOptions({ maxBytes: 65536 });
    expect(r.ok).toBe(false);
    expect(r.failed.length).toBeGreaterThan(0);
    expect(r.message).toMatch(/failed and (was|were) dropped/);
    s.heap.check();
  });

  test("invalid options are refused and nothing changes", () => {
    const s = new Session();
    s.malloc(10);
    const heap = s.heap;
    expect(s.setOptions({ splitMin: 99999 })).toMatchObject({ ok: false, code: "invalid-option" });
    expect(s.heap).toBe(heap);
    expect(s.options.splitMin).toBe(0);
  });

  test("writing past the payload corrupts the next header; check() reports it; reset recovers", () => {
    const s = new Session();
    s.malloc(24, { name: "p" });
    s.malloc(24, { name: "q" });
    const ok = s.write("p", 0, new TextEncoder().encode("hello"));
    expect(ok.ok).toBe(true);
    expect(s.corruption).toBeNull();
    const usable = s.usableSize(1);
    expect(usable).toBeGreaterThanOrEqual(24);
    const overflow = s.write("p", 0, new Uint8Array(usable + 8).fill(0x41));
    expect(overflow).toMatchObject({ ok: false, code: "corrupt-heap" });
    expect(s.corruption).toBeTruthy();
    expect(s.malloc(8)).toMatchObject({ ok: false, code: "corrupt-heap" });
    expect(s.check().ok).toBe(false);
    expect(s.reset().ok).toBe(true);
    expect(s.corruption).toBeNull();
    expect(s.malloc(8).ok).toBe(true);
    s.heap.check();
  });

  test("the snapshot re-reads views after memory grows", () => {
    const s = new Session();
    const first = s.snapshot();
    expect(s.snapshot()).toBe(first);
    s.malloc(3_000_000);
    const second = s.snapshot();
    expect(second).not.toBe(first);
    expect(second.blocks.length).toBeGreaterThan(0);
    expect(second.stats.heapBytes).toBeGreaterThan(3_000_000);
  });

  test("listeners hear about each change, not about failures", () => {
    const s = new Session();
    let calls = 0;
    s.onChange(() => calls++);
    s.malloc(8);
    s.free("#99");
    s.malloc(-1);
    expect(calls).toBe(1);
  });
});

describe("console statements on a session", () => {
  test("malloc, calloc, realloc, free by name, with C errors inline", () => {
    const s = new Session();
    expect(runStatement(s, "p = malloc(24)").ok).toBe(true);
    expect(runStatement(s, "q = calloc(4, 8)").ok).toBe(true);
    expect(runStatement(s, "p = realloc(p, 100)").ok).toBe(true);
    expect(runStatement(s, "free(p)").ok).toBe(true);
    expect(runStatement(s, "free(p)")).toMatchObject({ ok: false, message: "double free of p" });
    expect(runStatement(s, "free(r)")).toMatchObject({ ok: false, code: "unknown-variable" });
    expect(runStatement(s, "p = malloc(")).toMatchObject({ ok: false, code: "bad-statement" });
    expect(runStatement(s, "help").lines.length).toBeGreaterThan(5);
    expect(runStatement(s, "free(NULL)").ok).toBe(true);
    expect(s.label(2)).toBe("q");
  });

  test("strcpy past the end is the heap-overflow lesson", () => {
    const s = new Session();
    runStatement(s, "p = malloc(8)");
    runStatement(s, "q = malloc(8)");
    expect(runStatement(s, 'strcpy(p, "hi")').ok).toBe(true);
    const r = runStatement(s, 'strcpy(p, "AAAAAAAAAAAAAAAAAAAAAAAAAAAA")');
    expect(r).toMatchObject({ ok: false, code: "corrupt-heap" });
    expect(runStatement(s, "check()").ok).toBe(false);
    expect(runStatement(s, "reset()").ok).toBe(true);
    expect(runStatement(s, "check()").ok).toBe(true);
  });
});

describe("History", () => {
  test("up and down walk the statements and come back to the draft", () => {
    const h = new History();
    h.push("a");
    h.push("b");
    h.push("b");
    expect(h.up("dra")).toBe("b");
    expect(h.up("b")).toBe("a");
    expect(h.up("a")).toBe("a");
    expect(h.down()).toBe("b");
    expect(h.down()).toBe("dra");
    expect(h.down()).toBe("dra");
  });
});

describe("Session.rebuild", () => {
  test("rebuilding from a prefix of the trace is the heap after that many operations", () => {
    const s = new Session();
    s.malloc(10, { name: "a" });
    s.malloc(20, { name: "b" });
    s.free("a");
    const full = s.trace.slice();
    expect(s.rebuild(s.options, full.slice(0, 2)).ok).toBe(true);
    expect(s.trace).toEqual(full.slice(0, 2));
    expect(s.isLive(1) && s.isLive(2)).toBe(true);
    expect(s.rebuild(s.options, full).ok).toBe(true);
    expect(s.isLive(1)).toBe(false);
    expect(s.free("a")).toMatchObject({ code: "double-free" });
  });
});

describe("Session.toTrace", () => {
  test("writes the session's operations as a malloc-lab trace that parses back", async () => {
    const { toRep, toJson, parseTrace } = await import("../src/trace.js");
    const s = new Session({ policy: "best-fit" });
    s.malloc(24, { name: "p" });
    s.calloc(4, 8);
    s.realloc("p", 100);
    s.free("#2");
    s.write("p", 0, [1, 2, 3]);
    const trace = s.toTrace();
    expect(trace.ops).toEqual([
      { op: "a", id: 0, size: 24 },
      { op: "a", id: 1, size: 32 },
      { op: "r", id: 0, size: 100 },
      { op: "f", id: 1 },
    ]);
    const rep = parseTrace(toRep(trace));
    expect(rep.ops.map(({ op, id, size }) => ({ op, id, ...(size === undefined ? {} : { size }) }))).toEqual(trace.ops);
    expect(parseTrace(toJson(trace)).options).toMatchObject({ policy: "best-fit" });
  });
});
