// The paragraph under the compare page's results table (metrics.js
// summarizeResults): written from the rows' figures, ties told as ties,
// the textbook fits set against the production allocators, first fit's
// search cost, and nothing said of figures that are not there.
import { describe, test, expect } from "vitest";
import { summarizeResults } from "../src/compare/metrics.js";

const PEERS = new Set(["talc", "dlmalloc"]);
const isPeer = (p) => PEERS.has(p);

/** A results row with the figures the paragraph reads. */
const row = (policy, utilization, kops, examinedMean = null, extra = {}) => ({
  policy,
  utilization,
  peakHeap: Math.round(500_000 / utilization),
  kops,
  examinedMean,
  examinedMax: examinedMean === null ? null : Math.ceil(examinedMean * 10),
  examinedMaxExact: true,
  failure: null,
  ...extra,
});

describe("summarizeResults", () => {
  test("names the best on memory, by how many points, fits against production, the fastest, and first fit's search", () => {
    const text = summarizeResults([row("first-fit", 0.8, 4000, 12.5), row("segregated", 0.85, 11000, 0.5), row("talc", 0.9, 8000), row("dlmalloc", 0.95, 10000)], { isPeer });
    expect(text).toContain("dlmalloc used memory best: 95.0% of the heap span");
    expect(text).toContain("15 points above first-fit (80.0%");
    expect(text).toContain("Best textbook fit against best production allocator: segregated 85.0%, dlmalloc 95.0%; the production allocator dlmalloc is ahead by 10 points.");
    expect(text).toContain("Fastest in wasm: segregated at 11,000 K operations per second, 2.8× first-fit (4,000 K), the slowest.");
    expect(text).toContain("First fit's search shows in its blocks examined: 12.5 per operation on average (at most 125, walking the free list from its head), against 0.5 for segregated.");
    expect(text).toContain("Production allocators do not count the blocks they examine");
    expect(text).toContain("Speed between the two kinds is not like for like");
  });

  test("ties are told as ties, and a fit ahead of every production allocator is said to be", () => {
    const text = summarizeResults([row("best-fit", 0.9, 5000, 1), row("segregated", 0.9, 5050, 0.4), row("talc", 0.7, 2000)], { isPeer });
    expect(text).toContain("best-fit and segregated used memory best");
    expect(text).toContain("the textbook fit best-fit is ahead by 20 points");
    expect(text).toContain("Fastest in wasm: best-fit and segregated at 5,050 K");
    const same = summarizeResults([row("first-fit", 0.5, 100, 1), row("best-fit", 0.5, 101, 1)]);
    expect(same).toContain("Every policy kept the same share of its heap in use at the peak (50.0%)");
    expect(same).toContain("All ran the trace equally fast");
    expect(same).toContain("First fit examined 1.0 blocks per operation on average");
    expect(same).not.toContain("Production allocators");
    expect(same).not.toContain("not like for like");
  });

  test("failed policies are named and left out; no rows, no paragraph", () => {
    const text = summarizeResults([row("first-fit", 0.6, 100, 2), row("talc", 0, null, null, { failure: "operation 9 failed: out of memory" })], { isPeer });
    expect(text).toContain("talc did not finish the trace (operation 9 failed: out of memory), so its figures are left out.");
    expect(text).toContain("first-fit kept 60.0% of its heap span in use");
    expect(text).not.toContain("Fastest");
    expect(summarizeResults([])).toBe("");
  });
});
