// The sentence under each compare chart: what differs between the policies,
// or that they do not differ on this trace.
import { describe, expect, test } from "vitest";
import { summarizeChart } from "../src/compare/metrics.js";

const line = (policy, ys) => ({ policy, y: Float64Array.from(ys), n: ys.length });

describe("summarizeChart", () => {
  test("names the best and the worst policy and how far apart they are", () => {
    const s = summarizeChart("heapBytes", [line("first-fit", [4096, 8192]), line("best-fit", [4096, 4096]), line("worst-fit", [4096, 12288])], "bytes");
    expect(s).toBe("best-fit does best on peak heap (4 KiB); worst-fit worst (12 KiB, 3.00× apart).");
  });

  test("more is better for utilization, read at the end, apart in points", () => {
    const s = summarizeChart("utilization", [line("first-fit", [0.5, 0.8]), line("segregated", [0.9, 0.7])], "percent");
    expect(s).toBe("first-fit does best on peak utilization at the end (80.0%); segregated worst (70.0%, 10.0 points apart).");
  });

  test("says so when the policies do not differ, and that live bytes are the trace's own", () => {
    const same = summarizeChart("examined", [line("a", [1, 1]), line("b", [1, 1]), line("c", [1, 1.001])], "count");
    expect(same).toMatch(/^All 3 policies are the same here .*makes no difference\.$/);
    expect(summarizeChart("liveRequested", [line("a", [10, 20]), line("b", [10, 20])], "bytes")).toMatch(/^The trace's own requests: the same for every policy/);
  });

  test("ties for best are named together; no lines, no sentence", () => {
    const s = summarizeChart("fragmentation", [line("a", [0.1]), line("b", [0.1]), line("c", [0.3])], "percent");
    expect(s.startsWith("a and b do best")).toBe(true);
    expect(summarizeChart("heapBytes", [], "bytes")).toBe("");
  });
});
