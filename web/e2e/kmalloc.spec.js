// The kernel heap in the playground (policy kmalloc): chosen from the policy
// list, driven from the console (caches, objects, kmalloc), drawn as buddy
// blocks, slabs and objects with a legend; bad calls refused in the page;
// a malloc-lab trace and a built-in workload replayed valid; step mode
// narrates; the two kernel lessons acted and checked.
import { existsSync, readFileSync } from "node:fs";
import { test, expect, openPlayground } from "./fixtures.js";
import { run, settled, message } from "./helpers.js";

// random-bal.rep: 4,800 operations whose blocks, rounded up to powers of two, need more than 16 MiB of pages.
const TRACE = new URL("../../../shared/traces/malloclab/random-bal.rep", import.meta.url);

/** Chooses a policy through the options form (folded away on narrow screens: set and announced as the form does). */
async function choosePolicy(page, policy) {
  await page.locator("#opt-policy").evaluate((select, value) => {
    select.value = value;
    select.dispatchEvent(new Event("change"));
  }, policy);
  await expect.poll(() => page.evaluate(() => window.heaplabDebug.session.options.policy)).toBe(policy);
}

/** The rows the kernel view drew (kind and caption), from the map's layout. */
const drawnRows = (page) =>
  page.evaluate(() => {
    const { map } = window.heaplabDebug;
    map.draw();
    return { view: map.layout.view, rows: map.layout.rows.map((r) => ({ kind: r.kind, caption: r.caption.join(" · "), cells: r.cells?.filter((c) => !c.header && !c.free).map((c) => c.live) ?? [] })) };
  });

test("kmalloc in the playground: caches and objects from the console, slabs drawn with their legend, bad calls refused", async ({ page }) => {
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await openPlayground(page);
  await expect(page.locator('#opt-policy optgroup[label="Kernel heap (Heaplab)"] option')).toHaveText(["kmalloc (slab caches + buddy pages)"]);
  await expect(page.locator("#opt-limit option:checked")).toHaveText("256 MiB (default)");
  await page.selectOption("#opt-policy", "kmalloc");
  await expect(page.locator("#opt-align")).toBeDisabled();
  // The memory limit says what the kernel heap manages: 64 MiB, and offers nothing larger.
  await expect(page.locator("#opt-limit option:checked")).toHaveText("64 MiB (default for kmalloc)");
  await expect(page.locator("#opt-limit option")).toHaveText(["64 MiB (default for kmalloc)", "64 KiB", "256 KiB", "1 MiB", "4 MiB", "16 MiB"]);
  await run(page, 'c = cache_create("inode", 184)', "o = cache_alloc(c)", "o2 = cache_alloc(c)", "k = kmalloc(64)", "big = kmalloc(20000)");
  await expect(page.locator("#console-log")).toContainText('made cache 10 "inode": objects of 184 bytes, 21 per slab of 1 page');
  await expect(page.locator("#console-log")).toContainText("an object of cache kmalloc-64");
  await expect(page.locator("#console-log")).toContainText("a large block straight from the buddy allocator");
  await settled(page);

  const { view, rows } = await drawnRows(page);
  expect(view).toBe("kernel");
  const inode = rows.find((r) => r.kind === "slab" && r.caption.includes('slab of "inode"'));
  expect(inode.caption).toContain("partial · 2/21 objects in use · 184 B objects");
  expect(inode.cells.filter(Boolean)).toHaveLength(2);
  expect(inode.cells).toHaveLength(21);
  expect(rows.find((r) => r.kind === "slab" && r.caption.includes('slab of "kmalloc-64"')).cells.filter(Boolean)).toHaveLength(1);
  expect(rows.filter((r) => r.kind === "large")).toHaveLength(1);
  expect(rows.some((r) => r.kind === "free")).toBe(true);
  // A legend entry for each colour the kernel view uses.
  const legend = await page.locator("#legend .swatch").evaluateAll((s) => s.map((x) => x.dataset.color));
  expect(legend).toEqual(["freeBlock", "slabHeader", "payload", "freeObject", "slabWaste", "large", "meta"]);
  await expect(page.locator("#legend")).toContainText("slab header");
  await expect(page.locator("#legend")).toContainText("large kmalloc block");
  await expect(page.locator('#stats [data-stat="slabs"]')).toHaveText("0 / 2 / 0 (2 pages)");
  // The address map has its own legend under kmalloc (objects have no boundary tags).
  await page.check('input[name="map-view"][value="address"]');
  await expect(page.locator("#legend")).toContainText("free object, free buddy block, or a slab's header");
  await expect(page.locator("#legend")).not.toContainText("boundary tags");
  await page.check('input[name="map-view"][value="blocks"]');
  await expect(page.locator("#legend")).toContainText("slab header");

  // Bad input: a clear message in the page, nothing changed.
  const version = await page.evaluate(() => window.heaplabDebug.session.version);
  for (const [statement, text] of [
    ["cache_free(c, k)", 'k is an object of cache 3 "kmalloc-64", not of "inode"; nothing changed'],
    ["kmalloc(0)", "kmalloc(0) gives no object"],
    ["kmalloc(999999999)", "more than the"],
    ["cache_alloc(nope)", "nope is not a variable"],
    ["cache_alloc(42)", "there is no cache 42"],
  ]) {
    await run(page, statement);
    await expect(message(page)).toContainText(text);
    await expect(message(page)).toHaveClass(/error/);
  }
  await run(page, "kfree(k)", "kfree(k)");
  await expect(message(page)).toContainText("double kfree of k");
  expect(await page.evaluate(() => window.heaplabDebug.session.version)).toBe(version + 1);
  await run(page, "check()");
  await expect(message(page)).toContainText("check() passed");
  // cache_shrink: an emptied slab stays with its cache until the cache is shrunk.
  await run(page, "cache_shrink(c)");
  await expect(message(page)).toContainText('cache_shrink(c): cache 10 "inode" has no empty slab (1 partial, 0 full), so nothing goes back; nothing changed');
  await run(page, "cache_free(c, o)", "cache_free(c, o2)");
  await run(page, "cache_shrink(c)");
  await expect(message(page)).toContainText('cache_shrink(c) gave 1 empty slab of cache "inode" back to the buddy allocator: 1 page');
  await expect(page.locator("#console-log")).toContainText("cache_shrink(c) gave 1 empty slab");
  await run(page, "cache_shrink(k)");
  await expect(message(page)).toContainText("k names a block, not a cache");
  // A trace file has no cache operations: the export says so instead of losing them.
  let downloads = 0;
  page.on("download", () => downloads++);
  await page.click("#export-rep");
  await expect(message(page)).toContainText("could not export: A malloc-lab .rep trace has malloc, realloc and free only, no slab cache operations");
  await expect(message(page)).toHaveClass(/error/);
  await page.click("#export-json");
  await expect(message(page)).toContainText("could not export: A Heaplab JSON trace has malloc, realloc and free only");
  expect(downloads).toBe(0);

  // The production allocators' own bytes have their legend item.
  await page.selectOption("#opt-policy", "talc");
  await expect(page.locator('#legend .swatch[data-color="allocator"]')).toHaveCount(1);
  await expect(page.locator("#legend")).toContainText("the allocator's own bytes");
  expect(errors).toEqual([]);
});

test("step mode narrates a kmalloc: the cache, the new slab from the buddy allocator, the object", async ({ page }) => {
  await openPlayground(page);
  await page.selectOption("#opt-policy", "kmalloc");
  await page.check("#step-mode");
  await run(page, "k = kmalloc(64)");
  const captions = [];
  for (let i = 0; i < 12; i++) {
    captions.push(await page.locator("#step-caption").textContent());
    if ((await page.locator("body").getAttribute("data-step-held")) !== "true") break;
    await page.click("#step-next");
  }
  const text = captions.join("\n");
  expect(text).toContain('kmalloc(64): an object of cache "kmalloc-64"');
  expect(text).toMatch(/new slab for cache "kmalloc-64": 1 page from the buddy allocator \(order 0\)/);
  expect(text).toMatch(/from cache "kmalloc-64", the new slab: the object at 0x[0-9a-f]+/);
});

test("a malloc-lab trace and a built-in workload replay valid under kmalloc", async ({ page }) => {
  await openPlayground(page);
  await page.selectOption("#opt-policy", "kmalloc");
  let rep;
  if (existsSync(TRACE)) rep = readFileSync(TRACE);
  else {
    console.log(`(${TRACE.pathname} is absent: replaying a small generated trace instead)`);
    const ops = [];
    for (let i = 0; i < 40; i++) ops.push(`a ${i} ${8 + ((i * 211) % 9000)}`);
    for (let i = 0; i < 40; i += 2) ops.push(`f ${i}`);
    rep = Buffer.from(["0", "40", String(ops.length), "1", ...ops].join("\n"));
  }
  await page.setInputFiles("#trace-file", { name: "trace.rep", mimeType: "text/plain", buffer: rep });
  await expect(page.locator("#timeline-label")).toContainText(/of \d+/);
  const replayed = await page.evaluate(() => {
    const { timeline, session } = window.heaplabDebug;
    timeline.goto(timeline.length);
    session.heap.check();
    return { at: timeline.at, length: timeline.length, policy: session.options.policy, live: session.live().size, check: session.check().ok };
  });
  expect(replayed.policy).toBe("kmalloc");
  // Every operation of the trace replayed (its a, f and r lines): none dropped as failed.
  expect(replayed.length).toBe(rep.toString().split("\n").filter((line) => /^[afr] /.test(line)).length);
  expect(replayed.at).toBe(replayed.length);
  expect(replayed.check).toBe(true);

  await page.selectOption("#workload", "random");
  await page.click("#workload-load");
  await expect(message(page)).toContainText("Loaded the");
  const workload = await page.evaluate(() => {
    const { timeline, session } = window.heaplabDebug;
    timeline.goto(timeline.length);
    // Back in time and forward again: the same heap (restore replays the kernel's operations).
    const at = timeline.length;
    const blocks = Array.from(session.snapshot().blocks);
    timeline.goto(Math.floor(at / 2));
    timeline.goto(at);
    return { policy: session.options.policy, ok: session.check().ok, same: JSON.stringify(blocks) === JSON.stringify(Array.from(session.snapshot().blocks)), length: at };
  });
  expect(workload).toMatchObject({ policy: "kmalloc", ok: true, same: true });
  expect(workload.length).toBeGreaterThan(10);
  const { rows } = await drawnRows(page);
  expect(rows.filter((r) => r.kind === "slab").length).toBeGreaterThan(0);
});

async function openLesson(page, id) {
  await page.goto(`learn.html#${id}`);
  await expect(page.locator("body")).toHaveAttribute("data-ready", "true");
}

test("the buddy system lesson: predict the block split, then the XOR answer checked, a wrong answer explained", async ({ page }) => {
  await openLesson(page, "buddy");
  await expect(page.locator("#lesson-title")).toHaveText("The buddy system");
  await page.click("#check-lesson");
  await expect(page.locator("#lesson-result")).toContainText("Allocate b first");
  // The free block of order 4, the smallest one that holds 2^3 pages, is the one to split.
  const order4 = await page.evaluate(() => window.heaplabDebug.session.snapshot().kernel.blocks.find((b) => b.free && b.order === 4).address);
  await run(page, "b = kmalloc(20000)");
  await expect(page.locator("body")).toHaveAttribute("data-predict", "waiting");
  const point = await page.evaluate((address) => {
    const { map } = window.heaplabDebug;
    map.draw();
    const r = map.layout.rects(address)[0];
    map.els.scroller.scrollTop = Math.max(0, r.y - 40);
    map.draw();
    return { x: r.x + r.w / 2, y: r.y - map.top + r.h / 2 };
  }, order4);
  await page.locator("#heap-map").click({ position: point });
  await expect(page.locator("body")).toHaveAttribute("data-predict", "right");
  // Then the split animates: skip to its end.
  await page.locator(".step-skip").click();
  const { b, base } = await page.evaluate(() => {
    const { session } = window.heaplabDebug;
    return { b: session.addressOf(session.names.get("b")), base: session.snapshot().kernel.blocks[0].address };
  });
  expect(b).toBe(order4);
  await page.fill("#lesson-answer", `0x${(b + 20000).toString(16)}`);
  await page.click("#check-lesson");
  await expect(page.locator("#lesson-result")).toContainText("not its buddy");
  await page.fill("#lesson-answer", `0x${(base + ((b - base) ^ 32768)).toString(16)}`);
  await page.click("#check-lesson");
  await expect(page.locator("#lesson-result")).toContainText("the other half of the order-4 block that was split for b");
  await expect(page.locator("#lesson-result")).toContainText("internal fragmentation");
  await expect(page.locator('#lesson-list li[data-lesson="buddy"]')).toHaveAttribute("data-done", "true");
});

test("the slab caches lesson: predict where cache_alloc lands by clicking the free object, then the answer checked", async ({ page }) => {
  await openLesson(page, "slab");
  await expect(page.locator("#lesson-title")).toHaveText("Slab caches");
  // i5 was freed: its place is i4's + one object.
  const hole = await page.evaluate(() => {
    const { session } = window.heaplabDebug;
    return session.addressOf(session.names.get("i4")) + 184;
  });
  await run(page, "o = cache_alloc(c)");
  await expect(page.locator("body")).toHaveAttribute("data-predict", "waiting");
  // Click the free object cell on the map (the heap as it was before the call).
  const point = await page.evaluate((address) => {
    const { map } = window.heaplabDebug;
    map.draw();
    const r = map.layout.rects(address)[0];
    const scroller = map.els.scroller;
    scroller.scrollTop = Math.max(0, r.y - 40);
    map.draw();
    return { x: r.x + r.w / 2, y: r.y - map.top + r.h / 2 };
  }, hole);
  await page.locator("#heap-map").click({ position: point });
  await expect(page.locator("body")).toHaveAttribute("data-predict", "right");
  await expect(page.locator(".predict-score")).toContainText("1 of 1 right");
  const o = await page.evaluate(() => {
    const { session } = window.heaplabDebug;
    return session.addressOf(session.names.get("o"));
  });
  expect(o).toBe(hole);
  await page.fill("#lesson-answer", `0x${(o + 184).toString(16)}`);
  await page.click("#check-lesson");
  await expect(page.locator("#lesson-result")).toContainText("is not o's address");
  await page.fill("#lesson-answer", `0x${o.toString(16)}`);
  await page.click("#check-lesson");
  await expect(page.locator("#lesson-result")).toContainText("a partial slab is served first");
  await expect(page.locator('#lesson-list li[data-lesson="slab"]')).toHaveAttribute("data-done", "true");
});

test("compare: kmalloc beside first fit on a malloc-lab trace, its map drawn as the kernel view", async ({ page }) => {
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto("compare.html");
  await expect(page.locator("body")).toHaveAttribute("data-ready", "true");
  // random-bal.rep needs more than 16 MiB of pages under kmalloc (its blocks rounded up to powers of two).
  const file = new URL("../../../shared/traces/malloclab/random-bal.rep", import.meta.url);
  if (existsSync(file)) await page.setInputFiles("#trace-file", { name: "random-bal.rep", mimeType: "text/plain", buffer: readFileSync(file) });
  else console.log(`(${file.pathname} is absent: comparing on the built-in workload)`);
  for (const p of ["next-fit", "best-fit", "worst-fit", "segregated"]) await page.uncheck(`#policy-${p}`);
  await page.check("#policy-kmalloc");
  await page.click("#compare-button");
  await expect(page.locator("body")).toHaveAttribute("data-compared", "true", { timeout: 60_000 });
  const row = page.locator('#results tbody tr[data-policy="kmalloc"]');
  await expect(row).toHaveCount(1);
  const utilization = parseFloat(await row.locator('[data-key="utilization"]').textContent());
  expect(utilization).toBeGreaterThan(10);
  const card = page.locator('.map-card[data-policy="kmalloc"]');
  await expect(card).toHaveAttribute("data-blocks-drawn", /^[1-9]\d*$/);
  expect(errors).toEqual([]);
});
