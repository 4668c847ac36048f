// Shared fixture: every test fails on a page error, a console error or a failed
// request, and waits until the playground has started.
import { test as base, expect } from "@playwright/test";

export const test = base.extend({
  page: async ({ page }, use) => {
    const problems = [];
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    page.on("console", (msg) => msg.type() === "error" && problems.push(`console error: ${msg.text()}`));
    // A request the browser abandons (net::ERR_ABORTED: the test moved on
    // to another page while it loaded) is not a failure of the page.
    page.on("requestfailed", (req) => req.failure()?.errorText !== "net::ERR_ABORTED" && problems.push(`request failed: ${req.url()} (${req.failure()?.errorText})`));
    await use(page);
    expect(problems, "no page errors, console errors or failed requests").toEqual([]);
  },
});

export { expect };

/** Opens the playground and waits for the wasm heap to be ready. */
export async function openPlayground(page, path = "") {
  await page.goto(path);
  await expect(page.locator("body")).toHaveAttribute("data-ready", "true");
}
