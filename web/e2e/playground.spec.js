import { test, expect, openPlayground } from "./fixtures.js";

async function allocate(page, size) {
  await page.fill("#alloc-size", String(size));
  await page.click("#alloc-button");
  await expect(page.locator("#message")).toContainText(`malloc(${size}) returned`);
}

const usedRows = (page) => page.locator("#block-list tbody tr[data-state=used]");

test("allocate three blocks, free the middle one by clicking it", async ({ page }, testInfo) => {
  await openPlayground(page);
  const canvas = page.locator("#heap-map");
  const before = await canvas.screenshot();

  await allocate(page, 100);
  await allocate(page, 200);
  await allocate(page, 300);
  await expect(usedRows(page)).toHaveCount(3);
  const requested = await usedRows(page).locator("td:nth-child(4)").allTextContents();
  expect(requested).toEqual(["100", "200", "300"]);
  const afterAlloc = await canvas.screenshot();
  expect(afterAlloc.equals(before), "the map changed after allocating").toBe(false);

  // Click the middle block's payload on the canvas.
  const payload = Number(await usedRows(page).nth(1).getAttribute("data-payload"));
  const point = await page.evaluate((address) => window.heaplabDebug.pointOf(address + 16), payload);
  await canvas.click({ position: point });
  await expect(page.locator("#message")).toContainText("free(");
  await expect(usedRows(page)).toHaveCount(2);
  expect(await usedRows(page).locator("td:nth-child(4)").allTextContents()).toEqual(["100", "300"]);
  // The freed block is a free block now, between the two used ones.
  const states = await page.locator("#block-list tbody tr").evaluateAll((trs) => trs.map((tr) => tr.dataset.state));
  expect(states.slice(0, 3)).toEqual(["used", "free", "used"]);
  const afterFree = await canvas.screenshot();
  expect(afterFree.equals(afterAlloc), "the map changed after freeing").toBe(false);

  await page.screenshot({ path: testInfo.outputPath("playground.png"), fullPage: true });
});

test("the heap grows visibly when an allocation needs more pages", async ({ page }) => {
  await openPlayground(page);
  const pagesBefore = await page.evaluate(() => window.heaplabDebug.heap.stats().heapBytes);
  await allocate(page, 200_000);
  const pagesAfter = await page.evaluate(() => window.heaplabDebug.heap.stats().heapBytes);
  expect(pagesAfter).toBeGreaterThan(pagesBefore);
  const box = await page.locator("#heap-map").boundingBox();
  expect(box.height).toBeGreaterThan(200_000 / 4096 * 18 * 0.9);
});

test("bad input shows a message and changes nothing", async ({ page }) => {
  await openPlayground(page);
  await allocate(page, 64);
  const rows = await page.locator("#block-list tbody").innerText();
  await page.evaluate(() => {
    const input = document.querySelector("#alloc-size");
    input.removeAttribute("min");
    input.value = "-5";
  });
  await page.click("#alloc-button");
  await expect(page.locator("#message")).toHaveClass(/error/);
  await expect(page.locator("#message")).toContainText("invalid-size");
  expect(await page.locator("#block-list tbody").innerText()).toEqual(rows);
});
