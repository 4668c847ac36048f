// The block view, the playground's default picture: measured on the canvas,
// not only in the DOM. Blocks fill the map and carry labels; a malloc-lab
// trace shows blocks, not metadata; the free list is drawn (arrows) and listed
// (panel) in the core's own order; step mode keeps the answer back until the
// animation reaches it.
import { existsSync, readFileSync } from "node:fs";
import { resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { test, expect, openPlayground } from "./fixtures.js";
import { run, settled, usedRows } from "./helpers.js";

test.use({ viewport: { width: 1280, height: 800 } });

const TRACES = resolve(dirname(fileURLToPath(import.meta.url)), "../../../shared/traces/malloclab");

/** Canvas pixels by colour class: live block colours vs everything drawn (not the background). */
async function coverage(page) {
  return page.evaluate(() => {
    const { map } = window.heaplabDebug;
    map.draw();
    const canvas = document.querySelector("#heap-map");
    const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
    const rgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
    const colors = map.lastDrawColors;
    const live = ["header", "payload", "padding"].map((k) => rgb(colors[k]));
    const meta = rgb(colors.meta);
    const bg = rgb(colors.gap);
    const same = (i, c) => data[i] === c[0] && data[i + 1] === c[1] && data[i + 2] === c[2];
    let drawn = 0;
    let used = 0;
    let metadata = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (same(i, bg)) continue;
      drawn++;
      if (live.some((c) => same(i, c))) used++;
      else if (same(i, meta)) metadata++;
    }
    return { drawn, used, metadata, blocks: map.lastDraw.blocks, labels: map.lastDraw.labels };
  });
}

test("after four small allocations the live blocks fill a fifth of the drawn map and every block is labelled", async ({ page }) => {
  await openPlayground(page);
  await run(page, "a = malloc(24)", "b = malloc(40)", "c = malloc(16)", "d = malloc(100)");
  await expect(usedRows(page)).toHaveCount(4);
  await settled(page);
  const c = await coverage(page);
  expect(c.drawn).toBeGreaterThan(0);
  expect(c.used / c.drawn, `live block pixels ${c.used} of ${c.drawn} drawn`).toBeGreaterThanOrEqual(0.2);
  for (const [name, size] of [["a", 24], ["b", 40], ["c", 16], ["d", 100]]) {
    expect(c.labels.some((l) => l.text.startsWith(`${name} ${size} B`)), `label of ${name} in ${JSON.stringify(c.labels)}`).toBe(true);
  }
  // The page map is one strip, the unused pages one band: a handful of items, not rows of them.
  const items = await page.evaluate(() => window.heaplabDebug.map.layout.count);
  expect(items).toBeLessThanOrEqual(9);
});

test("an empty heap says what to do first", async ({ page }) => {
  await openPlayground(page);
  const empty = await page.evaluate(() => {
    const { map } = window.heaplabDebug;
    map.draw();
    return map.lastDraw.empty;
  });
  expect(empty).toBe(true);
  await run(page, "p = malloc(8)");
  await settled(page);
  expect(await page.evaluate(() => (window.heaplabDebug.map.draw(), window.heaplabDebug.map.lastDraw.empty))).toBe(false);
});

test("with a malloc-lab trace loaded and played, Fit shows blocks, not metadata", async ({ page }) => {
  await openPlayground(page);
  const file = resolve(TRACES, "binary-bal.rep");
  let rep;
  if (existsSync(file)) rep = readFileSync(file);
  else {
    console.log(`(${file} is absent: using a generated trace of the same shape)`);
    const lines = ["0", "4000", "8000", "1"];
    for (let i = 0; i < 2000; i++) lines.push(`a ${i} ${i % 2 ? 448 : 64}`);
    for (let i = 1; i < 2000; i += 2) lines.push(`f ${i}`);
    lines.splice(1, 1, String(2000));
    lines.splice(2, 1, String(lines.length - 4));
    rep = Buffer.from(lines.join("\n"));
  }
  await page.setInputFiles("#trace-file", { name: "binary-bal.rep", mimeType: "text/plain", buffer: rep });
  await expect(page.locator("#timeline-label")).toContainText(/of \d+/);
  const total = await page.evaluate(() => window.heaplabDebug.timeline.length);
  await page.evaluate((n) => window.heaplabDebug.timeline.goto(Math.floor(n / 2)), total);
  await settled(page);
  await page.click("#zoom-fit");
  const c = await coverage(page);
  expect(c.blocks, "blocks drawn in the view").toBeGreaterThanOrEqual(30);
  expect(c.metadata / c.drawn, "metadata share of the drawn map").toBeLessThan(0.1);
});

/** The free list as the core reports it, the panel lists it and the map draws it. */
async function freeListViews(page) {
  return page.evaluate(() => {
    const { map, session } = window.heaplabDebug;
    map.draw();
    const core = session.freeLists().lists.map((l) => l.blocks.map(Number));
    const panel = [...document.querySelectorAll("#free-list-lists li.fl-list")].map((li) =>
      [...li.querySelectorAll(".fl-block")].map((s) => Number(s.dataset.address)),
    );
    return { order: session.freeLists().order, core, panel, links: map.lastDraw.links, freeBlocks: [...document.querySelectorAll("#block-list tbody tr[data-state=free]")].length };
  });
}

const ORDERS = ["", "address", "lifo", "fifo", "size-asc", "size-desc"];

for (const policy of ["first-fit", "next-fit", "best-fit", "worst-fit", "segregated"]) {
  test(`${policy}: the free-list panel and the arrows list the core's free blocks in its order, under each list order`, async ({ page }) => {
    await openPlayground(page);
    await page.selectOption("#opt-policy", policy);
    await run(page, ...Array.from({ length: 10 }, (_, i) => `p${i} = malloc(${16 + ((i * 37) % 90)})`), "free(p1)", "free(p7)", "free(p4)", "free(p8)", "q = malloc(20)");
    const orders = policy === "segregated" ? [""] : ORDERS;
    if (policy === "segregated") await expect(page.locator("#opt-list-order")).toBeDisabled();
    const seen = new Set();
    for (const order of orders) {
      if (policy !== "segregated") await page.selectOption("#opt-list-order", order);
      await settled(page);
      const v = await freeListViews(page);
      expect(v.order, `order reported for "${order}"`).toBe(order || (policy === "segregated" ? "size-class" : policy.endsWith("best-fit") || policy === "worst-fit" ? "size-asc" : "address"));
      const flat = v.core.flat();
      expect(flat.length).toBeGreaterThanOrEqual(3);
      expect(flat.length).toBe(v.freeBlocks);
      // The panel shows each non-empty list in the core's order.
      expect(v.panel).toEqual(v.core.filter((l) => l.length));
      // Every arrow joins two neighbours of one list, in list order, and every such pair has its arrow.
      expect(v.links).toEqual(v.core.flatMap((l) => l.slice(1).map((b, i) => [l[i], b])));
      seen.add(flat.join(","));
    }
    // The order is real: the same frees give lists in different orders.
    if (policy !== "segregated") expect(seen.size).toBeGreaterThan(1);
  });
}

test("step mode keeps the return value, the stats and the table back until the animation reaches the result", async ({ page }) => {
  await openPlayground(page);
  await run(page, "a = malloc(24)", "b = malloc(40)", "c = malloc(16)", "free(b)");
  await settled(page);
  await page.check("#step-mode");
  await page.selectOption("#step-speed", "1600");
  const opsBefore = await page.locator("#stats").textContent();
  await run(page, "d = malloc(60)");
  await expect(page.locator("body")).toHaveAttribute("data-step-held", "true");
  const log = page.locator("#console-log");
  await expect(log).not.toContainText("d = malloc(60) returned");
  await expect(page.locator("#message")).not.toContainText("malloc(60) returned");
  expect(await page.locator("#stats").textContent()).toBe(opsBefore);
  await expect(page.locator('#block-list tbody tr[data-state=used]')).toHaveCount(2);
  // The highlight is at block scale: the examined block's box, not a strip.
  const markWidth = () =>
    page.evaluate(() => {
      const { map } = window.heaplabDebug;
      const m = map.marks.at(-1);
      const r = m && map.layout.rects(m.start, m.end)[0];
      return r ? r.w : 0;
    });
  await expect.poll(markWidth, { timeout: 10_000 }).toBeGreaterThanOrEqual(40);
  await expect(log).not.toContainText("d = malloc(60) returned");
  await page.click("#step-skip");
  await expect(log).toContainText("d = malloc(60) returned");
  await expect(page.locator("body")).toHaveAttribute("data-step-held", "false");
  await expect(page.locator('#block-list tbody tr[data-state=used]')).toHaveCount(3);
});

test("caption, map and step controls fit in one 1280x800 screen", async ({ page }) => {
  await openPlayground(page);
  await run(page, "a = malloc(24)", "b = malloc(40)");
  await page.check("#step-mode");
  await page.selectOption("#step-speed", "1600");
  await run(page, "c = malloc(16)");
  await page.evaluate(() => document.querySelector("section.steps").scrollIntoView({ block: "start" }));
  const boxes = await page.evaluate(() =>
    ["#step-caption", "#map-scroller", "#step-next", "#step-skip"].map((s) => {
      const r = document.querySelector(s).getBoundingClientRect();
      return { s, top: r.top, bottom: r.bottom };
    }),
  );
  for (const b of boxes) {
    expect(b.top, `${b.s} top`).toBeGreaterThanOrEqual(-1);
    expect(b.bottom, `${b.s} bottom`).toBeLessThanOrEqual(800);
  }
});

test("the map follows the action: the last block comes into view, and zooming keeps it there", async ({ page }) => {
  await openPlayground(page);
  await page.evaluate(() => {
    const { session } = window.heaplabDebug;
    for (let i = 0; i < 300; i++) session.malloc(24 + (i % 7) * 40);
  });
  await run(page, "last = malloc(200)");
  await settled(page);
  const inView = () =>
    page.evaluate(() => {
      const { map, session } = window.heaplabDebug;
      map.draw();
      const payload = session.addressOf(session.names.get("last"));
      const y = map.layout.yOf(payload);
      return y !== null && y >= map.top && y + map.layout.boxHeight <= map.top + map.viewHeight;
    });
  await expect.poll(inView).toBe(true);
  expect(await page.evaluate(() => window.heaplabDebug.map.top)).toBeGreaterThan(0);
  await page.click("#zoom-in");
  await expect.poll(inView).toBe(true);
  await page.click("#zoom-out");
  await page.click("#zoom-out");
  await expect.poll(inView).toBe(true);
});
