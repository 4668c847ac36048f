// Helpers shared by the playground's end-to-end tests.
import { expect } from "./fixtures.js";

export const usedRows = (page) => page.locator("#block-list tbody tr[data-state=used]");
export const message = (page) => page.locator("#message");

/** Allocates through the form and waits for the message. */
export async function allocate(page, size, { name = "", align = "0" } = {}) {
  await page.fill("#alloc-size", String(size));
  await page.fill("#alloc-name", name);
  await page.selectOption("#alloc-align", align);
  await page.click("#alloc-button");
  await expect(message(page)).toContainText(align === "0" ? `malloc(${size}) returned` : `aligned_alloc(${align}, ${size}) returned`);
}

/** Runs console statements one by one (Enter submits). */
export async function run(page, ...statements) {
  for (const statement of statements) {
    await page.fill("#console-input", statement);
    await page.press("#console-input", "Enter");
  }
}

/** Waits until the panels show the session's latest version. */
export async function settled(page) {
  await page.waitForFunction(() => document.body.dataset.version === String(window.heaplabDebug.session.version));
}

/** Canvas point (CSS px) of the byte at `address`, scrolled into view. */
export async function pointOf(page, address) {
  const point = await page.evaluate((a) => window.heaplabDebug.pointOf(a), address);
  expect(point, `address ${address} is on the map`).not.toBeNull();
  return point;
}

/** The RGBA of the canvas pixel at CSS point (x, y). */
export async function pixel(page, x, y) {
  return page.evaluate(
    ({ x, y }) => {
      const canvas = document.querySelector("#heap-map");
      const dpr = canvas.width / canvas.clientWidth;
      return Array.from(canvas.getContext("2d").getImageData(Math.round(x * dpr), Math.round(y * dpr), 1, 1).data);
    },
    { x, y },
  );
}

export const rgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
