// The console: C-like statements, history, inline errors, names on the map.
import { test, expect, openPlayground } from "./fixtures.js";
import { usedRows, run, settled, pointOf } from "./helpers.js";

test("statements run, errors are inline, history walks up and down", async ({ page }) => {
  await openPlayground(page);
  const log = page.locator("#console-log");
  await run(page, "p = malloc(24)", "q = calloc(4, 8)", "p = realloc(p, 100)", "free(p)");
  await expect(log).toContainText("p = malloc(24) returned 0x");
  await expect(log).toContainText("q = calloc(4, 8) returned");
  await expect(log).toContainText("p = realloc(p, 100) returned");
  await expect(log).toContainText("free(p) released");
  await expect(usedRows(page)).toHaveCount(1);
  await expect(usedRows(page).first()).toContainText("q");

  await run(page, "free(p)");
  await expect(log.locator(".error").last()).toHaveText("error: double free of p");
  await run(page, "x = malloc(");
  await expect(log.locator(".error").last()).toContainText("syntax error at column 12");
  await run(page, "free(zz)");
  await expect(log.locator(".error").last()).toContainText("zz is not a variable");
  await run(page, "help");
  await expect(log).toContainText("aligned_alloc");

  const input = page.locator("#console-input");
  await input.focus();
  await page.keyboard.press("ArrowUp");
  await expect(input).toHaveValue("help");
  await page.keyboard.press("ArrowUp");
  await expect(input).toHaveValue("free(zz)");
  await page.keyboard.press("ArrowDown");
  await expect(input).toHaveValue("help");
  await page.keyboard.press("ArrowDown");
  await expect(input).toHaveValue("");
});

test("variable names are shown on the map and in tooltips", async ({ page }) => {
  await openPlayground(page);
  await run(page, "node = malloc(200)");
  await settled(page);
  await page.click("#zoom-in");
  await page.click("#zoom-in");
  const payload = Number(await usedRows(page).first().getAttribute("data-payload"));
  const labels = await page.evaluate(() => {
    // Record what the renderer writes on the canvas.
    const ctx = document.querySelector("#heap-map").getContext("2d");
    const texts = [];
    const original = ctx.fillText;
    ctx.fillText = function (text, ...rest) {
      texts.push(text);
      return original.call(this, text, ...rest);
    };
    window.heaplabDebug.map.draw();
    ctx.fillText = original;
    return texts;
  });
  expect(labels).toContain("node");
  const p = await pointOf(page, payload + 10);
  await page.locator("#heap-map").hover({ position: p });
  await expect(page.locator("#tooltip")).toContainText("node (#1)");
});
