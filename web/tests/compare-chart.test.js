// The compare page's chart module: nice steps and ticks (counts, bytes,
// percentages), the linear scale, tick labels, hit-testing, and what a drawn
// chart puts on the canvas (axis titles with units, one dashed line per policy
// in its colour, the cursor).
import { describe, test, expect } from "vitest";
import { niceStep, ticks, scale, formatTick, formatCount, nearestIndex, drawChart, POLICY_STYLE } from "../src/compare/chart.js";
import { PALETTES } from "../src/theme.js";
import { init, POLICIES } from "../src/heaplab.js";
import { PEERS } from "../src/compare/peers.js";

// The shared names and codes (POLICIES, PAGE, BLOCK, ...) come from the wasm
// module: load it before the tests are collected.
await init();

describe("scales and ticks", () => {
  test("niceStep picks 1, 2 or 5 × 10^k", () => {
    expect(niceStep(10, 5)).toBe(2);
    expect(niceStep(1_000_000, 6)).toBe(200_000);
    expect(niceStep(0.9, 4)).toBe(0.2);
    expect(niceStep(7, 7)).toBe(1);
    expect(niceStep(0, 5)).toBe(1);
    expect(niceStep(NaN, 5)).toBe(1);
  });

  test("ticks cover the data from zero on nice values", () => {
    expect(ticks(0, 10_000, { count: 6 })).toMatchObject({ ticks: [0, 2000, 4000, 6000, 8000, 10_000], max: 10_000 });
    expect(ticks(0, 9_100, { count: 4 }).ticks).toEqual([0, 2000, 4000, 6000, 8000, 10_000]);
    expect(ticks(0, 1, { count: 4, unit: "percent" }).ticks).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(ticks(0, 0.37, { count: 4, unit: "percent" }).ticks).toEqual([0, 0.1, 0.2, 0.3, 0.4]);
    // An empty range still gives an axis.
    expect(ticks(0, 0).ticks.length).toBeGreaterThan(1);
  });

  test("byte ticks step in B, KiB or MiB", () => {
    expect(ticks(0, 3.2 * 1024 * 1024, { count: 4, unit: "bytes" }).ticks).toEqual([0, 1, 2, 3, 4].map((m) => m * 1024 * 1024));
    expect(ticks(0, 300 * 1024, { count: 4, unit: "bytes" }).ticks).toEqual([0, 100, 200, 300].map((k) => k * 1024));
    expect(ticks(0, 900, { count: 4, unit: "bytes" }).ticks).toEqual([0, 200, 400, 600, 800, 1000]);
  });

  test("scale maps and inverts", () => {
    const x = scale(0, 100, 70, 270);
    expect(x(0)).toBe(70);
    expect(x(50)).toBe(170);
    expect(x.invert(170)).toBe(50);
    expect(scale(5, 5, 0, 10).invert(3)).toBe(5);
  });

  test("tick labels carry their unit", () => {
    expect(formatTick(2 * 1024 * 1024, "bytes")).toBe("2 MiB");
    expect(formatTick(0.3, "percent")).toBe("30%");
    expect(formatTick(0.30000000000000004, "percent")).toBe("30%");
    expect(formatTick(250_000, "count")).toBe("250k");
    expect(formatCount(1_500_000)).toBe("1.5M");
    expect(formatCount(12)).toBe("12");
  });

  test("nearestIndex finds the closest sample", () => {
    const xs = new Float64Array([0, 10, 20, 30]);
    expect(nearestIndex(xs, -5)).toBe(0);
    expect(nearestIndex(xs, 14)).toBe(1);
    expect(nearestIndex(xs, 16)).toBe(2);
    expect(nearestIndex(xs, 99)).toBe(3);
    expect(nearestIndex(new Float64Array(0), 1)).toBe(-1);
  });
});

/** A 2D context that records what is drawn. */
function recorder() {
  const calls = [];
  const strokes = [];
  let dash = [];
  const ctx = {
    calls,
    strokes,
    fillStyle: "",
    strokeStyle: "",
    lineWidth: 1,
    font: "",
    textAlign: "",
    textBaseline: "",
    lineJoin: "",
    setLineDash: (d) => (dash = d),
    fillText: (text, x, y) => calls.push({ text, x, y }),
    stroke: () => strokes.push({ color: ctx.strokeStyle, dash }),
  };
  for (const name of ["save", "restore", "setTransform", "fillRect", "strokeRect", "beginPath", "moveTo", "lineTo", "rect", "clip", "translate", "rotate"]) ctx[name] = () => {};
  return ctx;
}

describe("drawChart", () => {
  const series = POLICIES.map((policy, k) => ({ policy, x: [0, 500, 1000], y: [0, 1000 * (k + 1), 4096], n: 3 }));

  test("labels both axes with units and ticks in the unit", () => {
    const ctx = recorder();
    const g = drawChart(ctx, { unit: "bytes", yLabel: "heap size (bytes)", xLabel: "operations done (count)", xMax: 1000, series, cursor: null }, { width: 600, height: 220 });
    const texts = ctx.calls.map((c) => c.text);
    expect(texts).toContain("heap size (bytes)");
    expect(texts).toContain("operations done (count)");
    expect(texts).toContain("5 KiB"); // y-axis top: max 5000 B
    expect(texts).toContain("1k");
    expect(g.x(0)).toBe(g.plot.left);
    expect(g.x(1000)).toBe(g.plot.right);
    expect(g.y(0)).toBe(g.plot.bottom);
  });

  test("one line per policy in its Okabe-Ito colour and dash pattern; the cursor is drawn", () => {
    const ctx = recorder();
    drawChart(ctx, { unit: "count", yLabel: "blocks / operation", xLabel: "operations done (count)", xMax: 1000, series, cursor: 500 }, { width: 600, height: 220 });
    const lines = ctx.strokes.filter((s) => Object.values(POLICY_STYLE).some((p) => p.color === s.color));
    expect(lines.map((s) => s.color)).toEqual(POLICIES.map((p) => POLICY_STYLE[p].color));
    expect(new Set(lines.map((s) => s.dash.join(","))).size).toBe(POLICIES.length);
    expect(ctx.strokes.some((s) => s.color === "#000000" && s.dash.join(",") === "3,3")).toBe(true);
  });

  test("draws in the theme's colours: background, text and cursor from the palette", () => {
    for (const name of ["light", "dark"]) {
      const colors = PALETTES[name];
      const ctx = recorder();
      const fills = [];
      ctx.fillRect = () => fills.push(ctx.fillStyle);
      const texts = [];
      ctx.fillText = (text) => texts.push({ text, color: ctx.fillStyle });
      drawChart(ctx, { unit: "count", yLabel: "blocks / operation", xLabel: "operations done (count)", xMax: 1000, series, cursor: 500 }, { width: 600, height: 220, colors });
      expect(fills[0]).toBe(colors.background);
      expect(texts.find((t) => t.text === "blocks / operation").color).toBe(colors.text);
      expect(ctx.strokes.some((s) => s.color === colors.focus && s.dash.join(",") === "3,3")).toBe(true);
    }
  });

  test("every policy has a distinct colour and dash pattern", () => {
    // The fits, then the production allocators, then the kernel heap.
    expect(Object.keys(POLICY_STYLE)).toEqual([...POLICIES, ...PEERS.map((p) => p.key), "kmalloc"]);
    expect(new Set(Object.values(POLICY_STYLE).map((s) => s.color)).size).toBe(11);
    expect(new Set(Object.values(POLICY_STYLE).map((s) => s.dash.join(","))).size).toBe(11);
  });
});
