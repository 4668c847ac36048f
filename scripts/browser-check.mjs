// What the package and recipe suites check in Chromium: a page (served from a
// folder outside the repository's build) loads with no page error, console
// error or failed request, every <heap-playground> on it becomes ready, shows
// the expected step and draws a heap. Reports as "N passed, N failed".
import { chromium } from "@playwright/test";
import { findChromium, CHROMIUM_ARGS } from "./chromium.mjs";

/** Counts checks; a failed one is printed with its reason, and the run goes on. */
export class Report {
  passed = 0;
  failed = [];

  async check(name, fn) {
    const started = Date.now();
    try {
      await fn();
      this.passed++;
      console.log(`  ✓ ${name} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
    } catch (error) {
      this.failed.push(name);
      console.log(`  ✘ ${name}\n    ${String(error?.stack ?? error).split("\n").slice(0, 6).join("\n    ")}`);
    }
  }

  /** Prints the closing line and returns the exit status. */
  close() {
    console.log(`\n${this.passed} passed, ${this.failed.length} failed`);
    for (const name of this.failed) console.log(`  failed: ${name}`);
    return this.failed.length ? 1 : 0;
  }
}

export function assert(condition, message) {
  if (!condition) throw new Error(message);
}

export function launch() {
  return chromium.launch({ executablePath: findChromium(), args: CHROMIUM_ARGS });
}

/**
 * Opens `url` in a new page of `viewport` and records every problem: page
 * errors, console errors, failed requests and HTTP errors. Returns
 * `{ page, problems, warnings, requests }` (`requests`: every URL asked for).
 */
export async function openPage(browser, url, { viewport = { width: 1280, height: 800 } } = {}) {
  const context = await browser.newContext({ viewport, reducedMotion: "reduce" });
  const page = await context.newPage();
  const problems = [];
  const warnings = [];
  const requests = [];
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error") problems.push(`console error: ${msg.text()}`);
    if (msg.type() === "warning") warnings.push(msg.text());
  });
  page.on("requestfailed", (request) => problems.push(`request failed: ${request.url()}`));
  page.on("request", (request) => requests.push(request.url()));
  page.on("response", (response) => response.status() >= 400 && problems.push(`HTTP ${response.status()}: ${response.url()}`));
  // The browser's own favicon request is not the page's: answer it.
  await page.route("**/favicon.ico", (route) => route.fulfill({ status: 204 }));
  await page.goto(url);
  return { page, problems, warnings, requests };
}

/** Waits until every <heap-playground> on the page is ready (or failed); returns their ids and states. */
export async function heapsSettled(page, { count = 1, timeout = 30_000 } = {}) {
  await page.waitForFunction(
    (count) => {
      const all = [...document.querySelectorAll("heap-playground")];
      return all.length >= count && all.every((e) => e.dataset.ready === "true" || e.dataset.ready === "error");
    },
    count,
    { timeout },
  );
  return page.evaluate(() => [...document.querySelectorAll("heap-playground")].map((e) => ({ id: e.id, ready: e.dataset.ready })));
}

/** The step line of element `id` ("Step 4 of 9: malloc(16) → #4"). */
export function stepLine(page, id) {
  return page.evaluate((id) => document.getElementById(id).shadowRoot.querySelector(".where").textContent, id);
}

/** How many distinct colours element `id`'s heap map has drawn (a blank canvas has one). */
export function mapColours(page, id) {
  return page.evaluate((id) => {
    const canvas = document.getElementById(id).shadowRoot.querySelector("canvas");
    const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
    const colours = new Set();
    for (let i = 0; i < data.length; i += 16) colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
    return colours.size;
  }, id);
}

/**
 * The checks every docs page with Heaplab gets: each element ready, showing
 * `steps[id]`, drawing a heap; the wasm fetched once for the page; then no
 * problem at all.
 */
export async function checkHeaps(opened, steps) {
  const { page, problems, requests } = opened;
  const states = await heapsSettled(page, { count: Object.keys(steps).length });
  assert(states.every((s) => s.ready === "true"), `every element ready: ${JSON.stringify(states)}`);
  for (const [id, expected] of Object.entries(steps)) {
    const line = await stepLine(page, id);
    assert(line === expected, `#${id} shows "${line}", expected "${expected}"`);
    const colours = await mapColours(page, id);
    assert(colours >= 4, `#${id}'s map drew ${colours} colours: no heap drawn`);
  }
  const wasm = requests.filter((url) => url.endsWith(".wasm"));
  assert(wasm.length === 1, `one wasm fetch for the page, not ${wasm.length}: ${wasm.join(", ")}`);
  assert(problems.length === 0, `no page errors, console errors or failed requests:\n${problems.join("\n")}`);
}
