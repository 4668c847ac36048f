// The machine view (issue 22, item 3) in Chromium: the kernel heap and two
// application heaps driven by name from the console over one buddy
// allocator; an application heap that frees its last block gives its page
// run back and the buddies merge, step by step on the map; bad input is
// explained; the lesson "The kernel and applications" acted and checked.
import { test, expect } from "./fixtures.js";
import { axeViolations } from "./axe.js";

async function openMachine(page) {
  await page.goto("machine.html");
  await expect(page.locator("body")).toHaveAttribute("data-ready", "true", { timeout: 20_000 });
}

/** Runs one console line in the machine view under `root`. */
async function run(page, line, root = "#machine-view") {
  const input = page.locator(`${root} .machine-input`);
  await input.fill(line);
  await input.press("Enter");
}

/** Pages the legend says `owner` holds. */
async function pagesOf(page, owner, root = "#machine-view") {
  const text = await page.locator(`${root} .legend [data-owner="${owner}"]`).textContent();
  return Number(/(\d+) pages? in|· (\d+) pages?/.exec(text).slice(1).find(Boolean));
}

/** The map's pixels as a data URL (to tell that it was redrawn). */
const mapPixels = (page, root = "#machine-view") => page.locator(`${root} canvas`).evaluate((c) => c.toDataURL());

test("two application heaps and the kernel heap take pages from one buddy allocator, driven by name", async ({ page }) => {
  await openMachine(page);
  const legend = page.locator("#machine-view .legend");
  // kernel, app1, app2, app3, the buddy allocator's map, free.
  await expect(legend.locator("[data-owner]")).toHaveCount(6);
  await expect(legend).toContainText("app3 application heap, segregated fit · 0 pages");
  await expect(legend).toContainText("app1 application heap, first fit");
  await expect(legend).toContainText("app2 application heap, best fit");
  await expect(legend).toContainText("kernel kernel heap, slab caches");
  const start = { kernel: await pagesOf(page, "kernel"), app1: await pagesOf(page, "app1"), app2: await pagesOf(page, "app2") };
  expect(Object.values(start).every((n) => n > 0)).toBe(true);

  // app1 grows past its block: the buddy allocator splits and hands out a second run.
  await run(page, "app1: big = malloc(20000)");
  await expect(page.locator("#machine-view .narration")).toContainText("app1: big = 0x");
  await expect(page.locator("#machine-view .steps")).toContainText(/handed out order \d \(\d+ pages\) at 0x[0-9a-f]+ to app1/);
  await expect.poll(() => pagesOf(page, "app1")).toBeGreaterThan(start.app1);
  await expect(page.locator("#machine-view .zoom-panel h2")).toHaveText("app1: its blocks (first fit)");
  await expect(page.locator("#machine-view .zoom .run")).toHaveCount(2);
  await expect(page.locator("#machine-view .zoom")).toContainText("big: 19.5 KiB");

  // The kernel heap by name: an object of another size class takes another slab.
  await run(page, "kernel: i = kmalloc(184)");
  await expect(page.locator("#machine-view .zoom-panel h2")).toHaveText(/^kernel: its slabs/);
  await expect(page.locator("#machine-view .zoom .slab")).toHaveCount(2);
  await expect(page.locator("#machine-view .zoom")).toContainText("kmalloc-256 slab");
  await expect.poll(() => pagesOf(page, "kernel")).toBe(start.kernel + 1);

  // Clicking a heap's name shows its blocks.
  await legend.locator('[data-owner="app2"]').click();
  await expect(page.locator("#machine-view .zoom-panel h2")).toHaveText("app2: its blocks (best fit)");
  await expect(page.locator("#machine-view .zoom")).toContainText("q: 2.9 KiB");
  await run(page, "check");
  await expect(page.locator("#machine-view .log li").last()).toContainText("no two heaps share a page");
  // A third policy: app3's first malloc takes its first buddy block.
  await run(page, "app3: s = malloc(100)");
  await expect.poll(() => pagesOf(page, "app3")).toBeGreaterThan(0);
  await expect(page.locator("#machine-view .zoom-panel h2")).toHaveText("app3: its blocks (segregated fit)");
});

test("a heap that frees its last block gives its pages back and the buddies merge on the map", async ({ page }) => {
  await openMachine(page);
  // The starting statements' steps have played: the map shows the machine as it is.
  await expect(page.locator("#machine-view")).toHaveAttribute("data-animating", "false", { timeout: 10_000 });
  const held = await pagesOf(page, "app2");
  const freeBefore = await pagesOf(page, "free");
  const before = await mapPixels(page);
  await page.locator('#machine-view .examples [data-example="app2: free(q)"]').click();
  const narration = page.locator("#machine-view .narration");
  await expect(narration).toContainText(`that was its last block, so app2 gave its ${held} pages back to the buddy allocator`);
  const steps = page.locator("#machine-view .steps li");
  await expect(steps.first()).toContainText(/took back order \d/);
  await expect(steps.last()).toContainText(/merged the buddies at 0x[0-9a-f]+ and 0x[0-9a-f]+ into one block of order \d/);
  // The steps play on the map one by one, then it shows the machine as it is.
  await expect(steps.first()).toHaveAttribute("aria-current", "step");
  await expect(page.locator("#machine-view")).toHaveAttribute("data-animating", "false", { timeout: 10_000 });
  expect(await mapPixels(page)).not.toBe(before);
  await expect.poll(() => pagesOf(page, "app2")).toBe(0);
  await expect.poll(() => pagesOf(page, "free")).toBe(freeBefore + held);
  await expect(page.locator("#machine-view .zoom")).toContainText("app2 holds no page");
  // The buddy blocks: fewer than before (two merged into one).
  const summary = await page.locator("#machine-view .visually-hidden").textContent();
  expect(summary).toMatch(/app2 holds 0 pages/);
  // An emptied heap grows again.
  await run(page, "app2: again = malloc(64)");
  await expect.poll(() => pagesOf(page, "app2")).toBeGreaterThan(0);
});

test("bad input gets a clear message and no exception", async ({ page }) => {
  await openMachine(page);
  const last = page.locator("#machine-view .log li").last();
  const cases = [
    ["app4: x = malloc(8)", "error: no heap is named app4: the heaps are kernel, app1, app2, app3"],
    ["app2: free(p)", "error: p came from app1, not app2"],
    ["app1: x = malloc(99999999)", "error: app1: out of memory"],
    ["kernel: x = malloc(8)", "error: the kernel heap has no malloc"],
    ["app1: malloc(8)", "error: malloc returns an address: name it"],
    ["whatever", "error: cannot read"],
  ];
  for (const [line, message] of cases) {
    await run(page, line);
    await expect(last).toContainText(message);
  }
  await run(page, "app1: free(p)");
  await run(page, "app1: free(p)");
  await expect(last).toContainText("error: double free: p");
  await expect(page.locator("#machine-view .narration")).toHaveClass(/error/);
  await run(page, "help");
  await expect(page.locator("#machine-view .log")).toContainText("kernel: k = kmalloc(64)");
  expect(await axeViolations(page)).toEqual([]);
});

/** The point of the page map that shows page `index` (a block of `pages` pages), as map.js lays it out. */
async function pagePoint(page, index, pages, root = "#machine-view") {
  const box = await page.locator(`${root} canvas`).boundingBox();
  const columns = box.width < 560 ? 8 : 16;
  const rowHeight = box.width < 560 ? 32 : 42;
  const cell = (box.width - 64 - 4) / columns;
  const row = Math.floor(index / columns);
  const span = Math.min(pages, columns);
  return { x: 64 + ((index % columns) + span / 2) * cell, y: 4 + row * rowHeight + Math.min(rowHeight * (pages / columns), rowHeight) / 2 };
}

test("predict mode asks before pages move: a click on the map for a new page run, a choice of order for a merge", async ({ page }) => {
  await openMachine(page);
  await expect(page.locator("#machine-view")).toHaveAttribute("data-animating", "false", { timeout: 10_000 });
  await page.check("#predict-mode");
  const box = page.locator("#machine-view .predict-box");
  const verdict = box.locator(".verdict");
  const log = page.locator("#machine-view .log li");
  // A line that moves no page asks nothing.
  await run(page, "app1: small = malloc(16)");
  await expect(box).toBeHidden();
  await expect(log.last()).toContainText("app1: small = 0x");

  // app2 frees its last block: into which order will the buddies merge? A wrong choice is said so, with the answer.
  await run(page, "app2: free(q)");
  await expect(box.locator(".question")).toContainText("app2 gives 8 pages back: page ");
  await expect(box.locator(".question")).toContainText("Into how large a free block will the buddies merge?");
  // The keyboard goes to the choices (Tab moves between them, Enter answers).
  await expect(box.locator(".choices button").first()).toBeFocused();
  await page.locator("#machine-view canvas").click({ position: await pagePoint(page, 1, 1) });
  await expect(verdict).toContainText("This question asks for an order");
  await box.getByRole("button", { name: "order 3: no merge" }).click();
  await expect(page.locator("#machine-view")).toHaveAttribute("data-predict", "wrong");
  await expect(verdict).toContainText(/Not quite: the buddies merged \d times?, into one free block of order \d \(\d+ pages\) at page \d+, not order 3\. It stopped there because its buddy/);
  await expect(verdict).toContainText("Predictions: 0 of 1 right.");
  await expect(box.locator("button.answer")).toHaveCount(1);
  await expect(box.locator('button[aria-pressed="true"]')).toHaveText("order 3: no merge ✗ your guess");
  await expect(box.locator("button.answer")).toContainText("✓ the answer");
  await expect(page.locator("#machine-view .steps li").last()).toContainText("merged the buddies");
  expect(await axeViolations(page)).toEqual([]);

  await expect(page.locator("#machine-view")).toHaveAttribute("data-animating", "false", { timeout: 10_000 });
  // app1 outgrows its pages: before the answer shows, which free block will be split?
  const free = await page.evaluate(() => window.heaplabMachine.model.snapshot().blocks.filter((b) => b.free));
  const host = free.filter((b) => b.order >= 3).reduce((a, b) => (b.order < a.order ? b : a));
  const held = await pagesOf(page, "app1");
  await run(page, "app1: big = malloc(20000)");
  await expect(page.locator("#machine-view")).toHaveAttribute("data-predict", "waiting");
  await expect(box).toBeVisible();
  await expect(box.locator(".question")).toHaveText("app1 needs new pages: order 3 (8 pages). Which free buddy block will the buddy allocator take them from? Click it on the map, or choose it here.");
  await expect(box.locator(".choices button")).toHaveCount(free.length);
  // The answer is held back: the log shows the line only, the legend the pages app1 held before.
  await expect(log.last()).toHaveText("app1: big = malloc(20000)");
  expect(await pagesOf(page, "app1")).toBe(held);
  // A held block is no answer.
  const own = await pagePoint(page, 1, 1);
  await page.locator("#machine-view canvas").click({ position: own });
  await expect(verdict).toContainText("That block is held by kernel: new pages come from a free block");
  await expect(page.locator("#machine-view")).toHaveAttribute("data-predict", "waiting");
  await page.locator("#machine-view canvas").click({ position: await pagePoint(page, host.index, host.pages) });
  await expect(page.locator("#machine-view")).toHaveAttribute("data-predict", "right");
  await expect(verdict).toContainText(`Right: the buddy allocator took the free block at page ${host.index}, order ${host.order}`);
  await expect(verdict).toContainText("Predictions: 1 of 2 right.");
  await expect(log.last()).toContainText("app1: big = 0x");
  await expect.poll(() => pagesOf(page, "app1")).toBeGreaterThan(held);

  // A question left waiting is answered by the next line: the held answer shows, unjudged.
  await run(page, "app2: q2 = malloc(3000)");
  await expect(page.locator("#machine-view")).toHaveAttribute("data-predict", "waiting");
  await run(page, "check");
  await expect(box).toBeHidden();
  await expect(page.locator("#machine-view .log")).toContainText("app2: q2 = 0x");
  await expect(log.last()).toContainText("no two heaps share a page");
  // Reset in predict mode: the starting lines ask nothing; the next line that moves pages asks.
  await page.click("#reset");
  await expect(box).toBeHidden();
  await expect(page.locator("#machine-view .log")).toContainText("app2: q = 0x");
  await run(page, "app2: free(q)");
  await expect(page.locator("#machine-view")).toHaveAttribute("data-predict", "waiting");
  await run(page, "check");
  // Off again: lines show their answers at once.
  await page.uncheck("#predict-mode");
  await run(page, "app2: q2 = malloc(64)");
  await run(page, "app2: free(q2)");
  await expect(box).toBeHidden();
  await expect(page.locator("#machine-view .narration")).toContainText("gave its 8 pages back");
});

test("the lesson 'The kernel and applications' asks its question in predict mode on the embedded machine and checks it", async ({ page }) => {
  await page.goto("learn.html#kernel-and-apps");
  await expect(page.locator("body")).toHaveAttribute("data-ready", "true", { timeout: 20_000 });
  await expect(page.locator("#lesson-title")).toHaveText("The kernel and applications");
  await expect(page.locator("#heap-title")).toHaveText("The machine");
  await expect(page.locator(".block-list").first()).toBeHidden();
  // The question is predict mode's, not an answer field.
  await expect(page.locator("#answer-field")).toBeHidden();
  const root = "#lesson-machine";
  const box = page.locator(`${root} .predict-box`);
  await page.click("#check-lesson");
  await expect(page.locator("#lesson-result")).toContainText("Not yet. app2 still has 2 blocks in use");
  await run(page, "app2: free(q)", root);
  await expect(box).toBeHidden();
  await run(page, "app2: free(r)", root);
  await expect(box).toBeVisible();
  await expect(box.locator(".question")).toContainText("app2 gives 8 pages back");
  // The answer waits for the guess: no verdict yet.
  await expect(page.locator("#lesson-result")).not.toContainText("Not quite");
  await box.getByRole("button", { name: "order 3: no merge" }).click();
  await expect(box.locator(".verdict")).toContainText("Not quite");
  await expect(page.locator(`${root} .narration`)).toContainText("gave its 8 pages back");
  await page.click("#check-lesson");
  await expect(page.locator("#lesson-result")).toContainText("Not yet. Not quite: the buddies merged");
  await expect(page.locator("#lesson-result")).toContainText("restart the lesson to predict again");
  const order = /order (\d+)/.exec(await box.locator("button.answer").textContent())[1];
  // Restart sets the machine up again; the right choice solves it.
  await page.click("#restart-lesson");
  await expect(page.locator(`${root} .legend [data-owner="app2"]`)).toContainText("2 blocks");
  await expect(box).toBeHidden();
  await run(page, "app2: free(q)", root);
  await run(page, "app2: free(r)", root);
  await box.getByRole("button", { name: new RegExp(`^order ${order} \\(`) }).click();
  await expect(page.locator("#lesson-result")).toContainText(`Well done. Right: the buddies merged 1 time, into one free block of order ${order}`);
  await expect(page.locator('#lesson-list li[data-lesson="kernel-and-apps"]')).toHaveAttribute("data-done", "true");
  expect(await axeViolations(page)).toEqual([]);
  // A question left waiting goes with the lesson: another lesson opens cleanly, and a resize draws nothing stale.
  await page.click("#restart-lesson");
  await run(page, "app2: free(q)", root);
  await run(page, "app2: free(r)", root);
  await expect(box).toBeVisible();
  await page.evaluate(() => (location.hash = "slab"));
  await expect(page.locator("#lesson-title")).toHaveText("Slab caches");
  await expect(page.locator('#lesson-list li[data-lesson="slab"]')).not.toHaveAttribute("data-done", "true");
  await page.setViewportSize({ width: 900, height: 700 });
  await page.evaluate(() => (location.hash = "kernel-and-apps"));
  await expect(page.locator("#lesson-title")).toHaveText("The kernel and applications");
  await expect(box).toBeHidden();
  await expect(page.locator(`${root} .legend [data-owner="app2"]`)).toContainText("2 blocks");
});
