// Accessibility: axe-core finds no violations; every control is labelled; the
// whole page works from the keyboard; the map has a table as text alternative.
import { test, expect, openPlayground } from "./fixtures.js";
import { usedRows, message, run, settled } from "./helpers.js";
import { axeViolations as axe } from "./axe.js";

test("axe-core finds no violations, empty and busy, with the tooltip and an error shown", async ({ page }) => {
  await openPlayground(page);
  expect(await axe(page)).toEqual([]);
  await run(page, "p = malloc(24)", "q = malloc(2000)", "free(p)", "free(p)");
  await settled(page);
  await page.locator("#heap-map").focus();
  await page.keyboard.press("ArrowRight");
  await expect(page.locator("#tooltip")).toBeVisible();
  await page.selectOption("#write-mode", "text");
  await page.fill("#write-data", "x".repeat(30));
  await page.fill("#write-offset", "1995");
  await page.locator("#heap-map").focus();
  await page.keyboard.press("ArrowRight"); // q, the block after p's
  await expect(page.locator("#selection")).toContainText("q (#2)");
  await page.click("#write-button");
  await expect(page.locator("#heap-status")).toBeVisible();
  expect(await axe(page)).toEqual([]);
});

test("every form control has a visible label", async ({ page }) => {
  await openPlayground(page);
  const unlabelled = await page.evaluate(() =>
    [...document.querySelectorAll("input, select, textarea")]
      .filter((el) => {
        if (el.offsetParent === null) return false; // hidden with its form (predict mode off)
        const label = el.labels?.[0];
        return !label || label.offsetParent === null || !label.textContent.trim();
      })
      .map((el) => el.id),
  );
  expect(unlabelled).toEqual([]);
});

test("the map's text alternative is a table of blocks", async ({ page }) => {
  await openPlayground(page);
  await run(page, "p = malloc(24)");
  await expect(page.locator("#heap-map")).toHaveAttribute("aria-describedby", "map-hint");
  await expect(page.locator("#block-list caption")).toContainText("in address order");
  await expect(page.locator("#block-list thead th")).toHaveText(["Address", "Size", "Payload", "Requested", "Usable", "State", "Id", "Variable"]);
  await expect(usedRows(page)).toHaveCount(1);
});

test("the whole page works from the keyboard alone", async ({ page }) => {
  await openPlayground(page);
  // Tab from the top to the size field: past the site's navigation bar, the controls come first.
  await page.keyboard.press("Tab"); // skip link
  await expect(page.locator(".skip")).toBeFocused();
  for (const name of ["Playground", "Compare", "Lessons", "Machine", "Embedding"]) {
    await page.keyboard.press("Tab");
    await expect(page.getByRole("link", { name, exact: true })).toBeFocused();
  }
  await page.keyboard.press("Tab");
  await expect(page.locator("#theme-choice")).toBeFocused();
  await page.keyboard.press("Tab");
  await expect(page.locator("#alloc-size")).toBeFocused();
  await page.keyboard.press("Control+a");
  await page.keyboard.type("640");
  await page.keyboard.press("Enter");
  await expect(message(page)).toContainText("malloc(640) returned");
  // Tab to the free form and free by id.
  await page.locator("#free-ref").focus();
  await page.keyboard.type("#1");
  await page.keyboard.press("Enter");
  await expect(message(page)).toContainText("free(#1)");
  // Options by keyboard.
  await page.locator("#opt-policy").focus();
  await page.keyboard.press("ArrowDown");
  await expect(message(page)).toContainText("Rebuilt the heap (next-fit");
  // The console by keyboard.
  await page.locator("#console-input").focus();
  await page.keyboard.type("p = malloc(48)");
  await page.keyboard.press("Enter");
  await expect(page.locator("#console-log")).toContainText("p = malloc(48) returned");
  // Skip link to the map; arrows select; the hex view and Free button follow.
  await page.keyboard.press("Shift+Tab");
  await page.locator(".skip").focus();
  await page.keyboard.press("Enter");
  await expect(page.locator("#heap-map")).toBeFocused();
  await page.keyboard.press("End");
  await page.keyboard.press("Home");
  for (let i = 0; i < 5 && !(await page.locator("#map-announcer").textContent()).includes("p (#2)"); i++) await page.keyboard.press("ArrowRight");
  await expect(page.locator("#map-announcer")).toContainText("p (#2)");
  await expect(page.locator("#free-selected")).toBeEnabled();
  await page.locator("#free-selected").focus();
  await page.keyboard.press("Enter");
  await expect(message(page)).toContainText("free(p)");
  // Zoom buttons, the view switch and reset by keyboard.
  await page.locator("#zoom-in").focus();
  await page.keyboard.press("Enter");
  await expect(page.locator("#zoom-label")).toContainText("Block view ×1.25");
  await page.locator("#view-blocks").focus();
  await page.keyboard.press("ArrowRight");
  await expect(page.locator("#view-address")).toBeChecked();
  await page.locator("#zoom-in").focus();
  await page.keyboard.press("Enter");
  await expect(page.locator("#zoom-label")).toContainText("512 B per row");
  await page.locator("#reset-button").focus();
  await page.keyboard.press("Space");
  await expect(message(page)).toContainText("Heap reset");
  // Every interactive element can be reached with Tab (none has a negative tabindex).
  const unreachable = await page.evaluate(() => [...document.querySelectorAll("button, input, select, canvas, a")].filter((el) => el.tabIndex < 0).map((el) => el.id));
  expect(unreachable).toEqual([]);
});

test("readable on a narrow window: no horizontal scroll, the map fits", async ({ page }) => {
  await page.setViewportSize({ width: 480, height: 900 });
  await openPlayground(page);
  await run(page, "p = malloc(24)");
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  const box = await page.locator("#heap-map").boundingBox();
  expect(box.width).toBeLessThanOrEqual(480);
  expect(box.width).toBeGreaterThan(300);
});
