// The playground's actions: allocate, select by a click (on the map or in the
// table) and free by a double click, by key and by id, calloc,
// realloc, reset, options that replay, and errors shown, never thrown.
import { test, expect, openPlayground } from "./fixtures.js";
import { allocate, usedRows, message, run, settled, pointOf } from "./helpers.js";

test("allocate three blocks; a click selects the middle one, a double click frees it", async ({ page }, testInfo) => {
  await openPlayground(page);
  const canvas = page.locator("#heap-map");
  const before = await canvas.screenshot();

  await allocate(page, 100, { name: "a" });
  await allocate(page, 200, { name: "b" });
  await allocate(page, 300);
  await expect(usedRows(page)).toHaveCount(3);
  expect(await usedRows(page).locator("td:nth-child(4)").allTextContents()).toEqual(["100", "200", "300"]);
  expect(await usedRows(page).locator("td:nth-child(8)").allTextContents()).toEqual(["a", "b", ""]);
  await settled(page);
  const afterAlloc = await canvas.screenshot();
  expect(afterAlloc.equals(before), "the map changed after allocating").toBe(false);

  const payload = Number(await usedRows(page).nth(1).getAttribute("data-payload"));
  const point = await pointOf(page, payload + 16);
  await canvas.click({ position: point });
  await expect(page.locator("#selection")).toContainText("b (#2)");
  await expect(usedRows(page)).toHaveCount(3);
  await canvas.dblclick({ position: point });
  await expect(message(page)).toContainText("free(b)");
  await expect(usedRows(page)).toHaveCount(2);
  expect(await usedRows(page).locator("td:nth-child(4)").allTextContents()).toEqual(["100", "300"]);
  const states = await page.locator("#block-list tbody tr").evaluateAll((trs) => trs.map((tr) => tr.dataset.state));
  expect(states.slice(0, 3)).toEqual(["used", "free", "used"]);
  await settled(page);
  const afterFree = await canvas.screenshot();
  expect(afterFree.equals(afterAlloc), "the map changed after freeing").toBe(false);

  // A little story for the screenshot: a named block selected, its hex view shown.
  await run(page, "p = malloc(24)", 'strcpy(p, "hello, heap")', "q = calloc(4, 8)");
  const p = Number(await page.locator('#block-list tbody tr[data-id="4"]').getAttribute("data-payload"));
  // From the table of blocks: a click on a row selects its block.
  await page.locator('#block-list tbody tr[data-id="4"]').click();
  await expect(page.locator("#selection")).toContainText("p (#4)");
  await page.locator("#block-list tbody tr[data-state=free]").first().click();
  await expect(page.locator("#selection")).not.toContainText("p (#4)");
  // A click on the map selects.
  await canvas.click({ position: await pointOf(page, p) });
  await expect(page.locator("#selection")).toContainText("p (#4)");
  await expect(usedRows(page)).toHaveCount(4);
  await expect(page.locator("#hex-view")).toContainText("68 65 6c 6c 6f".split(" ")[0]);
  await run(page, "arr = calloc(16, 8)", "node = malloc(48)", "free(a)");
  await settled(page);
  await page.check("#view-address");
  await page.click("#zoom-in");
  await page.click("#zoom-in");
  await expect(page.locator("#zoom-label")).toContainText("256 B per row");
  await page.evaluate((a) => {
    window.heaplabDebug.pointOf(a);
    document.querySelector("#map-scroller").scrollTop -= 120;
  }, p);
  await page.mouse.move(0, 0);
  await page.screenshot({ path: testInfo.outputPath("playground.png"), fullPage: true });
});

test("calloc, realloc and free by id or name; reset empties the heap", async ({ page }) => {
  await openPlayground(page);
  await page.fill("#calloc-count", "4");
  await page.fill("#calloc-size", "8");
  await page.click("#calloc-button");
  await expect(message(page)).toContainText("calloc(4, 8) returned");
  await expect(usedRows(page)).toHaveCount(1);
  await expect(usedRows(page).first().locator("td:nth-child(4)")).toHaveText("32");

  await page.fill("#realloc-ref", "#1");
  await page.fill("#realloc-size", "500");
  await page.click("#realloc-button");
  await expect(message(page)).toContainText("realloc(#1, 500) returned");
  await expect(usedRows(page).first().locator("td:nth-child(4)")).toHaveText("500");
  await expect(usedRows(page).first().locator("td:nth-child(7)")).toHaveText("#1");

  await allocate(page, 64, { name: "x" });
  await page.fill("#free-ref", "x");
  await page.click("#free-button");
  await expect(message(page)).toContainText("free(x)");
  await page.fill("#free-ref", "#1");
  await page.click("#free-button");
  await expect(usedRows(page)).toHaveCount(0);

  await allocate(page, 10);
  await page.click("#reset-button");
  await expect(message(page)).toContainText("Heap reset");
  await expect(usedRows(page)).toHaveCount(0);
});

test("alignment: an aligned allocation's payload is aligned", async ({ page }) => {
  await openPlayground(page);
  await allocate(page, 10, { align: "256" });
  const payload = Number(await usedRows(page).first().getAttribute("data-payload"));
  expect(payload % 256).toBe(0);
});

test("changing an option rebuilds the heap by replaying, with the same ids", async ({ page }) => {
  await openPlayground(page);
  await run(page, "a = malloc(100)", "b = malloc(40)", "c = malloc(300)", "free(a)", "d = malloc(30)");
  await settled(page);
  const ids = async () => (await usedRows(page).locator("td:nth-child(7)").allTextContents()).sort();
  const before = await ids();
  expect(before).toEqual(["#2", "#3", "#4"]);
  const heapBefore = await page.evaluate(() => window.heaplabDebug.heap);

  for (const policy of ["next-fit", "best-fit", "worst-fit", "segregated", "first-fit"]) {
    await page.selectOption("#opt-policy", policy);
    await expect(message(page)).toContainText(`Rebuilt the heap (${policy}`);
    await expect(message(page)).toContainText("replaying 5 operations");
    await settled(page);
    expect(await ids()).toEqual(before);
  }
  await page.selectOption("#opt-align", "16");
  await expect(message(page)).toContainText("align 16");
  await settled(page);
  for (const p of await usedRows(page).evaluateAll((trs) => trs.map((tr) => Number(tr.dataset.payload)))) expect(p % 16).toBe(0);
  await page.selectOption("#opt-coalesce", "deferred");
  await expect(message(page)).toContainText("deferred coalescing");
  await page.fill("#opt-split", "64");
  await page.press("#opt-split", "Enter");
  await expect(message(page)).toContainText("split minimum 64");
  await page.selectOption("#opt-limit", String(1024 * 1024));
  await expect(message(page)).toContainText("limit 1024 KiB");
  await settled(page);
  expect(await ids()).toEqual(before);
  expect(await page.evaluate(() => window.heaplabDebug.session.options)).toMatchObject({ policy: "first-fit", align: 16, coalesce: "deferred", splitMin: 64, maxBytes: 1048576 });
  expect(await page.evaluate((h) => window.heaplabDebug.heap !== h, heapBefore)).toBe(true);
  await expect(page.locator("#block-list")).toContainText("d");

  // A bad option is refused and the form shows what is in force.
  await page.fill("#opt-split", "99999");
  await page.press("#opt-split", "Enter");
  await expect(message(page)).toHaveClass(/error/);
  await expect(message(page)).toContainText("invalid-option");
  await expect(page.locator("#opt-split")).toHaveValue("64");
});

test("errors show a message and change nothing: bad input, bad free, out of memory", async ({ page }) => {
  await openPlayground(page);
  await allocate(page, 64);
  const rows = await page.locator("#block-list tbody").innerText();
  const expectError = async (text) => {
    await expect(message(page)).toHaveClass(/error/);
    await expect(message(page)).toContainText(text);
    await settled(page);
    expect(await page.locator("#block-list tbody").innerText()).toEqual(rows);
  };
  await page.fill("#alloc-size", "-5");
  await page.click("#alloc-button");
  await expectError("invalid-size");

  await page.fill("#alloc-size", "");
  await page.click("#alloc-button");
  await expectError("invalid-size");

  await page.fill("#alloc-name", "9lives");
  await page.fill("#alloc-size", "8");
  await page.click("#alloc-button");
  await expectError("not a variable name");
  await page.fill("#alloc-name", "");

  await page.fill("#free-ref", "#42");
  await page.click("#free-button");
  await expectError("there is no block #42");
  await page.fill("#free-ref", "0x10");
  await page.click("#free-button");
  await expectError("invalid-free");
  await page.fill("#realloc-ref", "nosuch");
  await page.click("#realloc-button");
  await expectError("nosuch is not a variable");

  await page.fill("#free-ref", "#1");
  await page.click("#free-button");
  await page.fill("#free-ref", "#1");
  await page.click("#free-button");
  await expect(message(page)).toContainText("double free of #1");

  await page.selectOption("#opt-limit", String(64 * 1024));
  await expect(message(page)).toContainText("limit 64 KiB");
  const rows2 = await page.locator("#block-list tbody").innerText();
  await page.fill("#alloc-size", "200000");
  await page.click("#alloc-button");
  await expect(message(page)).toHaveClass(/error/);
  await expect(message(page)).toContainText("out-of-memory");
  expect(await page.locator("#block-list tbody").innerText()).toEqual(rows2);
});

test("an empty playground offers an example heap: one click types eight statements into the console and the map shows blocks and a free list", async ({ page }) => {
  await openPlayground(page);
  const offer = page.locator("#example-run");
  await expect(offer).toBeVisible();
  await offer.click();
  const typed = await page.locator("#console-log .input").allTextContents();
  expect(typed).toEqual(["a = malloc(24)", "b = malloc(200)", "c = malloc(40)", "d = malloc(120)", "e = malloc(16)", "free(b)", "free(d)", "f = malloc(64)"].map((s) => `> ${s}`));
  await expect(page.locator("#console-log .error")).toHaveCount(0);
  await expect(offer).toBeHidden();
  // Five blocks in use less the two freed plus f; first fit split b's block
  // for f, so b's remainder, d and the rest of the arena are on the free list.
  await expect(usedRows(page)).toHaveCount(4);
  await expect(page.locator("#free-list")).toContainText("3 free blocks");
  await expect(page.locator("#timeline-label")).toContainText("8 of 8");
});
