// Predict, then reveal: with predict mode on, a malloc's answer waits until
// the learner points at where it will land; the page judges and keeps score.
import { test, expect, openPlayground } from "./fixtures.js";
import { run, settled, pointOf } from "./helpers.js";

test("predict mode holds the answer back, scores a right click and a wrong typed guess", async ({ page }) => {
  await openPlayground(page);
  await run(page, "a = malloc(24)", "b = malloc(40)", "c = malloc(16)");
  await settled(page);
  const hole = await page.evaluate(() => window.heaplabDebug.session.addressOf(2) - 8);
  await run(page, "free(b)");
  await page.check("#predict-mode");
  await expect(page.locator("#predict-form")).toBeVisible();

  // First fit: malloc(32) takes the first free block big enough, b's old block.
  await run(page, "d = malloc(32)");
  await expect(page.locator("body")).toHaveAttribute("data-predict", "waiting");
  await expect(page.locator("#step-caption")).toContainText("Where will malloc(32) go?");
  const log = page.locator("#console-log");
  await expect(log).not.toContainText("d = malloc(32) returned");
  // The map shows the heap before the malloc: the hole is still free.
  expect(await page.locator('#block-list tbody tr[data-state=used]').count()).toBe(2);
  // A click on a block in use is not an answer.
  const used = await page.evaluate(() => window.heaplabDebug.session.addressOf(1));
  await page.locator("#heap-map").click({ position: await pointOf(page, used + 4) });
  await expect(page.locator("#step-caption")).toContainText("is in use");
  await expect(page.locator("body")).toHaveAttribute("data-predict", "waiting");
  await page.locator("#heap-map").click({ position: await pointOf(page, hole + 20) });
  await expect(page.locator("body")).toHaveAttribute("data-predict", "right");
  await expect(page.locator("#predict-score")).toContainText("Right: the block went to the free block at");
  await expect(page.locator("#predict-score")).toContainText("1 of 1 right");
  await expect(log).toContainText("d = malloc(32) returned");
  await settled(page);
  expect(await page.locator('#block-list tbody tr[data-state=used]').count()).toBe(3);

  // A typed address that is not the one returned.
  await run(page, "e = malloc(2000)");
  await expect(page.locator("body")).toHaveAttribute("data-predict", "waiting");
  await page.fill("#predict-address", "nonsense");
  await page.click("#predict-submit");
  await expect(page.locator("#message")).toContainText("type an address");
  await page.fill("#predict-address", "0x10");
  await page.click("#predict-submit");
  await expect(page.locator("body")).toHaveAttribute("data-predict", "wrong");
  await expect(page.locator("#predict-score")).toContainText("Not quite: malloc returned 0x");
  await expect(page.locator("#predict-score")).toContainText("1 of 2 right");
  await expect(log).toContainText("e = malloc(2000) returned");
});
