// Quick lists in the playground: a freed small block waits on its quick list,
// the free-list panel shows that list as a quick one, and the Flush button
// (enabled only while a block waits) merges it back; undo brings it back.
import { test, expect, openPlayground } from "./fixtures.js";
import { message, run, settled } from "./helpers.js";

/** The panel's entries (block header addresses) of `selector`. */
const addresses = (locator) => locator.evaluateAll((spans) => spans.map((s) => Number(s.dataset.address)));

test("a freed block waits on a quick list in the panel; Flush merges it, undo brings it back", async ({ page }) => {
  await openPlayground(page);
  const flush = page.locator("#flush-button");
  const panel = page.locator("#free-list");
  await expect(flush).toBeDisabled();

  await page.selectOption("#opt-policy", "best-fit");
  await page.selectOption("#opt-quick", "on");
  await run(page, "a = malloc(24)", "b = malloc(24)", "c = malloc(24)");
  await expect(message(page)).toContainText("c = malloc(24) returned");
  await settled(page);
  await expect(flush, "quick lists on but none waiting").toBeDisabled();
  // Block (header) addresses of a and b: 32-byte blocks side by side.
  const [a, b] = await page.evaluate(() => ["a", "b"].map((name) => window.heaplabDebug.session.addressOf(window.heaplabDebug.session.names.get(name)) - 8));
  expect(b - a).toBe(32);

  await run(page, "free(a)", "free(b)");
  await expect(message(page)).toContainText("free(b)");
  await settled(page);

  // Both wait on the quick list of their size, the last freed first, shown
  // as quick blocks; neither is on a free list.
  const quickList = panel.locator("li.fl-quick-list");
  await expect(quickList).toHaveCount(1);
  await expect(quickList).toContainText("quick 32 B:");
  expect(await addresses(quickList.locator(".fl-block.fl-quick"))).toEqual([b, a]);
  await expect(panel.locator("h3")).toContainText("2 on quick lists");
  const free = await addresses(panel.locator(".fl-block:not(.fl-quick)"));
  expect(free.length, "the rest of the arena is free").toBeGreaterThan(0);
  expect(free).not.toContain(a);
  expect(free).not.toContain(b);

  // Flush: the two merge into one free block of 64 bytes, on the free list.
  await expect(flush).toBeEnabled();
  await flush.click();
  await expect(message(page)).toContainText("flush() merged 2 blocks");
  await settled(page);
  await expect(panel.locator(".fl-quick")).toHaveCount(0);
  await expect(panel.locator("h3")).not.toContainText("quick");
  await expect(panel.locator(`.fl-block[data-address="${a}"]`)).toHaveText(/\(64 B\)/);
  await expect(panel.locator(`.fl-block[data-address="${b}"]`)).toHaveCount(0);
  await expect(flush).toBeDisabled();

  // The flush is an operation like the others: undo puts both back on their quick list.
  await page.click("#undo-button");
  await settled(page);
  expect(await addresses(panel.locator(".fl-block.fl-quick"))).toEqual([b, a]);
  await expect(flush).toBeEnabled();
});
