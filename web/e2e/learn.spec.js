// The lessons page: a lesson completed through the UI (console, answer, Check),
// progress kept across reloads and reset, every lesson opens, axe-core.
import { test, expect } from "./fixtures.js";
import { axeViolations } from "./axe.js";

async function openLessons(page, hash = "") {
  await page.goto(`learn.html${hash}`);
  await expect(page.locator("body")).toHaveAttribute("data-ready", "true");
}

async function run(page, ...statements) {
  for (const statement of statements) {
    await page.fill("#console-input", statement);
    await page.press("#console-input", "Enter");
  }
}

const usedRow = (page, variable) => page.locator(".block-list tbody tr[data-state=used]").filter({ has: page.locator("td:nth-child(8)", { hasText: new RegExp(`^${variable}$`) }) });

test("complete the first-fit lesson through the UI; progress is kept and can be reset", async ({ page }) => {
  await page.goto("learn.html");
  await page.evaluate(() => localStorage.clear());
  await openLessons(page, "#first-fit");
  await expect(page.locator("#lesson-title")).toHaveText("First fit, step by step");
  await expect(page.locator("#progress")).toHaveText("0 of 19 lessons done");
  await expect(page.locator("#lesson-setup")).toContainText("free(b)");

  // Checking before acting says what to do.
  await page.click("#check-lesson");
  await expect(page.locator("#lesson-result")).toContainText("Not yet. Allocate 64 bytes first");

  await run(page, "p = malloc(64)");
  // The lesson asks first: where will it go? A typed guess that is wrong is scored and reveals.
  await expect(page.locator("body")).toHaveAttribute("data-predict", "waiting");
  await expect(usedRow(page, "p")).toHaveCount(0);
  await page.fill("#predict-address", "0x10");
  await page.locator("form.predict button").click();
  await expect(page.locator("body")).toHaveAttribute("data-predict", "wrong");
  await expect(page.locator(".predict-score")).toContainText("0 of 1 right");
  await expect(usedRow(page, "p")).toHaveCount(1);
  const header = await usedRow(page, "p").locator("td:nth-child(1)").textContent();
  const payload = await usedRow(page, "p").locator("td:nth-child(3)").textContent();

  // The payload's address is the classic wrong answer.
  await page.fill("#lesson-answer", payload);
  await page.click("#check-lesson");
  await expect(page.locator("#lesson-result")).toContainText("is the payload's address");
  await expect(page.locator('#lesson-list li[data-lesson="first-fit"]')).not.toHaveAttribute("data-done", "true");

  await page.fill("#lesson-answer", header);
  await page.click("#check-lesson");
  await expect(page.locator("#lesson-result")).toContainText("Well done.");
  await expect(page.locator("#lesson-result")).toContainText("size 72");
  await expect(page.locator('#lesson-list li[data-lesson="first-fit"]')).toHaveAttribute("data-done", "true");
  await expect(page.locator("#progress")).toHaveText("1 of 19 lessons done");

  // Kept across a reload.
  await openLessons(page, "#first-fit");
  await expect(page.locator("#progress")).toHaveText("1 of 19 lessons done");
  await expect(page.locator('#lesson-list li[data-lesson="first-fit"]')).toContainText("done");

  // Next lesson, then reset.
  await page.click("#next-lesson");
  await expect(page.locator("#lesson-title")).toHaveText("Splitting a free block");
  await expect(page.locator("#lesson-result")).toBeEmpty();
  await page.click("#reset-progress");
  await expect(page.locator("#progress")).toHaveText("0 of 19 lessons done");
  expect(await page.evaluate(() => localStorage.getItem("heaplab.lessons.v1"))).toBeNull();
});

test("a lesson solved in the console says so at once; a heap overflow shows the corrupt heap; restart recovers", async ({ page }) => {
  await openLessons(page, "#coalescing");
  await run(page, "free(guard)");
  await expect(page.locator("#lesson-result")).toBeEmpty(); // a wrong step says nothing until Check
  await page.click("#restart-lesson");
  await run(page, "free(b)");
  await expect(page.locator("#lesson-result")).toContainText("Well done. free(b) merged b");

  await openLessons(page, "#overflow");
  await run(page, `strcpy(p, "${"A".repeat(39)}")`);
  await expect(page.locator("#heap-status")).toContainText("Heap corrupt");
  await expect(page.locator("#lesson-result")).toContainText("overwrote q's header");
  await page.click("#restart-lesson");
  await expect(page.locator("#heap-status")).toBeEmpty();
});

test("a stored progress value that is not valid is ignored", async ({ page }) => {
  // Opened and ready first: navigating away mid-load would abort the wasm request.
  await openLessons(page);
  await page.evaluate(() => localStorage.setItem("heaplab.lessons.v1", '{"version":1,"done":["pages","<img src=x>",3]}'));
  await openLessons(page);
  await expect(page.locator("#progress")).toHaveText("1 of 19 lessons done");
  await page.evaluate(() => localStorage.setItem("heaplab.lessons.v1", "not json"));
  await openLessons(page);
  await expect(page.locator("#progress")).toHaveText("0 of 19 lessons done");
});

test("every lesson opens from the list and sets up its heap", async ({ page }) => {
  await openLessons(page);
  const links = page.locator("#lesson-list a");
  await expect(links).toHaveCount(19);
  for (let i = 0; i < 19; i++) {
    const title = await links.nth(i).textContent();
    await links.nth(i).click();
    await expect(page.locator("#lesson-title")).toHaveText(title);
    await expect(links.nth(i)).toHaveAttribute("aria-current", "page");
    if (title === "The kernel and applications") {
      // The machine lesson shows the machine instead of one heap.
      await expect(page.locator("#lesson-machine .legend")).toContainText("app2");
      await expect(page.locator("#lesson-setup")).toContainText("// the machine");
      continue;
    }
    await expect(page.locator(".block-list caption")).toContainText(/blocks?, in address order/);
    await expect(page.locator("#lesson-setup")).toContainText("// heap options");
  }
});

test("toy vs production: the lesson's link runs the compare preset, and the policy its table puts first on memory passes", async ({ page }) => {
  await openLessons(page, "#toy-vs-production");
  await expect(page.locator("#lesson-title")).toHaveText("Toy allocators beside production ones");
  await page.click("#lesson-link");
  await expect(page.locator("body")).toHaveAttribute("data-compared", "true", { timeout: 60_000 });
  const rows = await page.locator("#results tbody tr").evaluateAll((trs) => trs.map((r) => [r.dataset.policy, parseFloat(r.querySelector('[data-key="utilization"]').textContent)]));
  expect(rows.map((r) => r[0])).toEqual(["first-fit", "best-fit", "segregated", "talc", "dlmalloc"]);
  const sorted = [...rows].sort((a, b) => b[1] - a[1]);
  await page.goBack();
  await expect(page.locator("body")).toHaveAttribute("data-ready", "true");
  await page.fill("#lesson-answer", sorted[sorted.length - 1][0]);
  await page.click("#check-lesson");
  await expect(page.locator("#lesson-result")).toContainText("Another policy kept more");
  await page.fill("#lesson-answer", sorted[0][0]);
  await page.click("#check-lesson");
  await expect(page.locator("#lesson-result")).toContainText(`Yes: ${sorted[0][0]} kept`);
  await expect(page.locator('#lesson-list li[data-lesson="toy-vs-production"]')).toHaveAttribute("data-done", "true");
});

test("axe-core finds no violations on the lessons page, with a result shown", async ({ page }) => {
  await openLessons(page, "#pages");
  await run(page, "a = malloc(24)");
  await page.click("#check-lesson");
  await expect(page.locator("#lesson-result")).toContainText("Not yet");
  expect(await axeViolations(page)).toEqual([]);
});

/** The canvas point (CSS px, in view) of the byte at `address` on the lesson's map. */
async function pointOn(page, address) {
  return page.evaluate((a) => {
    const { map } = window.heaplabDebug;
    map.draw();
    const y = map.layout.yOf(a);
    document.querySelector(".map-scroller").scrollTop = Math.max(0, y - 40);
    map.draw();
    const r = map.layout.rects(a, a + 1)[0];
    return { x: r.x + 1, y: r.y - map.top + r.h / 2 };
  }, address);
}

test("lessons move: first fit asks where the block goes and scores a right click; coalescing animates the merge", async ({ page }) => {
  await openLessons(page, "#first-fit");
  await run(page, "p = malloc(64)");
  await expect(page.locator("body")).toHaveAttribute("data-predict", "waiting");
  await expect(page.locator(".step-caption")).toContainText("Where will malloc(64) go?");
  // First fit skips the 48-byte block (too small for 64 + 8) and takes the 112-byte one.
  const hole = await page.evaluate(() => {
    const { steps } = window.heaplabDebug;
    const b = steps.shownSnapshot().blocks;
    for (let i = 0; i < b.length; i += 6) if (!(b[i + 4] & 1) && b[i + 1] === 112) return b[i];
    return null;
  });
  expect(hole).not.toBeNull();
  await page.locator("#heap-map").click({ position: await pointOn(page, hole + 30) });
  await expect(page.locator("body")).toHaveAttribute("data-predict", "right");
  await expect(page.locator(".predict-score")).toContainText("1 of 1 right");

  await openLessons(page, "#coalescing");
  await run(page, "free(b)");
  // The merge is animated: the captions walk through it, the verdict waits for the result.
  await expect(page.locator(".step-caption")).toContainText(/Event \d+ of \d+/);
  await expect(page.locator(".step-caption")).toContainText(/merge/i, { timeout: 15_000 });
  await expect(page.locator("#lesson-result")).toContainText("Well done", { timeout: 20_000 });

  // Quick lists: the freed block waits on its quick list (drawn as such), and the next malloc of its size takes it.
  await openLessons(page, "#quick-lists");
  const labels = await page.evaluate(() => {
    const { map } = window.heaplabDebug;
    map.draw();
    return map.lastDraw.labels.map((l) => l.text);
  });
  expect(labels.some((t) => t.startsWith("quick 48 B")), labels.join(" | ")).toBe(true);
  await run(page, "b = malloc(40)");
  await expect(page.locator(".step-caption")).toContainText("taken from the quick list for 48 bytes", { timeout: 15_000 });
  await expect(page.locator("#lesson-result")).toContainText("Well done", { timeout: 20_000 });
});
