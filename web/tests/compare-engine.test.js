// The compare page's replay engine and workloads, on the real wasm heap in
// Node: seeded generators are deterministic and valid traces; samples stay
// under 2000 points and add up; the timeline's seeks (checkpoints + run) give
// back exactly the heap of the first pass, backwards and forwards; a failing
// operation stops a policy and is reported; the worker's trace loader.
import { describe, test, expect, beforeAll } from "vitest";
import { init, Heap } from "../src/heaplab.js";
import { parseTrace, toRep } from "../src/trace.js";
import { generate, GENERATORS, toTriples, describeOp, OP } from "../src/compare/generators.js";
import { PolicyRun, STEP_LIMIT, METRICS } from "../src/compare/engine.js";
import { resultRow } from "../src/compare/metrics.js";
import { loadSource } from "../src/compare/worker.js";

beforeAll(() => init());

/** Triples back to trace.js's shape, so that the strict trace reader can check them. */
function toTrace(built) {
  const ops = [];
  for (let i = 0; i < built.ops.length; i += 3) {
    const [code, id, size] = built.ops.subarray(i, i + 3);
    ops.push(code === OP.FREE ? { op: "f", id } : { op: code === OP.MALLOC ? "a" : "r", id, size });
  }
  return { ops, ids: built.ids };
}

describe("workloads", () => {
  test.each(GENERATORS.map((g) => g.key))("%s: exact count, seeded, a valid trace", (key) => {
    const a = generate(key, { seed: 7, count: 20_000 });
    expect(a.ops.length).toBe(60_000);
    expect(generate(key, { seed: 7, count: 20_000 }).ops).toEqual(a.ops);
    expect(generate(key, { seed: 8, count: 20_000 }).ops).not.toEqual(a.ops);
    // The strict reader accepts it (lifecycles of ids, sizes), and back to triples is the identity.
    const parsed = parseTrace(toRep(toTrace(a)));
    expect(toTriples(parsed)).toEqual(a.ops);
  });

  test("unknown workloads and counts are refused", () => {
    expect(() => generate("nope")).toThrow(/unknown workload "nope"/);
    expect(() => generate("random", { count: 0 })).toThrow(/operation count/);
  });

  test("operations in words", () => {
    const ops = new Uint32Array([OP.MALLOC, 3, 24, OP.REALLOC, 3, 48, OP.FREE, 3, 0]);
    expect([0, 1, 2, 3].map((i) => describeOp(ops, i))).toEqual(["malloc(24) → id 3", "realloc(id 3, 48)", "free(id 3)", ""]);
  });

  test("the worker's loader: workloads, files, and a malformed file's first bad line", () => {
    expect(loadSource({ kind: "workload", key: "fifo", count: 100, seed: 1 }).ops.length).toBe(300);
    const file = loadSource({ kind: "file", name: "t.rep", text: "2\n2\na 0 8\nf 0\n" });
    expect(file).toMatchObject({ name: "t.rep", ids: 2 });
    expect([...file.ops]).toEqual([OP.MALLOC, 0, 8, OP.FREE, 0, 0]);
    expect(() => loadSource({ kind: "file", name: "bad.rep", text: "2\n2\na 0 8\nf 1\n" })).toThrow(expect.objectContaining({ line: 4 }));
  });
});

function finish(run) {
  while (!run.finished) run.advance(7_000);
  return run;
}

describe("PolicyRun", () => {
  test("samples every k operations, at most 2001 points; examined per operation adds up to the total", () => {
    const { ops } = generate("random", { seed: 2, count: 120_000 });
    const run = finish(new PolicyRun(Heap, ops, "first-fit"));
    const s = run.series();
    expect(run.stepwise).toBe(false);
    expect(s.n).toBeLessThanOrEqual(2001);
    expect(s.x[0]).toBe(0);
    expect(s.x[s.n - 1]).toBe(120_000);
    for (const m of METRICS) expect(s[m].length).toBe(s.n);
    let total = 0;
    for (let i = 1; i < s.n; i++) total += s.examined[i] * (s.x[i] - s.x[i - 1]);
    const stats = run.heap.stats();
    expect(total).toBeCloseTo(stats.totalExamined, 3);
    expect(s.heapBytes[s.n - 1]).toBe(stats.heapBytes);
    expect(s.liveRequested[s.n - 1]).toBe(stats.liveRequested);
    expect(s.utilization[s.n - 1]).toBeCloseTo(stats.peakLiveRequested / stats.highWaterMark, 12);
    const row = resultRow(run.result(run.time({ minSeconds: 0 })));
    expect(row.operations).toBe(120_000);
    expect(row.kops).toBeGreaterThan(0);
    expect(row.examinedMax).toBeGreaterThanOrEqual(Math.floor(row.examinedMean));
    run.dispose();
  });

  test("small traces are stepped one operation at a time: the max of blocks examined is exact", () => {
    const { ops } = generate("fragmentation", { seed: 4, count: 3000 });
    const run = finish(new PolicyRun(Heap, ops, "best-fit"));
    expect(run.stepwise).toBe(true);
    const { examinedMax } = run;
    expect(run.result(1).examinedMaxExact).toBe(true);
    // The reference heap gets the same memory layout (one contiguous run,
    // recycled from the run's heap), so it makes the same choices.
    run.dispose();
    const heap = new Heap({ policy: "best-fit" });
    let max = 0;
    for (let i = 0; i < 3000; i++) {
      heap.run(ops.subarray(i * 3, i * 3 + 3));
      max = Math.max(max, heap.stats().lastExamined);
    }
    heap.dispose();
    expect(examinedMax).toBe(max);
    expect(STEP_LIMIT).toBeGreaterThanOrEqual(10_000);
  });

  test("seek goes back and forth through the trace and gives the first pass's heap", () => {
    const { ops } = generate("random", { seed: 5, count: 200_000 });
    const run = finish(new PolicyRun(Heap, ops, "next-fit"));
    run.time({ minSeconds: 0 }); // another heap in the same memory must not disturb the seeks
    const s = run.series();
    for (const target of [100_000, 0, 199_900, 3_000, 150_000, 149_900, 200_000, 50_000]) {
      expect(run.seek(target)).toBe(target);
      const snap = run.snapshot();
      const k = s.x.indexOf(target);
      expect(snap.index).toBe(target);
      expect(snap.stats.heapBytes).toBe(s.heapBytes[k]);
      expect(snap.stats.liveRequested).toBe(s.liveRequested[k]);
      expect(snap.stats.externalFragmentation).toBe(s.fragmentation[k]);
      expect(snap.blocks).toBeInstanceOf(Uint32Array);
      run.heap.check();
    }
    expect(run.seek(10_000_000)).toBe(200_000);
    expect(run.seek(-4)).toBe(0);
    expect(run.checkpoints.length).toBeLessThanOrEqual(33);
    run.dispose();
  });

  test("a replay shorter than the clock's tick is timed by the mean of many runs, a longer one by the best", () => {
    const { ops } = generate("random", { seed: 6, count: 500 });
    const run = finish(new PolicyRun(Heap, ops, "first-fit"));
    // A clock that ticks every 0.1 ms: the runs read 0 or 0.1 ms in turn.
    let t = 0;
    let call = 0;
    const ticking = () => {
      call++;
      if (call % 4 === 0) t += 0.1; // every second run ends a tick later than it started
      return t;
    };
    const mean = run.time({ minSeconds: 0.01, maxRuns: 100, now: ticking });
    expect(mean).toBeGreaterThan(0);
    expect(mean).toBeLessThan(0.0001); // best would be 0: an infinite throughput
    // Runs of 3 ms and 5 ms in turn: the best, 3 ms.
    let clock = 0;
    let k = 0;
    const slow = () => (clock += k++ % 2 === 1 ? (k % 4 === 0 ? 5 : 3) : 0);
    expect(run.time({ minSeconds: 0.02, now: slow })).toBeCloseTo(0.003, 6);
    run.dispose();
  });

  test("a failing operation stops the policy and says which", () => {
    const ops = new Uint32Array([OP.MALLOC, 0, 1000, OP.MALLOC, 1, 3_000_000, OP.FREE, 0, 0]);
    const run = finish(new PolicyRun(Heap, ops, "worst-fit", { maxBytes: 1 << 20 }));
    expect(run.done).toBe(1);
    const result = run.result(run.time());
    expect(result.failure).toMatch(/^operation 2 failed: /);
    expect(resultRow(result)).toMatchObject({ operations: 1, kops: null, index: null });
    run.dispose();
  });
});
