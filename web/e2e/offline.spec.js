// The built site, served by a plain static server under a sub-path, works
// offline after the first visit: the service worker precaches every built
// file and, once it controls the page, serves every page with the network off.
//
// The test runs its own static server (scripts/static-server.mjs) and shuts it
// down after the first visit: Chromium's offline emulation (`setOffline`,
// also applied) does not reach the service worker's own fetches, a server
// that is gone does.
import { fileURLToPath } from "node:url";
import { test, expect } from "./fixtures.js";
import { serve } from "../../scripts/static-server.mjs";
import { SUB_PATH } from "./playwright.config.js";

const dist = fileURLToPath(new URL("../../dist", import.meta.url));

test("after one visit, the lessons, the demo, the iframe page and the playground load offline", async ({ page, context }) => {
  const server = await serve(dist, { prefix: SUB_PATH });
  const base = `http://127.0.0.1:${server.address().port}${SUB_PATH}`;
  try {
    await page.goto(`${base}learn.html`);
    await expect(page.locator("body")).toHaveAttribute("data-ready", "true");
    await page.evaluate(() => navigator.serviceWorker.ready);
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  } finally {
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
  }
  await context.setOffline(true);

  const pages = [
    ["demo.html", (p) => expect(p.locator("#e1 .where")).toContainText("Step 4 of 9")],
    ["learn.html#realloc", (p) => expect(p.locator("#lesson-title")).toHaveText("realloc")],
    ["embed.html?policy=best-fit&trace=traces/coalesce.rep", (p) => expect(p.locator("#embed .where")).toContainText("Step 9 of 9")],
    ["index.html", (p) => expect(p.locator("#heap-map")).toBeVisible()],
    ["", (p) => expect(p.locator("#heap-map")).toBeVisible()],
  ];
  for (const [path, ready] of pages) {
    const response = await page.goto(`${base}${path}`);
    expect(response.fromServiceWorker(), `${path || "the site's root"} came from the service worker`).toBe(true);
    await expect(page.locator("body")).toHaveAttribute("data-ready", "true");
    await ready(page);
  }

  // A lesson works offline: act in the console, the check passes.
  await page.goto(`${base}learn.html#pages`);
  await expect(page.locator("body")).toHaveAttribute("data-ready", "true");
  for (const statement of ["a = malloc(24)", "b = malloc(24)", "c = malloc(24)"]) {
    await page.fill("#console-input", statement);
    await page.press("#console-input", "Enter");
  }
  await expect(page.locator("#lesson-result")).toContainText("Well done.");
  await context.setOffline(false);
});
