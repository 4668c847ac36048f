// Pure parts of the views: block descriptions, hex view model and parsing,
// stats rows, the table window and the batching painter.
import { describe, expect, test } from "vitest";
import { blockInfo, describeBlock, announceBlock } from "../src/blocks.js";
import { decodeHeader, headerText, hexModel, parseBytes, byteKind, HEX_LIMIT } from "../src/hex-view.js";
import { statRows } from "../src/stats-panel.js";
import { tableWindow } from "../src/block-table.js";
import { Painter, drawHeapMap, COLORS, LEGEND } from "../src/heap-map.js";
import { computeLayout } from "../src/layout.js";
import { hex, formatBytes, formatPercent } from "../src/format.js";
import { init } from "../src/heaplab.js";

// The shared names and codes (POLICIES, PAGE, BLOCK, ...) come from the wasm
// module: load it before the tests are collected.
await init();

// address, size, payload, requested, flags, id
const blocks = new Uint32Array([0x110000, 32, 0x110008, 20, 1, 1, 0x110020, 48, 0x110028, 0, 0, 0, 0x110050, 0x20000, 0x110058, 0x1fff0, 3, 2]);

describe("blockInfo and describeBlock", () => {
  test("a used block: sizes, usable payload, header, label", () => {
    const info = blockInfo(blocks, 0, (p) => (p === 0x110008 ? { id: 7, label: "p" } : null));
    expect(info).toMatchObject({ address: 0x110000, size: 32, requested: 20, usable: 24, header: 8, used: true, state: "used", id: 7, label: "p" });
    const text = Object.fromEntries(describeBlock(info));
    expect(text.Address).toBe("0x110000 (payload 0x110008)");
    expect(text["Block size"]).toBe("32 bytes");
    expect(text.Requested).toBe("20 bytes");
    expect(text["Usable payload"]).toBe("24 bytes");
    expect(text.Header).toBe("8 bytes");
    expect(text.Allocation).toBe("p (#7)");
    expect(text.State).toBe("used");
    expect(announceBlock(info, 3)).toMatch(/^Block 1 of 3: used, p \(#7\), 32 bytes at 0x110000/);
  });
  test("free and large blocks", () => {
    expect(blockInfo(blocks, 1)).toMatchObject({ used: false, state: "free", id: 0 });
    expect(Object.fromEntries(describeBlock(blockInfo(blocks, 1)))["Free space"]).toBe("40 bytes");
    // A block with no header of ours (a kernel object: payload = address) has no header line.
    const object = Uint32Array.from([0x2000, 184, 0x2000, 184, 1, 7]);
    const said = Object.fromEntries(describeBlock(blockInfo(object, 0)));
    expect(said).toMatchObject({ Address: "0x002000", Size: "184 bytes", Requested: "184 bytes" });
    expect(said.Header).toBeUndefined();
    expect(blockInfo(blocks, 2)).toMatchObject({ large: true, state: "large object" });
  });
});

describe("hex view", () => {
  test("decodes a header: size, used / prev-used / large flags, requested", () => {
    const bytes = new Uint8Array([0x23, 0, 0, 0, 20, 0, 0, 0x30]); // size 32 | used | prev-used; align 2^3
    expect(decodeHeader(bytes)).toEqual({ size: 32, used: true, prevUsed: true, large: false, quick: false, requested: 20, align: 8 });
    expect(decodeHeader(new Uint8Array([0x05, 0x00, 0x02, 0, 0xf0, 0xff, 1, 0]))).toEqual({ size: 0x20000, used: true, prevUsed: false, large: true, quick: false, requested: 0x1fff0, align: null });
    // A block waiting on a quick list: used, all four alignment bits set.
    const quick = decodeHeader(new Uint8Array([0x33, 0, 0, 0, 40, 0, 0, 0xf0]));
    expect(quick).toMatchObject({ size: 48, used: true, quick: true, requested: 40, align: null });
    expect(headerText(quick)).toBe("size 48, flags used | prev-used | quick, requested 40");
    expect(headerText(decodeHeader(bytes))).toBe("size 32, flags used | prev-used, requested 20, align 8");
    expect(decodeHeader(new Uint8Array(3))).toBeNull();
  });
  test("annotates each byte and the next header", () => {
    const info = blockInfo(blocks, 0);
    expect([0, 7, 8, 27, 28, 31, 32].map((k) => byteKind(info, k))).toEqual(["header", "header", "payload", "payload", "padding", "padding", "next-header"]);
    const free = blockInfo(blocks, 1);
    expect([8, 39, 40, 47].map((k) => byteKind(free, k))).toEqual(["free", "free", "footer", "footer"]);
    const bytes = new Uint8Array(40);
    bytes.set([0x23, 0, 0, 0, 20, 0, 0, 0]);
    bytes.set([0x30, 0, 0, 0, 0, 0, 0, 0], 32);
    const model = hexModel(info, bytes);
    expect(model.rows.length).toBe(5); // 8 bytes a row: the header is row 0
    expect(model.rows[1].address).toBe(0x110008);
    expect(model.header.size).toBe(32);
    expect(model.next).toEqual({ size: 48, used: false, prevUsed: false, large: false, quick: false, requested: 0, align: null });
    expect(hexModel(blockInfo(blocks, 2), new Uint8Array(HEX_LIMIT)).truncated).toBe(0x20000 - HEX_LIMIT);
  });
  test("parses text and hex bytes, strictly", () => {
    expect([...parseBytes("hé", "text")]).toEqual([0x68, 0xc3, 0xa9]);
    expect([...parseBytes("de ad,0xBE  ef", "bytes")]).toEqual([0xde, 0xad, 0xbe, 0xef]);
    expect(() => parseBytes("12 zz", "bytes")).toThrow(/"zz" is not a byte/);
    expect(() => parseBytes("123", "bytes")).toThrow(/not a byte/);
    expect(() => parseBytes("", "text")).toThrow(/nothing to write/);
  });
});

describe("panels", () => {
  test("stats rows cover the issue's figures", () => {
    const stats = { liveRequested: 100, peakLiveRequested: 200, allocatedBytes: 2048, freeBytes: 1024, largestFree: 512, externalFragmentation: 0.5, utilization: 0.25, pagesInUse: 4, heapBytes: 65536, liveBlocks: 3, freeBlocks: 2, arenas: 1, segments: 1, lastExamined: 4, totalExamined: 10, operations: 5 };
    const rows = Object.fromEntries(statRows(stats).map(([k, , v]) => [k, v]));
    expect(rows.liveRequested).toBe("100 B (peak 200 B)");
    expect(rows.allocatedBytes).toBe("2 KiB");
    expect(rows.largestFree).toBe("512 B");
    expect(rows.externalFragmentation).toBe("50.0%");
    expect(rows.utilization).toBe("25.0% (now 0.6%)");
    const utilization = statRows(stats).find(([k]) => k === "utilization");
    expect(utilization[1]).toBe("Peak utilization");
    expect(utilization[3]).toMatch(/peak live requested bytes ÷ heap span/);
    expect(rows.pagesInUse).toBe("4 of 16 (64 KiB)");
    expect(rows.lastExamined).toBe("4");
  });
  test("the table shows a window around the focused block in a big heap", () => {
    expect(tableWindow(10, -1, 400)).toEqual([0, 10]);
    expect(tableWindow(100_000, -1, 400)).toEqual([0, 400]);
    expect(tableWindow(100_000, 50_000, 400)).toEqual([49_800, 50_200]);
    expect(tableWindow(100_000, 99_999, 400)).toEqual([99_600, 100_000]);
  });
  test("formatting", () => {
    expect(hex(0x1234)).toBe("0x001234");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(64 << 20)).toBe("64 MiB");
    expect(formatPercent(Number.NaN)).toBe("–");
  });
  test("the legend uses the Okabe-Ito palette", () => {
    const okabeIto = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000"];
    for (const key of ["header", "payload", "padding", "large", "meta", "wasmPage"]) expect(okabeIto).toContain(COLORS[key]);
    expect(LEGEND.length).toBeGreaterThanOrEqual(7);
  });
});

/** A context that records calls (enough of CanvasRenderingContext2D for the renderer). */
function fakeContext() {
  const calls = { fillRect: 0, fillText: [] };
  return {
    calls,
    fillStyle: "",
    strokeStyle: "",
    lineWidth: 1,
    font: "",
    textBaseline: "",
    save() {},
    restore() {},
    setTransform() {},
    fillRect() {
      calls.fillRect++;
    },
    strokeRect() {},
    fillText(text) {
      calls.fillText.push(text);
    },
    measureText(text) {
      return { width: text.length * 6.6 };
    },
  };
}

describe("Painter and drawHeapMap", () => {
  test("adjacent rectangles of one colour are merged into one fill", () => {
    const ctx = fakeContext();
    const p = new Painter(ctx, 2);
    p.fill(0, 0, 1, 10, "red");
    p.fill(1, 0, 1, 10, "red");
    p.fill(2, 0, 0.1, 10, "red");
    p.fill(3, 0, 1, 10, "blue");
    p.fill(0, 10, 1, 10, "blue");
    p.flush();
    expect(ctx.calls.fillRect).toBe(3);
  });

  test("draws only the visible band: a 64 MiB heap with 100k blocks is as cheap as the band", () => {
    const base = 0x100000;
    const n = 100_000;
    const big = new Uint32Array(n * 6);
    const size = 640;
    for (let i = 0; i < n; i++) big.set([base + i * size, size, base + i * size + 8, i % 3 ? 600 : 0, i % 3 ? 1 : 0, i], i * 6);
    const segments = [{ base, bytes: 64 << 20 }];
    const pages = new Uint8Array((64 << 20) / 4096).fill(3);
    const layout = computeLayout(segments, { width: 1100 });
    const ctx = fakeContext();
    const t0 = performance.now();
    const drawn = drawHeapMap(ctx, layout, { segments, pages, blocks: big }, { top: 900_000, height: 700, width: 1100, dpr: 2, focus: -1, hover: -1, label: (p) => `#${p}` });
    const ms = performance.now() - t0;
    expect(drawn.blocks).toBeLessThan(500); // ~39 rows of 4 KiB, ~7 blocks a row
    expect(ms).toBeLessThan(50);
    // Zoomed out to the whole heap: every block is visible, fills are batched.
    const all = computeLayout(segments, { width: 1100, bytesPerRow: 2 << 20 });
    const ctx2 = fakeContext();
    const whole = drawHeapMap(ctx2, all, { segments, pages, blocks: big }, { top: 0, height: all.height, width: 1100, dpr: 1 });
    expect(whole.blocks).toBe(n);
    expect(whole.fills).toBeLessThan(n);
  });
});

describe("the empty map's message", () => {
  test("wraps at spaces to the map's width, so a phone shows all of it", async () => {
    const { wrapWords } = await import("../src/canvas.js");
    const ctx = { measureText: (t) => ({ width: t.length * 7 }) };
    const line = "Type p = malloc(24) in the console below, or press malloc.";
    const parts = wrapWords(ctx, line, 200);
    expect(parts.length).toBeGreaterThan(1);
    for (const p of parts) expect(p.length * 7).toBeLessThanOrEqual(200);
    expect(parts.join(" ")).toBe(line);
    expect(wrapWords(ctx, line, 10_000)).toEqual([line]);
    // A word wider than the width stays whole, on a line of its own.
    expect(wrapWords(ctx, "a verylongword b", 35)).toEqual(["a", "verylongword", "b"]);
  });

  test("a label too wide is cut with an ellipsis, or dropped when one character would be left", async () => {
    const { ellipsize } = await import("../src/canvas.js");
    const ctx = { measureText: (t) => ({ width: t.length * 7 }) };
    expect(ellipsize(ctx, "kmalloc-64", 100)).toBe("kmalloc-64");
    const cut = ellipsize(ctx, "kmalloc-64", 49);
    expect(cut).toBe("kmallo…");
    expect(cut.length * 7).toBeLessThanOrEqual(49);
    expect(ellipsize(ctx, "kmalloc-64", 14)).toBe("");
  });
});
