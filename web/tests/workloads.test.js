// Built-in workloads: seeded and deterministic, valid traces (the strict
// parser reads what toRep writes), each replays on the real heap and shows
// what its explanation says.
import { beforeAll, describe, expect, test } from "vitest";
import { init } from "../src/heaplab.js";
import { WORKLOADS, generateWorkload, seededRandom } from "../src/workloads.js";
import { parseTrace, toRep } from "../src/trace.js";
import { recordedOps, readTraceText, traceText } from "../src/trace-files.js";
import { Session } from "../src/session.js";
import { Timeline } from "../src/timeline.js";

beforeAll(async () => {
  await init();
});

describe("workloads", () => {
  test("the same seed gives the same trace, another seed another one", async () => {
    for (const w of WORKLOADS) {
      const a = await generateWorkload(w.key, { seed: 5 });
      expect(await generateWorkload(w.key, { seed: 5 }), w.key).toEqual(a);
      if (!w.key.startsWith("recorded")) expect(await generateWorkload(w.key, { seed: 6 }), w.key).not.toEqual(a);
      expect(w.explain.length, w.key).toBeGreaterThan(20);
    }
    expect(seededRandom(1)()).toBe(seededRandom(1)());
  });

  test("every workload is a valid trace that replays on every policy", async () => {
    for (const w of WORKLOADS) {
      const trace = await generateWorkload(w.key, { seed: 2 });
      const reread = parseTrace(toRep(trace), { name: w.key });
      expect(reread.ops.length, w.key).toBe(trace.ops.length);
      for (const policy of ["first-fit", "segregated"]) {
        const session = new Session({ policy });
        const timeline = new Timeline(session);
        const r = timeline.load(recordedOps(trace));
        expect(r.ok, `${w.key} ${policy}: ${r.message}`).toBe(true);
        timeline.goto(timeline.length);
        expect(() => session.heap.check()).not.toThrow();
        session.dispose();
      }
    }
  });

  test("each shows its pattern: LIFO frees the newest, FIFO the oldest, fragmentation leaves holes, realloc grows one block", async () => {
    const stack = await generateWorkload("stack", { seed: 1 });
    const queue = await generateWorkload("queue", { seed: 1 });
    const freedOrder = (t) => t.ops.filter((o) => o.op === "f").map((o) => o.id);
    const live = (t, upto) => {
      const set = new Set();
      for (const o of t.ops.slice(0, upto)) o.op === "a" ? set.add(o.id) : o.op === "f" && set.delete(o.id);
      return set;
    };
    // LIFO: every free is of the newest live block.
    stack.ops.forEach((o, i) => {
      if (o.op === "f") expect(o.id).toBe(Math.max(...live(stack, i)));
    });
    // FIFO: frees come in allocation order.
    const q = freedOrder(queue);
    expect(q).toEqual([...q].sort((a, b) => a - b));
    // Fragmentation: after the first round, half the blocks are free.
    const session = new Session();
    const timeline = new Timeline(session);
    timeline.load(recordedOps(await generateWorkload("fragmentation", { seed: 1 })));
    timeline.goto(timeline.length);
    expect(session.heap.stats().freeBlocks).toBeGreaterThan(10);
    session.dispose();
    const grow = await generateWorkload("realloc", { seed: 1 });
    const sizes = grow.ops.filter((o) => o.op === "r" && o.id === 0).map((o) => o.size);
    expect(sizes.length).toBeGreaterThan(5);
    expect(sizes).toEqual([...sizes].sort((a, b) => a - b));
  });

  test.each(["recorded", "recorded-cc1"])("%s: a committed trace of a real program (its sizes, balanced)", async (key) => {
    const t = await generateWorkload(key);
    expect(t.ops.length).toBeGreaterThan(1000);
    expect(new Set(t.ops.filter((o) => o.op === "a").map((o) => o.size)).size).toBeGreaterThan(50);
    const live = new Set();
    for (const o of t.ops) (o.op === "f" ? live.delete(o.id) : live.add(o.id));
    expect(live.size).toBe(0);
    await expect(generateWorkload("nope")).rejects.toThrow(/unknown workload/);
  });
});

describe("trace files", () => {
  test("a .rep file (both headers) and a JSON file read into recorded operations; export writes them back", () => {
    const short = readTraceText("2\n4\na 0 24\na 1 8\nr 0 100\nf 1\n", "t.rep");
    expect(short.ok).toBe(true);
    expect(short.ops).toEqual([
      { op: "malloc", id: 1, size: 24, align: 0 },
      { op: "malloc", id: 2, size: 8, align: 0 },
      { op: "realloc", id: 1, size: 100 },
      { op: "free", id: 2 },
    ]);
    const classic = readTraceText("1000\n2\n4\n1\na 0 24\na 1 8\nr 0 100\nf 1\n", "c.rep");
    expect(classic.ops).toEqual(short.ops);
    const json = readTraceText(traceText(short.ops, { policy: "best-fit", maxBytes: null }, "json"), "t.json");
    expect(json.ops).toEqual(short.ops);
    expect(json.options).toEqual({ policy: "best-fit" });
    expect(readTraceText(traceText(short.ops, {}, "rep")).ops).toEqual(short.ops);
    // calloc and aligned malloc become plain allocations; writes are left out.
    const text = traceText([{ op: "calloc", id: 1, count: 4, size: 8 }, { op: "write", id: 1, offset: 0, bytes: [1] }, { op: "malloc", id: 2, size: 8, align: 64 }], {}, "rep");
    expect(text).toBe("2\n2\na 0 32\na 1 8\n");
  });

  test("a malformed file names its first bad line", () => {
    const r = readTraceText("2\n3\na 0 24\nf 1\na 1 8\n", "bad.rep");
    expect(r).toMatchObject({ ok: false, code: "malformed-trace", line: 4 });
    expect(r.message).toMatch(/^bad\.rep:4: /);
    expect(readTraceText(null).ok).toBe(false);
  });
});
