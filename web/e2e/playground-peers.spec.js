// The playground's policy list offers the production allocators, marked as
// such: choosing talc rebuilds the heap on talc's own module, console
// statements run on it, the block list and the map show its payloads, the
// fits' options are disabled, the stats say what it does not report, and
// back on first fit the same statements are replayed.
import { test, expect, openPlayground } from "./fixtures.js";
import { run } from "./helpers.js";

test("choose talc in the playground, allocate, read the figures, go back to first fit", async ({ page }) => {
  await openPlayground(page);
  const production = page.locator('#opt-policy optgroup[label="Production allocators"] option');
  await expect(production).toHaveText(["talc (production)", "rlsf (production)", "dlmalloc (production)", "linked_list_allocator (production)", "buddy_system_allocator (production)"]);
  await page.selectOption("#opt-policy", "talc");
  await expect(page.locator("#opt-align")).toBeDisabled();
  await run(page, "p = malloc(24)", "q = malloc(3000)", "free(p)");
  await expect(page.locator("#block-list tbody tr[data-state=used]")).toHaveCount(1);
  await expect(page.locator('#stats [data-stat="lastExamined"]')).toHaveText("not shown by this allocator");
  const talc = await page.evaluate(() => ({ policy: window.heaplabDebug.session.options.policy, address: window.heaplabDebug.session.addressOf(2) }));
  expect(talc.policy).toBe("talc");
  await page.selectOption("#opt-policy", "first-fit");
  await expect(page.locator("#opt-align")).toBeEnabled();
  await expect(page.locator("#block-list tbody tr[data-state=used]")).toHaveCount(1);
  const fit = await page.evaluate(() => window.heaplabDebug.session.addressOf(2));
  expect(fit).toBeGreaterThan(0);
  expect(fit).not.toBe(talc.address);
});
