// The hex view and the heap-overflow lesson; the stats panel, live.
import { test, expect, openPlayground } from "./fixtures.js";
import { usedRows, message, run, settled, pointOf } from "./helpers.js";

/** Selects a used block by clicking it on the map. */
async function select(page, rowIndex) {
  await settled(page);
  const payload = Number(await usedRows(page).nth(rowIndex).getAttribute("data-payload"));
  await page.locator("#heap-map").click({ position: await pointOf(page, payload + 2) });
  return payload;
}

test("the hex view decodes the header and shows what is written into the payload", async ({ page }) => {
  await openPlayground(page);
  await run(page, "p = malloc(20)", "q = malloc(20)");
  await select(page, 0);
  const hex = page.locator("#hex-view");
  const size = await usedRows(page).first().locator("td:nth-child(2)").textContent();
  await expect(hex).toContainText(`size${size} bytes`);
  await expect(hex).toContainText("flagsused | prev-used");
  await expect(hex).toContainText("requested20 bytes");
  await expect(hex).toContainText("Next header");
  await expect(hex.locator(".byte.header")).toHaveCount(8);
  await expect(hex.locator(".byte.payload")).toHaveCount(20);

  await page.fill("#write-data", "Hi!");
  await page.click("#write-button");
  await expect(message(page)).toContainText("wrote 3 bytes");
  await expect(hex.locator(".byte.payload").first()).toHaveText("48");
  await expect(hex.locator("td.text")).toContainText(["Hi!"]);

  await page.selectOption("#write-mode", "bytes");
  await page.fill("#write-offset", "4");
  await page.fill("#write-data", "de ad be ef");
  await page.click("#write-button");
  await expect(message(page)).toContainText("wrote 4 bytes");
  await expect(hex.locator(".byte.payload").nth(4)).toHaveText("de");

  await page.fill("#write-data", "zz");
  await page.click("#write-button");
  await expect(message(page)).toHaveClass(/error/);
  await expect(message(page)).toContainText('"zz" is not a byte');
});

test("writing past the payload corrupts the next header, the check catches it, reset recovers", async ({ page }, testInfo) => {
  await openPlayground(page);
  await run(page, "p = malloc(16)", "q = malloc(16)");
  await select(page, 0);
  await page.selectOption("#write-mode", "text");
  await page.fill("#write-offset", "0");
  await page.fill("#write-data", "A".repeat(40));
  await page.click("#write-button");
  const status = page.locator("#heap-status");
  await expect(status).toBeVisible();
  await expect(status).toContainText("Heap corrupt");
  await expect(message(page)).toHaveClass(/error/);
  await expect(message(page)).toContainText("past the end of the payload");
  await expect(page.locator("#hex-view .byte.next-header").first()).toHaveText("41");
  await page.screenshot({ path: testInfo.outputPath("overflow.png"), fullPage: true });

  await run(page, "r = malloc(8)");
  await expect(page.locator("#console-log .error").last()).toContainText("the heap is corrupt");
  await page.click("#check-button");
  await expect(message(page)).toContainText("check() found the heap corrupt");

  await page.click("#reset-button");
  await expect(status).toBeHidden();
  await page.click("#check-button");
  await expect(message(page)).toContainText("check() passed");
  await run(page, "r = malloc(8)");
  await expect(usedRows(page)).toHaveCount(1);
});

test("the stats panel follows every operation", async ({ page }) => {
  await openPlayground(page);
  const stat = (key) => page.locator(`#stats dd[data-stat=${key}]`);
  await expect(stat("liveRequested")).toHaveText("0 B (peak 0 B)");
  await run(page, "a = malloc(1000)", "b = malloc(1000)", "c = malloc(1000)");
  await expect(stat("liveRequested")).toContainText("2.9 KiB");
  await expect(stat("blocks")).toContainText("3 used");
  await run(page, "free(b)");
  await expect(stat("blocks")).toContainText("2 used");
  await expect(stat("externalFragmentation")).not.toHaveText("0.0%");
  await expect(stat("operations")).toHaveText("4");
  for (const key of ["allocatedBytes", "freeBytes", "largestFree", "utilization", "pagesInUse", "lastExamined"]) await expect(stat(key)).not.toBeEmpty();
});

test("a few hundred random writes through the write form: every corruption is caught, none traps, reset always recovers", async ({ page }) => {
  test.setTimeout(300_000);
  await openPlayground(page);
  // A small deterministic PRNG (xorshift32): the same rounds every run.
  let seed = 0x9e3779b9;
  const rand = (n) => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const setup = () => run(page, "a = malloc(24)", "b = malloc(40)", "c = malloc(100)", "free(b)", "d = malloc(16)", "e = malloc(200)", "free(d)");
  await setup();
  await page.selectOption("#write-mode", "bytes");
  const status = page.locator("#heap-status");
  let caught = 0;
  const ROUNDS = 200;
  for (let round = 0; round < ROUNDS; round++) {
    await settled(page);
    const used = usedRows(page);
    const n = await used.count();
    if (n === 0) {
      await setup();
      continue;
    }
    await used.nth(rand(n)).click();
    // Inside the payload, past it into the next header, a free block's
    // links or footer, or the block after.
    await page.fill("#write-offset", String(rand(160)));
    const bytes = Array.from({ length: 1 + rand(8) }, () => rand(256).toString(16).padStart(2, "0"));
    await page.fill("#write-data", bytes.join(" "));
    await page.click("#write-button");
    await expect(message(page)).toContainText(/wrote \d+ bytes?|not an allocated block/);
    // Then the operations a program would go on with, and the check.
    await run(page, `x = malloc(${1 + rand(300)})`, `x = realloc(x, ${1 + rand(300)})`, "free(x)");
    await page.click("#check-button");
    await expect(message(page)).toContainText(/check\(\) (passed|found the heap corrupt)/);
    if (await status.isVisible()) {
      caught++;
      await expect(status).toContainText("Heap corrupt");
      await page.click("#reset-button");
      await expect(status).toBeHidden();
      await setup();
    }
  }
  // Some rounds broke the heap (and were caught), and the page still works.
  expect(caught, "corruptions caught").toBeGreaterThan(ROUNDS / 20);
  await page.click("#reset-button");
  await run(page, "z = malloc(8)");
  await page.click("#check-button");
  await expect(message(page)).toContainText("check() passed");
  await expect(usedRows(page)).toHaveCount(1);
  expect(await page.evaluate(() => window.heaplabDebug.session.corruption)).toBeNull();
});
