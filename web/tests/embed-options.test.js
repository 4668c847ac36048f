// <heap-playground>'s attributes: heap options, panels, height, inline or URL
// traces, and a parsed trace as the session's operations (replayed for real).
import { beforeAll, describe, expect, test } from "vitest";
import { init } from "../src/heaplab.js";
import { Session } from "../src/session.js";
import { parseTrace } from "../src/trace.js";
import { readHeapOptions, readPanels, readHeight, readLayout, isInlineTrace, sessionOps, describeOp, mergeOptions, readStep } from "../src/embed/embed-options.js";

beforeAll(async () => {
  await init();
});

const attrs = (map) => (name) => (name in map ? map[name] : null);

describe("embed attributes", () => {
  test("heap options: only what is set, numbers checked", () => {
    expect(readHeapOptions(attrs({ policy: "best-fit", align: "16", "split-min": "32", "max-bytes": "1048576", coalesce: "deferred" }))).toEqual({
      options: { policy: "best-fit", coalesce: "deferred", align: 16, splitMin: 32, maxBytes: 1048576 },
      errors: [],
    });
    expect(readHeapOptions(attrs({})).options).toEqual({});
    expect(readHeapOptions(attrs({ align: "eight", "max-bytes": "-1" })).errors).toEqual([
      'align="eight" is not a whole number of bytes',
      'max-bytes="-1" is not a whole number of bytes',
    ]);
  });

  test("panels, height and step", () => {
    expect(readPanels(null).panels).toEqual(["map", "stats", "table"]);
    expect(readPanels("table, map").panels).toEqual(["map", "table"]);
    expect(readPanels("map hexdump").errors).toEqual(['unknown panel "hexdump" (panels: map, console, stats, table)']);
    expect(readHeight("400")).toBe("400px");
    expect(readHeight("30rem")).toBe("30rem");
    expect(readHeight("calc(1px)")).toBe(null);
    expect(readStep("5")).toBe(5);
    expect(readStep("-1")).toBe(null);
    expect(readStep("")).toBe(null);
  });

  test("layout attributes: every value that means nothing is reported, and counts as absent", () => {
    expect(readLayout(attrs({}))).toEqual({ panels: ["map", "stats", "table"], height: null, theme: "auto", step: null, errors: [] });
    expect(readLayout(attrs({ panels: "console map", height: "30em", theme: "dark", step: "3" }))).toEqual({ panels: ["map", "console"], height: "30em", theme: "dark", step: 3, errors: [] });
    const bad = readLayout(attrs({ panels: "map hexdump", height: "tall", theme: "purple", step: "-2" }));
    expect(bad.panels).toEqual(["map"]);
    expect([bad.height, bad.theme, bad.step]).toEqual([null, "auto", null]);
    expect(bad.errors).toEqual([
      'unknown panel "hexdump" (panels: map, console, stats, table)',
      'height="tall" is not a height (480, 480px, 30rem, 60vh)',
      'theme="purple" is not a theme (light, dark, auto)',
      'step="-2" is not a step number (0, 1, 2, …)',
    ]);
    // Empty attributes are absent, not mistakes.
    expect(readLayout(attrs({ height: " ", theme: "", step: "" })).errors).toEqual([]);
  });

  test("quick-lists: present, true or false; anything else is reported", () => {
    expect(readHeapOptions(attrs({ "quick-lists": "" })).options).toEqual({ quickLists: true });
    expect(readHeapOptions(attrs({ "quick-lists": "false" })).options).toEqual({ quickLists: false });
    expect(readHeapOptions(attrs({ "quick-lists": "yes please" })).errors).toEqual(['quick-lists="yes please" is neither true nor false']);
  });

  test("a trace attribute is inline text or a URL", () => {
    expect(isInlineTrace("2\n1\na 0 8")).toBe(true);
    expect(isInlineTrace('{"format":"heaplab-trace"}')).toBe(true);
    expect(isInlineTrace("traces/coalesce.rep")).toBe(false);
    expect(isInlineTrace("https://example.org/t.rep")).toBe(false);
    expect(isInlineTrace("2021.rep")).toBe(false);
  });

  test("trace options sit between the defaults and the attributes", () => {
    expect(mergeOptions({ policy: "best-fit", align: 16, junk: 1 }, { align: 8 })).toEqual({ policy: "best-fit", align: 8, coalesce: "immediate", splitMin: 0, maxBytes: null, listOrder: null, quickLists: false });
  });

  test("a trace with reused ids becomes session operations with fresh ids, and replays", () => {
    const trace = parseTrace("3\n7\na 0 24\na 1 48\nf 0\na 0 16\nr 1 100\nf 1\nf 0\n");
    const ops = sessionOps(trace);
    expect(ops).toEqual([
      { op: "malloc", id: 1, size: 24, align: 0 },
      { op: "malloc", id: 2, size: 48, align: 0 },
      { op: "free", id: 1 },
      { op: "malloc", id: 3, size: 16, align: 0 },
      { op: "realloc", id: 2, size: 100 },
      { op: "free", id: 2 },
      { op: "free", id: 3 },
    ]);
    expect(ops.map(describeOp).slice(0, 5)).toEqual(["malloc(24) → #1", "malloc(48) → #2", "free(#1)", "malloc(16) → #3", "realloc(#2, 100)"]);
    expect(describeOp(undefined)).toBe("the empty heap");
    const session = new Session();
    for (let n = 0; n <= ops.length; n++) expect(session.rebuild(session.options, ops.slice(0, n)).ok).toBe(true);
    expect(session.snapshot().stats.liveBlocks).toBe(0);
    session.rebuild(session.options, ops.slice(0, 4));
    expect(session.snapshot().stats.liveBlocks).toBe(2);
    session.dispose();
  });
});
