// The address-exact heap map (the second view, "addresses"): zoom, virtual
// scrolling up to 64 MiB, high-DPI, window size, wasm-page boundaries,
// segment gaps, large objects, legend, tooltip, keys. The block view, the
// default, has block-view.spec.js.
import { test, expect, openPlayground } from "./fixtures.js";
import { allocate, usedRows, message, run, settled, pointOf, pixel, rgb } from "./helpers.js";

const COLORS = { header: "#0072B2", payload: "#56B4E9", padding: "#F0E442", large: "#E69F00", wasmPage: "#D55E00" };

test("the legend names every colour and the map draws them", async ({ page }) => {
  await openPlayground(page);
  await page.check("#view-address");
  await expect(page.locator("#legend li")).toHaveCount(8);
  await expect(page.locator("#legend")).toContainText("header");
  await expect(page.locator("#legend")).toContainText("64 KiB wasm page boundary");
  await allocate(page, 100);
  await settled(page);
  const payload = Number(await usedRows(page).first().getAttribute("data-payload"));
  await page.evaluate(() => window.heaplabDebug.map.setBytesPerRow(256));
  const p = await pointOf(page, payload + 50);
  expect(await pixel(page, p.x, p.y)).toEqual([...rgb(COLORS.payload), 255]);
  const h = await pointOf(page, payload - 4);
  expect(await pixel(page, h.x, h.y)).toEqual([...rgb(COLORS.header), 255]);
  const pad = await pointOf(page, payload + 102);
  expect(await pixel(page, pad.x, pad.y)).toEqual([...rgb(COLORS.padding), 255]);
});

test("zoom changes bytes per pixel; fit shows the whole heap", async ({ page }) => {
  await openPlayground(page);
  await page.check("#view-address");
  const label = page.locator("#zoom-label");
  await expect(label).toContainText("1 KiB per row");
  await page.click("#zoom-out");
  await page.click("#zoom-out");
  await expect(label).toContainText("4 KiB per row");
  await page.click("#zoom-in");
  await expect(label).toContainText("2 KiB per row");
  await page.click("#zoom-in");
  await expect(label).toContainText("1 KiB per row");
  const bpp = async () => Number((await label.textContent()).match(/([\d.]+) bytes per pixel/)[1]);
  const zoomedIn = await bpp();
  await page.click("#zoom-out");
  await page.click("#zoom-out");
  await page.click("#zoom-out");
  await expect(label).toContainText("8 KiB per row");
  expect(Math.abs((await bpp()) / (zoomedIn * 8) - 1)).toBeLessThan(0.05);
  await page.locator("#heap-map").focus();
  await page.keyboard.press("+");
  await expect(label).toContainText("4 KiB per row");
  await page.keyboard.press("-");
  await expect(label).toContainText("8 KiB per row");
  await allocate(page, 3_000_000);
  await page.click("#zoom-fit");
  const fits = await page.evaluate(() => {
    const { map } = window.heaplabDebug;
    map.draw();
    return map.layout.height <= map.viewHeight;
  });
  expect(fits).toBe(true);
});

test("a 64 MiB heap scrolls: only the visible rows are drawn, the canvas stays viewport-sized", async ({ page }) => {
  await openPlayground(page);
  await page.check("#view-address");
  await page.evaluate(() => {
    const { session } = window.heaplabDebug;
    for (let i = 0; i < 1000; i++) session.malloc(60_000);
  });
  await settled(page);
  const info = await page.evaluate(() => {
    const { map, heap } = window.heaplabDebug;
    map.draw();
    const scroller = document.querySelector("#map-scroller");
    return { heapBytes: heap.stats().heapBytes, scrollHeight: scroller.scrollHeight, clientHeight: scroller.clientHeight, layoutHeight: map.layout.height };
  });
  expect(info.heapBytes).toBeGreaterThanOrEqual(60_000_000);
  expect(info.scrollHeight).toBeGreaterThan(info.clientHeight * 10);
  expect(Math.abs(info.scrollHeight - info.layoutHeight)).toBeLessThan(2);
  const canvasBox = await page.locator("#heap-map").boundingBox();
  expect(canvasBox.height).toBeLessThanOrEqual(info.clientHeight + 1);

  // Scroll to the end: the last block is drawn there.
  await page.locator("#map-scroller").evaluate((el) => (el.scrollTop = el.scrollHeight));
  await page.waitForTimeout(100);
  const end = await page.evaluate(() => {
    const { map } = window.heaplabDebug;
    map.draw();
    return { top: map.top, bottom: map.layout.height - map.viewHeight, drawn: map.lastDraw.blocks, fills: map.lastDraw.fills };
  });
  expect(end.top).toBe(end.bottom);
  expect(end.fills).toBeGreaterThan(0);
  expect(end.drawn).toBeLessThan(200);
});

test("crisp on high-DPI screens and follows the window's size", async ({ browser }) => {
  const context = await browser.newContext({ deviceScaleFactor: 2, viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await openPlayground(page);
  await page.check("#view-address");
  const size = () => page.locator("#heap-map").evaluate((c) => ({ w: c.width, h: c.height, cw: c.clientWidth, ch: c.clientHeight }));
  const wide = await size();
  expect(wide.w).toBe(wide.cw * 2);
  expect(wide.h).toBe(wide.ch * 2);
  await page.setViewportSize({ width: 1000, height: 800 });
  await expect.poll(async () => (await size()).cw).not.toBe(wide.cw);
  const narrow = await size();
  expect(narrow.cw).toBe(await page.locator("#map-scroller").evaluate((el) => el.clientWidth));
  expect(narrow.w).toBe(narrow.cw * 2);
  expect(errors).toEqual([]);
  await context.close();
});

test("wasm-page boundaries, segment gaps and large objects are marked", async ({ page }) => {
  await openPlayground(page);
  await page.check("#view-address");
  await page.evaluate(() => window.heaplabDebug.session.malloc(200_000));
  await settled(page);
  const state = await page.evaluate(() => {
    const { map, session } = window.heaplabDebug;
    map.draw();
    return { segments: map.layout.segments.map((s) => ({ base: s.base, top: s.top, bottom: s.bottom })), large: session.snapshot().blocks[4] };
  });
  // The large object: orange payload and its state in the table.
  await expect(page.locator("#block-list tbody tr", { hasText: "large object" })).toHaveCount(1);
  const payload = Number(await page.locator("#block-list tbody tr", { hasText: "large object" }).getAttribute("data-payload"));
  const p = await pointOf(page, payload + 5000);
  expect(await pixel(page, p.x, p.y)).toEqual([...rgb(COLORS.large), 255]);
  // Every 64 KiB wasm page starts with an orange line across its row.
  const base = state.segments[0].base;
  const w = await pointOf(page, base + 65536 + 100);
  const line = await page.evaluate((y) => {
    const { map } = window.heaplabDebug;
    return map.layout.yOf(y) - map.top;
  }, base + 65536);
  expect(await pixel(page, w.x, line)).toEqual([...rgb(COLORS.wasmPage), 255]);
  // Gaps: memory grown by other code in between makes a new segment; draw its gap.
  const gap = await page.evaluate(() => {
    const { session, map } = window.heaplabDebug;
    const other = new (session.heap.constructor)();
    other.malloc(100_000); // another heap grows memory in between
    session.malloc(5_000_000);
    other.dispose();
    map.draw();
    const segs = map.layout.segments;
    return segs.length > 1 ? { top: segs[0].bottom, bottom: segs[1].top, count: segs.length } : null;
  });
  expect(gap, "a second segment after another heap grew memory").not.toBeNull();
  expect(gap.bottom - gap.top).toBeGreaterThan(10);
  await page.evaluate((y) => {
    document.querySelector("#map-scroller").scrollTop = Math.max(0, y - 100);
    window.heaplabDebug.map.draw();
  }, gap.top);
  const inGap = await page.evaluate((y) => y - window.heaplabDebug.map.top, gap.top + 3);
  const px = await pixel(page, 200, inGap + (gap.bottom - gap.top) / 2);
  expect(px.slice(0, 3)).not.toEqual(rgb(COLORS.payload));
  expect(await page.evaluate(() => window.heaplabDebug.map.layout.addressAt(200, window.heaplabDebug.map.layout.segments[0].bottom + 4))).toBeNull();
});

test("hovering a block shows its tooltip: address, sizes, header, name, state", async ({ page }) => {
  await openPlayground(page);
  await page.check("#view-address");
  await run(page, "buf = malloc(100)");
  await settled(page);
  const payload = Number(await usedRows(page).first().getAttribute("data-payload"));
  const p = await pointOf(page, payload + 20);
  await page.locator("#heap-map").hover({ position: p });
  const tip = page.locator("#tooltip");
  await expect(tip).toBeVisible();
  await expect(tip).toContainText(`0x${(payload - 8).toString(16)}`);
  await expect(tip).toContainText("Block size");
  await expect(tip).toContainText("Requested100 bytes");
  await expect(tip).toContainText("Usable payload104 bytes");
  await expect(tip).toContainText("Header8 bytes");
  await expect(tip).toContainText("buf (#1)");
  await expect(tip).toContainText("Stateused");
  await page.mouse.move(1, 1);
  await expect(tip).toBeHidden();
});

test("keyboard: focus the map, arrows move between blocks, Enter and Delete free", async ({ page }) => {
  await openPlayground(page);
  await page.check("#view-address");
  await run(page, "a = malloc(16)", "b = malloc(32)", "c = malloc(48)");
  await settled(page);
  const canvas = page.locator("#heap-map");
  await canvas.focus();
  await page.keyboard.press("ArrowRight");
  const announcer = page.locator("#map-announcer");
  await expect(announcer).toContainText("Block 1 of");
  await expect(announcer).toContainText("a (#1)");
  await expect(page.locator("#tooltip")).toContainText("a (#1)");
  await expect(page.locator("#selection")).toContainText("a (#1)");
  await expect(page.locator("#block-list tbody tr[aria-current=true]")).toContainText("a");
  await page.keyboard.press("ArrowRight");
  await expect(announcer).toContainText("b (#2)");
  await page.keyboard.press("Enter");
  await expect(message(page)).toContainText("free(b)");
  await expect(page.locator("#tooltip")).toContainText("Free block"); // the tooltip follows the change
  await expect(announcer).toContainText(": free,");
  await page.keyboard.press("ArrowRight");
  await expect(announcer).toContainText("c (#3)");
  await page.keyboard.press("ArrowLeft");
  await expect(announcer).toContainText("free");
  await page.keyboard.press("Delete");
  await expect(message(page)).toHaveClass(/error/);
  await expect(message(page)).toContainText("nothing to free");
  await page.keyboard.press("Home");
  await page.keyboard.press("Delete");
  await expect(message(page)).toContainText("free(a)");
  await expect(usedRows(page)).toHaveCount(1);
  await page.keyboard.press("ArrowDown");
  await expect(announcer).toContainText("Block");
});
