// The policy kmalloc (issue 22, item 2): the Kernel class of the JS API with
// Heap's face, the session and console statements for the kernel calls, and
// a malloc-lab workload replayed valid under it.
import { beforeAll, describe, expect, test } from "vitest";
import { existsSync, readFileSync } from "node:fs";
import { init, Kernel, KMALLOC, BLOCK, BLOCK_FLAG, RUN } from "../src/heaplab.js";
import { createHeap } from "../src/heap-factory.js";
import { Session } from "../src/session.js";
import { runStatement } from "../src/console.js";
import { parseStatement } from "../src/statement.js";
import { parseTrace } from "../src/trace.js";
import { replay } from "../../scripts/mdriver.mjs";
import { stepFrames } from "../src/steps.js";
import { encodeWork, decodeWork } from "../src/share.js";
import { encodeOps, decodeOps } from "../src/replay.js";
import { limitChoices, shownLimit, MEMORY_LIMITS } from "../src/controls.js";
import { describeOptions, describeOp } from "../src/session.js";
import { traceText, readTraceText } from "../src/trace-files.js";

const TRACES = new URL("../../../shared/traces/malloclab/", import.meta.url);

beforeAll(async () => {
  await init();
});

const rows = (table) => {
  const out = [];
  for (let i = 0; i < table.length; i += BLOCK.COLUMNS) out.push({ address: table[i + BLOCK.ADDRESS], size: table[i + BLOCK.SIZE], flags: table[i + BLOCK.FLAGS], id: table[i + BLOCK.ID], requested: table[i + BLOCK.REQUESTED] });
  return out;
};

describe("Kernel (the JS API)", () => {
  test("the policy kmalloc makes a Kernel; malloc and free are kmalloc and kfree, with ids", () => {
    const k = createHeap({ policy: KMALLOC, maxBytes: 1 << 20 });
    expect(k).toBeInstanceOf(Kernel);
    const p = k.malloc(24);
    expect(p % 32).toBe(0); // kmalloc-32
    expect(k.idOf(p)).toBe(1);
    const big = k.malloc(5 * 4096);
    expect(k.addressOf(2)).toBe(big);
    const table = rows(k.blocks());
    expect(table.find((r) => r.address === p)).toMatchObject({ size: 32, flags: BLOCK_FLAG.USED, id: 1, requested: 24 });
    expect(table.find((r) => r.address === big)).toMatchObject({ size: 8 * 4096, flags: BLOCK_FLAG.USED | BLOCK_FLAG.LARGE, id: 2 });
    // The slab's other objects are free blocks of the same size.
    expect(table.filter((r) => r.size === 32 && !r.flags).length).toBe(k.caches().find((c) => c.name === "kmalloc-32").objectsPerSlab - 1);
    k.free(p);
    expect(k.idOf(p)).toBe(0);
    expect(() => k.free(p)).toThrow(expect.objectContaining({ code: "double-free" }));
    expect(() => k.malloc(0)).toThrow(expect.objectContaining({ code: "invalid-size" }));
    k.check();
    k.dispose();
  });

  test("cache_create, cache_alloc, cache_free; a wrong cache and an unknown cache are refused and change nothing", () => {
    const k = new Kernel({ bytes: 1 << 20 });
    const inode = k.cacheCreate("inode", 184);
    const a = k.cacheAlloc(inode);
    const b = k.cacheAlloc(inode);
    expect(b - a).toBe(184);
    expect(k.cacheOf(a)).toBe(inode);
    const m = k.kmalloc(64);
    const before = rows(k.blocks());
    expect(() => k.cacheFree(inode, m)).toThrow(expect.objectContaining({ code: "invalid-free", message: expect.stringContaining('an object of cache "kmalloc-64", not of "inode"') }));
    expect(() => k.cacheAlloc(inode + 5)).toThrow(expect.objectContaining({ code: "unknown-cache" }));
    expect(rows(k.blocks())).toEqual(before);
    k.cacheFree(inode, a);
    const slab = k.slabs().find((s) => s.cache === inode);
    expect(slab.live.slice(0, 2)).toEqual([0, 1]);
    expect(slab.list).toBe("partial");
    k.check();
    k.dispose();
  });

  test("realloc keeps the bytes, in place while the object holds them, else moved", () => {
    const k = new Kernel({ bytes: 1 << 20 });
    const p = k.malloc(20);
    k.write(p, [1, 2, 3, 4, 5]);
    expect(k.realloc(p, 30)).toBe(p); // kmalloc-32 holds 30
    const q = k.realloc(p, 100);
    expect(q).not.toBe(p);
    expect(Array.from(k.read(q, 5))).toEqual([1, 2, 3, 4, 5]);
    expect(k.idOf(q)).toBe(1);
    k.check();
    k.dispose();
  });

  test("save and restore build the same heap again", () => {
    const k = new Kernel({ bytes: 1 << 20 });
    const c = k.cacheCreate("dentry", 40);
    k.cacheAlloc(c);
    k.kmalloc(300);
    const saved = k.save();
    const table = rows(k.blocks());
    k.kmalloc(9000);
    k.kfree(k.addressOf(1));
    k.restore(saved);
    expect(rows(k.blocks())).toEqual(table);
    expect(k.nextId).toBe(3);
    k.check();
    k.dispose();
  });

  test("a malloc-lab trace replays valid under kmalloc (the driver's checks)", () => {
    const file = new URL("binary2-bal.rep", TRACES);
    const text = existsSync(file)
      ? readFileSync(file, "utf8")
      : // A small built-in workload when the shared traces are absent.
        ["20", "40", "80", "1", ...Array.from({ length: 20 }, (_, i) => `a ${i} ${8 + ((i * 97) % 5000)}`), ...Array.from({ length: 10 }, (_, i) => `f ${2 * i}`), ...Array.from({ length: 20 }, (_, i) => `a ${20 + i} ${16 + i * 300}`), ...Array.from({ length: 10 }, (_, i) => `r ${2 * i + 1} ${4000 + i}`)].join("\n");
    const trace = parseTrace(text, { name: "t" });
    const k = new Kernel({ bytes: 64 << 20 });
    const result = replay(trace, k, { check: true, align: 8 });
    expect(result.failure ?? null).toBe(null);
    expect(result.valid).toBe(true);
    expect(result.utilization).toBeGreaterThan(0.3);
    k.dispose();
  });

  test("run() replays triples and reports the failing one's index", () => {
    const k = new Kernel({ bytes: 1 << 20 });
    k.run([RUN.MALLOC, 0, 100, RUN.MALLOC, 1, 5000, RUN.FREE, 0, 0]);
    expect(k.addressOf(1)).toBe(0);
    expect(k.addressOf(2)).toBeGreaterThan(0);
    expect(() => k.run([RUN.FREE, 0, 0])).toThrow(expect.objectContaining({ index: 0, code: "invalid-free" }));
    k.dispose();
  });
});

describe("the console's kernel statements", () => {
  test("parse", () => {
    expect(parseStatement('c = cache_create("inode", 184)')).toEqual({ kind: "cache_create", target: "c", label: "inode", size: 184, align: 0 });
    expect(parseStatement('c = cache_create("buf", 100, 64);')).toMatchObject({ align: 64 });
    expect(parseStatement("o = cache_alloc(c)")).toEqual({ kind: "cache_alloc", target: "o", cache: { name: "c" } });
    expect(parseStatement("cache_free(c, o)")).toEqual({ kind: "cache_free", cache: { name: "c" }, ref: { name: "o" } });
    expect(parseStatement("k = kmalloc(8 * 8)")).toEqual({ kind: "kmalloc", target: "k", size: 64 });
    expect(parseStatement("kfree(k)")).toEqual({ kind: "kfree", ref: { name: "k" } });
    expect(parseStatement("cache_shrink(c);")).toEqual({ kind: "cache_shrink", cache: { name: "c" } });
    expect(() => parseStatement("n = cache_shrink(c)")).toThrow(/cache_shrink\(\) returns nothing to assign/);
    expect(() => parseStatement("cache_shrink()")).toThrow(/expected a cache/);
    expect(() => parseStatement("cache_create(inode, 184)")).toThrow(/the cache's name in double quotes/);
    expect(() => parseStatement("cache_free(c)")).toThrow(/expected ","/);
    expect(() => parseStatement("kfree(k) = 3")).toThrow();
    expect(() => parseStatement("x = kfree(k)")).toThrow(/returns nothing to assign/);
    expect(() => parseStatement("kmalloc = malloc(3)")).toThrow(/cannot be a variable name/);
  });

  test("run on the session: objects, caches and clear refusals that change nothing", () => {
    const s = new Session({ policy: KMALLOC, maxBytes: 1 << 20 });
    const say = (t) => runStatement(s, t);
    expect(say('c = cache_create("inode", 184)').message).toMatch(/cache 10 "inode": objects of 184 bytes, 21 per slab of 1 page/);
    const o = say("o = cache_alloc(c)");
    expect(o.ok).toBe(true);
    expect(say("k = kmalloc(64)").message).toMatch(/an object of cache kmalloc-64$/);
    expect(say("big = kmalloc(20000)").message).toMatch(/a large block straight from the buddy allocator/);
    const version = s.version;
    const trace = s.trace.length;
    const refusals = [
      ["cache_free(c, k)", "wrong-cache", /k is an object of cache 3 "kmalloc-64", not of "inode"; nothing changed/],
      ["cache_free(c, big)", "wrong-cache", /a large kmalloc block/],
      ["cache_alloc(zz)", "unknown-cache", /zz is not a variable/],
      ["cache_alloc(k)", "unknown-cache", /k names a block, not a cache/],
      ["cache_alloc(99)", "unknown-cache", /there is no cache 99/],
      ["kmalloc(0)", "invalid-size", /kmalloc\(0\) gives no object/],
      ["kmalloc(4000000000)", "invalid-size", /more than the .* bytes the buddy allocator manages/],
      ['cache_create("huge", 100000)', "invalid-size", /fits no slab/],
      ["cache_free(c, 0x10)", "invalid-free", /never returned by this heap/],
    ];
    for (const [text, code, message] of refusals) {
      const r = say(text);
      expect(r.ok, text).toBe(false);
      expect(r.code, text).toBe(code);
      expect(r.message, text).toMatch(message);
    }
    expect(s.version).toBe(version);
    expect(s.trace.length).toBe(trace);
    expect(say("kfree(k)").message).toMatch(/^kfree\(k\)/);
    expect(say("kfree(k)")).toMatchObject({ ok: false, code: "double-free" });
    expect(say("cache_free(c, o)").ok).toBe(true);
    expect(say("cache_free(c, o)")).toMatchObject({ ok: false, code: "double-free" });
    expect(say("check()").ok).toBe(true);
    s.dispose();
  });

  test("cache_shrink gives a cache's empty slabs back, says so, narrates it, and replays", () => {
    const s = new Session({ policy: KMALLOC, maxBytes: 1 << 20 });
    const say = (t) => runStatement(s, t);
    say('c = cache_create("inode", 184)');
    say("o = cache_alloc(c)");
    const version = s.version;
    expect(say("cache_shrink(c)")).toMatchObject({ ok: true, slabs: 0, message: 'cache_shrink(c): cache 10 "inode" has no empty slab (1 partial, 0 full), so nothing goes back; nothing changed' });
    expect(s.version).toBe(version);
    say("cache_free(c, o)");
    // The cache keeps one empty slab until it is shrunk.
    expect(s.heap.caches()[10].slabs).toEqual([1, 0, 0]);
    const pages = s.heap.stats().pagesInUse;
    const shrunk = say("cache_shrink(c)");
    expect(shrunk).toMatchObject({ ok: true, slabs: 1, message: 'cache_shrink(c) gave 1 empty slab of cache "inode" back to the buddy allocator: 1 page' });
    expect(s.heap.caches()[10].slabs).toEqual([0, 0, 0]);
    expect(s.heap.stats().pagesInUse).toBe(pages - 1);
    expect(s.trace.at(-1)).toEqual({ op: "cache-shrink", cache: 10 });
    const frames = stepFrames(s.heap.lastEvents(), { ...s.options, kernel: s.snapshot().kernel, call: "cache_shrink(inode)" });
    expect(frames.map((f) => f.caption)).toEqual([
      expect.stringMatching(/^cache_shrink\(inode\): the cache's empty slab at 0x[0-9a-f]+ holds pages no object uses; the cache gives it back$/),
      expect.stringMatching(/^the buddy allocator takes back the block of order 0 at 0x[0-9a-f]+$/),
      expect.stringMatching(/^the empty slab at 0x[0-9a-f]+ leaves cache "inode": its 1 page goes back to the buddy allocator$/),
    ]);
    expect(describeOp(s.trace.at(-1))).toBe("cache_shrink(cache 10)");
    // Refusals: no cache, a block, a fit's heap.
    expect(say("cache_shrink(o)")).toMatchObject({ ok: false, code: "unknown-cache" });
    expect(say("cache_shrink(77)")).toMatchObject({ ok: false, code: "unknown-cache" });
    const fit = new Session();
    expect(runStatement(fit, "cache_shrink(3)")).toMatchObject({ ok: false, code: "needs-kmalloc", message: expect.stringMatching(/^cache_shrink is a kernel heap call/) });
    fit.dispose();
    // A rebuild replays it: the same slabs after.
    expect(s.setOptions({ maxBytes: 2 << 20 }).ok).toBe(true);
    expect(s.heap.caches()[10].slabs).toEqual([0, 0, 0]);
    expect(s.trace.at(-1)).toEqual({ op: "cache-shrink", cache: 10 });
    s.dispose();
  });

  test("kernel calls under a fit are refused; switching policy replays what each heap can do", () => {
    const s = new Session();
    expect(runStatement(s, 'c = cache_create("a", 8)')).toMatchObject({ ok: false, code: "needs-kmalloc" });
    expect(runStatement(s, "k = kmalloc(8)")).toMatchObject({ ok: false, code: "needs-kmalloc" });
    runStatement(s, "p = malloc(24)");
    expect(s.setOptions({ policy: KMALLOC }).ok).toBe(true);
    runStatement(s, 'c = cache_create("inode", 184)');
    runStatement(s, "o = cache_alloc(c)");
    const o = s.addressOf(s.names.get("o"));
    // Undo-style rebuild on the same policy keeps the cache ops; a fit drops them.
    expect(s.setOptions({ maxBytes: 2 << 20 }).ok).toBe(true);
    expect(s.addressOf(s.names.get("o"))).toBeGreaterThan(0);
    expect(s.cacheNames.get("c")).toBe(10);
    const back = s.setOptions({ policy: "first-fit" });
    expect(back.failed.map((f) => f.op.op)).toEqual(["cache-create", "cache-alloc"]);
    expect(o).toBeGreaterThan(0);
    s.dispose();
  });

  test("the kernel operations survive a share link and the worker's compact form", async () => {
    const s = new Session({ policy: KMALLOC, maxBytes: 1 << 20 });
    for (const t of ['c = cache_create("inode", 184, 8)', "o = cache_alloc(c)", "k = kmalloc(64)", "cache_free(c, o)", "cache_shrink(c)"]) runStatement(s, t);
    expect(s.trace.at(-1).op).toBe("cache-shrink");
    const ops = s.trace;
    expect(decodeOps(encodeOps(ops)).map(({ name, ...op }) => op)).toEqual(ops.map(({ name, ...op }) => op));
    const work = { options: s.options, ops, at: ops.length };
    const decoded = await decodeWork(await encodeWork(work));
    expect(decoded.ops).toEqual(ops);
    s.dispose();
  });
});

describe("exporting a kmalloc session to a trace file", () => {
  test("kmalloc and kfree export as malloc and free; slab cache operations are refused with the reason, in both formats", () => {
    const s = new Session({ policy: KMALLOC, maxBytes: 1 << 20 });
    runStatement(s, "k = kmalloc(64)");
    runStatement(s, "big = kmalloc(20000)");
    runStatement(s, "kfree(k)");
    const rep = traceText(s.trace, s.options, "rep");
    expect(rep).toBe("2\n3\na 0 64\na 1 20000\nf 0\n");
    expect(readTraceText(traceText(s.trace, s.options, "json")).options.policy).toBe(KMALLOC);
    runStatement(s, 'c = cache_create("inode", 184)');
    runStatement(s, "o = cache_alloc(c)");
    for (const format of ["rep", "json"]) {
      let error = null;
      try {
        traceText(s.trace, s.options, format);
      } catch (e) {
        error = e;
      }
      expect(error?.code, format).toBe("cache-ops");
      expect(error.message).toMatch(format === "rep" ? /^A malloc-lab \.rep trace has malloc, realloc and free only/ : /^A Heaplab JSON trace has malloc, realloc and free only/);
      expect(error.message).toMatch(/this session has 2 \(cache_create, cache_alloc, cache_free, cache_shrink\) that the file would lose.*Share it as a link instead/);
    }
    s.dispose();
  });
});

describe("the memory limit under kmalloc", () => {
  test("the field says 64 MiB, offers no larger limit, and shows the figure the kernel heap uses", () => {
    expect(limitChoices("first-fit")).toBe(MEMORY_LIMITS);
    const kernel = limitChoices(KMALLOC);
    expect(kernel[0]).toEqual(["", "64 MiB (default for kmalloc)"]);
    expect(kernel.slice(1).map(([bytes]) => bytes)).toEqual([64 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20]);
    expect(shownLimit({ policy: KMALLOC, maxBytes: null })).toBe("");
    expect(shownLimit({ policy: KMALLOC, maxBytes: 1 << 30 })).toBe("");
    expect(shownLimit({ policy: KMALLOC, maxBytes: 1 << 20 })).toBe(String(1 << 20));
    expect(shownLimit({ policy: "best-fit", maxBytes: 1 << 30 })).toBe(String(1 << 30));
    // What the field shows is what the heap manages.
    for (const [maxBytes, bytes] of [[null, 64 << 20], [1 << 30, 64 << 20], [1 << 20, 1 << 20]]) {
      const s = new Session({ policy: KMALLOC, maxBytes });
      expect(s.heap.options.bytes).toBe(bytes);
      expect(describeOptions(s.options)).toMatch(bytes === 64 << 20 ? /64 MiB of pages$/ : /limit 1024 KiB$/);
      s.dispose();
    }
  });
});

describe("step mode narrates the kernel heap", () => {
  test("a first kmalloc: the cache, the buddy split, the new slab, the object", () => {
    const k = new Kernel({ bytes: 256 * 1024 });
    // 63 pages managed (32 + 16 + … + 1): the first slab takes the lone page, the second needs a split.
    k.kmalloc(128);
    const p = k.kmalloc(64);
    const frames = stepFrames(k.lastEvents(), { policy: KMALLOC, kernel: k.picture() });
    const text = frames.map((f) => f.caption).join("\n");
    expect(text).toMatch(/64 bytes: an object of cache "kmalloc-64"/);
    expect(text).toMatch(/splits the free block of order \d+ at 0x[0-9a-f]+ into two/);
    expect(text).toMatch(/new slab for cache "kmalloc-64": 1 page from the buddy allocator \(order 0\)/);
    expect(text).toContain(`the new slab: the object at 0x${p.toString(16)}`);
    const again = k.kmalloc(64);
    const second = stepFrames(k.lastEvents(), { policy: KMALLOC, kernel: k.picture(), call: "kmalloc(64)" }).map((f) => f.caption).join("\n");
    expect(second).toMatch(/^kmalloc\(64\): an object of cache "kmalloc-64"/);
    expect(second).toMatch(new RegExp(`from cache "kmalloc-64", a partial slab at 0x[0-9a-f]+: the object at 0x${again.toString(16)}`));
    k.kfree(p);
    k.kfree(again);
    k.dispose();
  });
});

describe("the kernel view's geometry and colours", () => {
  test("every legend colour exists in both themes; the allocator's own bytes are not the header's colour", async () => {
    const { PALETTES } = await import("../src/theme.js");
    const { KERNEL_LEGEND } = await import("../src/kernel-view.js");
    const { PRODUCTION_LEGEND } = await import("../src/heap-map.js");
    for (const [key] of [...KERNEL_LEGEND, ...PRODUCTION_LEGEND]) {
      for (const theme of ["light", "dark"]) expect(PALETTES[theme][key], `${theme} ${key}`).toMatch(/^#[0-9A-F]{6}$/i);
    }
    for (const theme of ["light", "dark"]) expect(PALETTES[theme].allocator).not.toBe(PALETTES[theme].header);
  });

  test("a row per buddy block; points on an object cell find that object, and its rectangle is inside its row", async () => {
    const { computeKernelLayout } = await import("../src/kernel-view.js");
    const k = new Kernel({ bytes: 256 * 1024 });
    const inode = k.cacheCreate("inode", 184);
    const objects = [k.cacheAlloc(inode), k.cacheAlloc(inode)];
    const big = k.kmalloc(9000);
    const layout = computeKernelLayout({ kernel: k.picture() }, { width: 800 });
    const kinds = layout.rows.map((r) => r.kind);
    expect(kinds.filter((x) => x === "slab")).toHaveLength(1);
    expect(kinds.filter((x) => x === "large")).toHaveLength(1);
    // Free buddy blocks side by side share a row: no two free rows follow each other.
    expect(kinds.some((x, i) => x === "free" && kinds[i + 1] === "free")).toBe(false);
    for (const a of [...objects, big]) {
      const [r] = layout.rects(a);
      expect(layout.addressAt(r.x + r.w / 2, r.y + r.h / 2)).toBe(a);
    }
    const slab = layout.rows.find((r) => r.kind === "slab");
    expect(slab.cells.filter((c) => c.live).map((c) => c.address)).toEqual(objects);
    expect(slab.cells.filter((c) => !c.header)).toHaveLength(21);
    k.dispose();
  });
});
