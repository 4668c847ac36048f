// <heap-playground>: three independent embeds in the demo page's text, links
// that move one to step N, the one-line embed of the built module, the
// iframe page, attribute errors shown in the element, axe-core.
import { test, expect } from "./fixtures.js";
import { axeViolations } from "./axe.js";

async function openDemo(page) {
  await page.goto("demo.html");
  await expect(page.locator("body")).toHaveAttribute("data-ready", "true");
}

const used = (page, id) => page.locator(`#${id} .block-list tbody tr[data-state=used]`);
const stat = (page, id, key) => page.evaluate(([id, key]) => document.getElementById(id).session.snapshot().stats[key], [id, key]);

test("the demo page holds three independent embeds, each with its options, trace and panels", async ({ page }) => {
  await openDemo(page);
  await expect(page.locator("heap-playground")).toHaveCount(3);
  await expect(page.locator("#e1")).toHaveAttribute("data-step", "4");
  await expect(page.locator("#e1 .where")).toHaveText("Step 4 of 9: malloc(16) → #4");
  await expect(page.locator("#e2 .where")).toContainText("Step 6 of 7");
  await expect(page.locator("#e3")).toHaveAttribute("data-step", "7", { timeout: 15_000 }); // autoplay ran to the end

  const facts = await page.evaluate(() =>
    ["e1", "e2", "e3"].map((id) => {
      const e = document.getElementById(id);
      return { policy: e.session.options.policy, live: e.session.snapshot().stats.liveBlocks };
    }),
  );
  expect(facts).toEqual([
    { policy: "first-fit", live: 4 },
    { policy: "best-fit", live: 2 },
    { policy: "segregated", live: 3 },
  ]);
  expect(await page.evaluate(() => document.getElementById("e1").session.heap !== document.getElementById("e2").session.heap)).toBe(true);

  // Panels: e1 map + table, e2 map + stats, e3 map + console + stats.
  await expect(page.locator("#e1 [data-panel=table]")).toBeVisible();
  await expect(page.locator("#e1 [data-panel=console]")).toBeHidden();
  await expect(page.locator("#e2 [data-panel=stats]")).toBeVisible();
  await expect(page.locator("#e2 [data-panel=table]")).toBeHidden();
  await expect(page.locator("#e3 [data-panel=console]")).toBeVisible();

  // Acting in e3's console changes e3 only.
  await page.locator("#e3 #console-input").fill("p = malloc(500)");
  await page.locator("#e3 #console-input").press("Enter");
  await expect(page.locator("#e3 .console-log")).toContainText("p = malloc(500) returned");
  await expect(page.locator("#e3 .where")).toHaveText("Step 8 of 8: p = malloc(500) → #6");
  expect(await stat(page, "e3", "liveBlocks")).toBe(4);
  expect(await stat(page, "e1", "liveBlocks")).toBe(4);
  expect(await stat(page, "e2", "liveBlocks")).toBe(2);
});

test("a link in the text jumps an embed to step N; the step buttons move it on", async ({ page }) => {
  await openDemo(page);
  await page.click('a[data-embed="e1"][data-step="7"]');
  await expect(page.locator("#e1 .where")).toHaveText("Step 7 of 9: free(#2)");
  await expect(page.locator("#e1")).toHaveAttribute("step", "7");
  await expect(used(page, "e1")).toHaveCount(1); // a, b, c freed and merged; only #4 live
  const merged = await page.locator("#e1 .block-list tbody tr").first();
  await expect(merged).toHaveAttribute("data-state", "free");
  await expect(merged.locator("td:nth-child(2)")).toHaveText("144");
  expect(page.url()).not.toContain("#e1"); // the link did not navigate

  await page.click('a[data-embed="e1"][data-step="8"]');
  await expect(page.locator("#e1 .where")).toHaveText("Step 8 of 9: malloc(100) → #5");
  await expect(used(page, "e1")).toHaveCount(2);
  await page.locator("#e1").getByRole("button", { name: "Step back" }).click();
  await expect(page.locator("#e1 .where")).toHaveText("Step 7 of 9: free(#2)");
  await page.locator("#e1").getByRole("button", { name: "First step" }).click();
  await expect(page.locator("#e1 .where")).toHaveText("Step 0 of 9: the empty heap");
  await expect(used(page, "e1")).toHaveCount(0);

  // The other embeds did not move; goTo() and the step attribute work from script.
  await expect(page.locator("#e2 .where")).toContainText("Step 6 of 7");
  await page.click('a[data-embed="e2"][data-step="7"]');
  await expect(page.locator("#e2 .where")).toHaveText("Step 7 of 7: malloc(40) → #5");
  await page.evaluate(() => document.getElementById("e2").setAttribute("step", "2"));
  await expect(page.locator("#e2 .where")).toHaveText("Step 2 of 7: malloc(16) → #2");
});

test("the one-line embed: a page with the built module and one element", async ({ page }) => {
  await page.route("**/host.html", (route) =>
    route.fulfill({
      contentType: "text/html",
      body: '<!doctype html><html lang="en"><title>host</title><script type="module" src="./heap-playground.js"></script><p>Some docs.</p><heap-playground id="h" policy="best-fit" trace="traces/coalesce.rep" panels="map table" height="300"></heap-playground>',
    }),
  );
  await page.goto("host.html");
  await expect(page.locator("#h")).toHaveAttribute("data-ready", "true");
  await expect(page.locator("#h .where")).toHaveText("Step 9 of 9: malloc(24) → #6");
  await expect(used(page, "h")).toHaveCount(3);
  const height = await page.locator("#h .frame").evaluate((el) => el.getBoundingClientRect().height);
  expect(height).toBe(300);
});

test("the iframe page builds an embed from its query string", async ({ page }) => {
  await openDemo(page);
  const frame = page.frameLocator("#frame");
  await expect(frame.locator("heap-playground .where")).toHaveText("Step 9 of 9: malloc(24) → #6");
  await expect(frame.locator("heap-playground [data-panel=stats]")).toBeVisible();
  await expect(frame.locator("heap-playground [data-panel=table]")).toBeHidden();

  await page.goto(`embed.html?policy=next-fit&step=2&trace=${encodeURIComponent("2\n3\na 0 24\na 1 48\nf 0\n")}`);
  await expect(page.locator("body")).toHaveAttribute("data-ready", "true");
  await expect(page.locator("#embed .where")).toHaveText("Step 2 of 3: malloc(48) → #2");
  expect(await page.evaluate(() => document.getElementById("embed").session.options.policy)).toBe("next-fit");
});

test("a bad option or trace is reported inside the element, as text", async ({ page }) => {
  await page.goto(`embed.html?policy=no-such-fit`);
  await expect(page.locator("#embed")).toHaveAttribute("data-ready", "error");
  await expect(page.locator("#embed .message")).toContainText("policy");
  // A redraw scheduled before the failure must not replace the message (it
  // once did, with "could not draw the heap": there is no heap to draw).
  await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
  await expect(page.locator("#embed .message")).toContainText("policy");
  await page.goto(`embed.html?trace=${encodeURIComponent("2\n1\n<img src=x onerror=alert(1)>\n")}`);
  await expect(page.locator("#embed")).toHaveAttribute("data-ready", "error");
  await expect(page.locator("#embed .message")).toContainText("trace:3:");
  expect(await page.locator("#embed img").count()).toBe(0);
});

test("axe-core finds no violations on the demo page", async ({ page }) => {
  await openDemo(page);
  expect(await axeViolations(page)).toEqual([]);
});

test("an embed with `predict` asks where each step's block lands and keeps score; `animate` captions each event", async ({ page }) => {
  await openDemo(page);
  // A fresh element, added by the page's own script (as a docs author's page would).
  await page.evaluate(() => {
    const e = document.createElement("heap-playground");
    e.id = "quiz";
    e.setAttribute("policy", "first-fit");
    e.setAttribute("trace", "5\n7\na 0 40\na 1 8\na 2 100\na 3 8\nf 0\nf 2\na 4 64");
    e.setAttribute("step", "6");
    e.setAttribute("predict", "");
    document.body.append(e);
  });
  const quiz = page.locator("#quiz");
  await expect(quiz).toHaveAttribute("data-step", "6");
  await quiz.getByRole("button", { name: "Step forward" }).click();
  await expect(quiz).toHaveAttribute("data-predict", "waiting");
  await expect(quiz.locator(".step-caption")).toContainText("Where will malloc(64) go?");
  await quiz.locator("#predict-address").fill("0x1");
  await quiz.locator("form.predict button").click();
  await expect(quiz).toHaveAttribute("data-predict", "wrong");
  await expect(quiz.locator(".predict-score")).toContainText("0 of 1 right");
  // animate: stepping back and forward again plays the events with captions.
  await page.evaluate(() => {
    const e = document.getElementById("quiz");
    e.removeAttribute("predict");
    e.setAttribute("animate", "");
    e.goTo(6);
  });
  await quiz.getByRole("button", { name: "Step forward" }).click();
  await expect(quiz.locator(".step-caption")).toContainText(/Event \d+ of \d+/);
});

test("stepping an embed travels in time from checkpoints (one mechanism with the playground), not a replay from step 0", async ({ page }) => {
  await openDemo(page);
  const facts = await page.evaluate(async () => {
    const e = document.createElement("heap-playground");
    e.id = "long";
    // malloc-lab header: heap size hint, ids, operations, weight.
    const lines = ["0", "20000", "30000", "1"];
    for (let i = 0; i < 20000; i++) lines.push(`a ${i} ${16 + (i % 50)}`);
    for (let i = 0; i < 20000; i += 2) lines.push(`f ${i}`);
    e.setAttribute("trace", lines.join("\n"));
    e.setAttribute("panels", "map");
    document.body.append(e);
    await e.ready;
    const heap = e.session.heap;
    // Count the operations each move replays (every replay of this trace goes through run()).
    let replayed = 0;
    const run = heap.run.bind(heap);
    heap.run = (triples) => {
      replayed += triples.length / 3;
      return run(triples);
    };
    const out = { length: e.length, sameHeap: true, live: [], replayed: [] };
    for (const n of [29_000, 29_001, 10, 29_999, 30_000, 29_999, 14_000, 14_001]) {
      replayed = 0;
      e.goTo(n);
      out.sameHeap &&= e.session.heap === heap;
      out.live.push(e.session.snapshot().stats.liveBlocks);
      out.replayed.push(replayed);
    }
    // The element's own buttons go through the same time travel.
    replayed = 0;
    e.shadowRoot.querySelector('[aria-label="Step back"]').click();
    out.replayed.push(replayed);
    out.live.push(e.session.snapshot().stats.liveBlocks);
    return out;
  });
  expect(facts.length).toBe(30000);
  expect(facts.sameHeap).toBe(true);
  // After n operations: min(n, 20000) allocations, minus the frees done by then.
  const live = (n) => Math.min(n, 20000) - Math.max(0, Math.min(n - 20000, 10000));
  expect(facts.live).toEqual([29_000, 29_001, 10, 29_999, 30_000, 29_999, 14_000, 14_001, 14_000].map(live));
  // A step forward replays one operation (so does 29 999 to 30 000); a jump
  // or a step back, only those after the nearest checkpoint (512 apart here:
  // the load took them on its way to the end), never all from step 0.
  expect(facts.replayed).toEqual([29_000 % 512, 1, 10, 29_999 % 512, 1, 29_999 % 512, 14_000 % 512, 1, 14_000 % 512]);
});
