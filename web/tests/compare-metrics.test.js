// The compare page's figures: the malloc-lab performance index, the results
// rows, their CSV, and the sampling interval.
import { describe, test, expect } from "vitest";
import { performanceIndex, INDEX, INDEX_FORMULA, resultRow, toCsv, sampleEvery, COLUMNS } from "../src/compare/metrics.js";

describe("performance index", () => {
  test("P = 0.6·U + 0.4·min(1, T / 600 Kops/s), as mdriver.c", () => {
    expect(INDEX).toEqual({ weight: 0.6, libcKops: 600 });
    expect(performanceIndex(0.5, 300)).toBeCloseTo(0.6 * 0.5 + 0.4 * 0.5, 12);
    expect(performanceIndex(0.8, 6000)).toBeCloseTo(0.48 + 0.4, 12); // throughput capped
    expect(performanceIndex(1, 600)).toBeCloseTo(1, 12);
    expect(performanceIndex(0, 0)).toBe(0);
    expect(performanceIndex(0.5, null)).toBe(null);
    expect(INDEX_FORMULA).toBe("P = 0.6·U + 0.4·min(1, T / Tlibc), Tlibc = 600 Kops/s");
  });
});

const stats = { peakLiveRequested: 750, highWaterMark: 1000, externalFragmentation: 0.25, totalExamined: 300 };

describe("results rows", () => {
  test("utilization is malloc-lab's (peak live requested / high-water mark); Kops/s from the timed run", () => {
    const row = resultRow({ policy: "best-fit", operations: 100, failure: null, stats, fragmentationMean: 0.1, examinedMax: 9, examinedMaxExact: true, seconds: 0.0001 });
    expect(row).toMatchObject({ policy: "best-fit", utilization: 0.75, peakHeap: 1000, fragmentationEnd: 0.25, examinedMean: 3, examinedMax: 9 });
    expect(row.kops).toBeCloseTo(1000, 6);
    expect(row.index).toBeCloseTo(0.6 * 0.75 + 0.4, 12);
  });

  test("a failed trace has no throughput and no index", () => {
    const row = resultRow({ policy: "first-fit", operations: 7, failure: "operation 8 failed: out of memory", stats, fragmentationMean: 0, examinedMax: 1, examinedMaxExact: false, seconds: null });
    expect(row.kops).toBe(null);
    expect(row.index).toBe(null);
    const shown = COLUMNS.find((c) => c.key === "examinedMax").show(row.examinedMax, row);
    expect(shown).toBe("≥ 1");
  });
});

describe("CSV", () => {
  test("a header, one line per policy, fields quoted when needed", () => {
    const row = resultRow({ policy: "worst-fit", operations: 10, failure: 'operation 3 failed: "x", y', stats, fragmentationMean: 0.5, examinedMax: 4, examinedMaxExact: true, seconds: 0.001 });
    const csv = toCsv([row], { trace: "my,trace.rep" });
    const lines = csv.split("\r\n");
    expect(lines[0]).toBe(`trace,${COLUMNS.map((c) => c.title).join(",")},failure`);
    expect(lines[1]).toBe('"my,trace.rep",worst-fit,10,0.75,1000,0.5,0.25,30,4,,,"operation 3 failed: ""x"", y"');
    expect(lines[2]).toBe("");
  });
});

test("sampleEvery keeps charts at 2000 points or fewer", () => {
  expect(sampleEvery(1)).toBe(1);
  expect(sampleEvery(2000)).toBe(1);
  expect(sampleEvery(2001)).toBe(2);
  expect(sampleEvery(1_000_000)).toBe(500);
  for (const n of [1, 1999, 12345, 999_999]) expect(Math.ceil(n / sampleEvery(n))).toBeLessThanOrEqual(2000);
});
