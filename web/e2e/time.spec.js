// Step mode, the timeline (scrubbing, undo / redo, keys, play), traces in and
// out (file picker, drag-and-drop, export), share links and saved work.
import { existsSync, readFileSync } from "node:fs";
import { test, expect, openPlayground } from "./fixtures.js";
import { usedRows, message, run, settled } from "./helpers.js";

const MALLOCLAB = "/work/shared/traces/malloclab";
/** A malloc-lab trace: the course's file when it is here, else the same operations written out. */
function mallocLab(name, fallback) {
  const path = `${MALLOCLAB}/${name}`;
  return existsSync(path) ? { name, mimeType: "text/plain", buffer: readFileSync(path) } : { name, mimeType: "text/plain", buffer: Buffer.from(fallback) };
}
const SHORT1 = "6\n12\na 0 2040\na 1 2040\nf 1\na 2 48\na 3 4072\nf 3\na 4 4072\nf 0\nf 2\na 5 4072\nf 4\nf 5\n";
const SHORT1_CLASSIC = `20000\n${SHORT1}`.replace("\n12\n", "\n12\n1\n");

const at = (page) => page.evaluate(() => window.heaplabDebug.timeline.at);

test("step mode: an allocation animates the search (rejected blocks and why), the split and the header; a free animates the merge", async ({ page }) => {
  await openPlayground(page);
  // Holes of 24 and 56 bytes between used blocks (first fit walks past the first).
  await run(page, "a = malloc(16)", "b = malloc(32)", "c = malloc(48)", "d = malloc(64)", "e = malloc(80)", "free(b)", "free(d)");
  await page.check("#step-mode");
  // Paused: one event at a time with "Next event".
  await page.click("#step-pause");
  await expect(page.locator("#step-pause")).toHaveText("Resume");
  await run(page, "x = malloc(40)");
  const caption = page.locator("#step-caption");
  const roles = () => page.evaluate(() => window.heaplabDebug.map.marks.map((m) => m.role));
  await expect(caption).toHaveText(/^Event 1 of 7: malloc\(40\): .*first fit walks the free list/);
  await page.click("#step-next");
  await expect(caption).toHaveText(/^Event 2 of 7: first fit: looks at the free block at 0x[0-9a-f]+ \(40 bytes\)$/);
  expect(await roles()).toEqual(["visit"]);
  await page.click("#step-next");
  await expect(caption).toHaveText(/^Event 3 of 7: first fit: block at 0x[0-9a-f]+ \(40 bytes\) is too small for 40 bytes$/);
  expect(await roles()).toEqual(["reject"]);
  await page.click("#step-next");
  await page.click("#step-next");
  await expect(caption).toHaveText(/^Event 5 of 7: first fit: chooses the block at 0x[0-9a-f]+ \(72 bytes\)$/);
  expect(await roles()).toEqual(["reject", "choose"]);
  // While the policy only looks, the map shows the heap as it was before: the chosen hole still free, whole.
  const body = page.locator("body");
  await expect(body).toHaveAttribute("data-step-shows", "before");
  const chosen = await page.evaluate(() => window.heaplabDebug.map.marks[1].start);
  const stateAt = (address) =>
    page.evaluate((a) => {
      const { blocks } = window.heaplabDebug.map.hooks.snapshot();
      for (let i = 0; i < blocks.length; i += 6) if (blocks[i] === a) return [blocks[i + 1], blocks[i + 4] & 1];
      return null;
    }, address);
  expect(await stateAt(chosen)).toEqual([72, 0]);
  await page.click("#step-next");
  await expect(caption).toHaveText(/^Event 6 of 7: splits it: the first 48 bytes serve the request, the remaining 24 bytes/);
  expect(await roles()).toEqual(["split", "remainder"]);
  await expect(body).toHaveAttribute("data-step-shows", "after");
  expect(await stateAt(chosen)).toEqual([48, 1]);
  // Resumed at the fast speed, it plays to the last event: the header written.
  await page.selectOption("#step-speed", "250");
  await page.click("#step-pause");
  await expect(page.locator("#step-pause")).toHaveText("Pause");
  await expect(caption).toHaveText(/^Event 7 of 7: writes the header at 0x[0-9a-f]+: 48 bytes, used/);
  expect(await roles()).toEqual(["header", "split"]);

  // A free, paused again.
  await page.selectOption("#step-speed", "1600");
  await page.click("#step-pause");
  await expect(page.locator("#step-pause")).toHaveText("Resume");
  await run(page, "free(c)");
  await expect(caption).toHaveText(/^Event 1 of \d+: free\(0x[0-9a-f]+\)/);
  await page.click("#step-next");
  await expect(caption).toHaveText(/^Event 2 of \d+: marks the block at 0x[0-9a-f]+ \(56 bytes\) free/);
  await page.click("#step-next");
  await expect(caption).toHaveText(/^Event 3 of \d+: merges the free neighbours/);
  expect(await page.evaluate(() => window.heaplabDebug.map.marks.map((m) => m.role))).toEqual(["merge"]);
  // Undo clears the highlights; stepping forward (redo) animates the same free again.
  await page.click("#undo-button");
  await expect(caption).toHaveText("");
  await page.click("#redo-button");
  await expect(caption).toHaveText(/^Event 1 of \d+: free/);
  await page.selectOption("#step-speed", "250");
  await page.click("#step-pause");
  await expect(caption).toHaveText(/^Event (\d+) of \1: merges/);
});

test("deferred coalescing: a free only marks; the sweep merges later", async ({ page }) => {
  await openPlayground(page);
  await page.selectOption("#opt-coalesce", "deferred");
  await run(page, "a = malloc(16)", "b = malloc(16)", "c = malloc(16)");
  await page.check("#step-mode");
  await page.selectOption("#step-speed", "250");
  await run(page, "free(a)");
  await expect(page.locator("#step-caption")).toContainText("coalescing is deferred, so its free neighbours merge only at the next sweep");
});

test("scrubbing, undo / redo and the keys move through time; a new operation after going back drops the future", async ({ page }) => {
  await openPlayground(page);
  await run(page, "p = malloc(100)", "q = malloc(200)", "r = malloc(300)", "free(q)", "s = malloc(50)");
  await settled(page);
  await expect(page.locator("#timeline-label")).toHaveText("5 of 5: last s = malloc(50) → #4");
  await page.locator("#scrubber").fill("2");
  await expect(page.locator("#timeline-label")).toContainText("2 of 5");
  await expect(usedRows(page)).toHaveCount(2);
  await page.locator("#scrubber").fill("3");
  await expect(usedRows(page)).toHaveCount(3);
  await page.click("#undo-button");
  await expect(usedRows(page)).toHaveCount(2);
  await page.click("#redo-button");
  await page.click("#redo-button");
  expect(await at(page)).toBe(4);
  await expect(usedRows(page)).toHaveCount(2);
  // Keys, from anywhere but the fields and the map.
  await page.locator("h1").click();
  await page.keyboard.press("ArrowLeft");
  await page.keyboard.press("ArrowLeft");
  expect(await at(page)).toBe(2);
  await page.keyboard.press("ArrowRight");
  expect(await at(page)).toBe(3);
  await page.selectOption("#play-speed", "10");
  await page.locator("h1").click();
  await page.keyboard.press(" ");
  await expect(page.locator("#play-button")).toHaveAttribute("aria-pressed", "true");
  await expect.poll(() => at(page)).toBe(5);
  await expect(page.locator("#play-button")).toHaveAttribute("aria-pressed", "false");
  // Back to 1, then something new: the rest is gone.
  await page.locator("#scrubber").fill("1");
  await run(page, "t = malloc(8)");
  await expect(page.locator("#timeline-label")).toHaveText("2 of 2: last t = malloc(8) → #2");
  await expect(page.locator("#redo-button")).toBeDisabled();
});

test("import a malloc-lab trace (both headers), play it, scrub back, step through one allocation", async ({ page }) => {
  await openPlayground(page);
  await page.setInputFiles("#trace-file", mallocLab("short1-classic.rep", SHORT1_CLASSIC));
  await expect(message(page)).toContainText("Opened short1-classic.rep: 12 operations loaded");
  expect(await at(page)).toBe(0);
  await page.setInputFiles("#trace-file", mallocLab("short1-bal.rep", SHORT1));
  await expect(message(page)).toContainText("Opened short1-bal.rep: 12 operations loaded");
  await page.selectOption("#play-speed", "100");
  await page.click("#play-button");
  await expect(message(page)).toContainText("Played to the end: 12 operations");
  await expect(page.locator("#play-progress")).toHaveJSProperty("value", 12);
  await expect(usedRows(page)).toHaveCount(0);
  // Scrub back to after operation 5: ids 0, 2, 3 live (blocks #1, #3, #4).
  await page.locator("#scrubber").fill("5");
  await settled(page);
  expect(await usedRows(page).evaluateAll((rows) => rows.map((r) => r.dataset.id))).toEqual(["1", "3", "4"]);
  // Step through the next allocation (a 3 4072 was op 5; op 6 frees it, op 7 allocates again).
  await page.locator("#scrubber").fill("6");
  await page.check("#step-mode");
  await page.click("#step-pause");
  await page.click("#redo-button");
  await expect(page.locator("#step-caption")).toHaveText(/^Event 1 of \d+: malloc\(4072\)/);
  await page.click("#step-next");
  await expect(page.locator("#step-caption")).toHaveText(/^Event 2 of \d+: first fit: looks at the free block/);
});

test("a malformed file reports its first bad line and changes nothing; drag-and-drop opens a file", async ({ page }) => {
  await openPlayground(page);
  await run(page, "p = malloc(64)");
  await settled(page);
  await page.setInputFiles("#trace-file", { name: "bad.rep", mimeType: "text/plain", buffer: Buffer.from("2\n3\na 0 24\nf 1\na 1 8\n") });
  await expect(message(page)).toHaveText(/^Error: bad\.rep:4: .*\(nothing was changed\)/);
  await expect(usedRows(page)).toHaveCount(1);
  expect(await page.evaluate(() => window.heaplabDebug.timeline.length)).toBe(1);
  await page.setInputFiles("#trace-file", { name: "bad.json", mimeType: "application/json", buffer: Buffer.from('{"format":"heaplab-trace","version":1,\n"ops":[["a",0,8],\n["q",0]]}') });
  await expect(message(page)).toContainText("bad.json:");
  await expect(usedRows(page)).toHaveCount(1);

  // Drop a JSON trace on the map.
  const json = '{"format":"heaplab-trace","version":1,"options":{"policy":"best-fit"},"ops":[["a",0,24],["a",1,48],["f",0]]}';
  const data = await page.evaluateHandle((text) => {
    const dt = new DataTransfer();
    dt.items.add(new File([text], "dropped.json", { type: "application/json" }));
    return dt;
  }, json);
  await page.dispatchEvent(".map-wrap", "dragover", { dataTransfer: data });
  await page.dispatchEvent(".map-wrap", "drop", { dataTransfer: data });
  await expect(message(page)).toContainText("Opened dropped.json: 3 operations loaded");
  await expect(page.locator("#opt-policy")).toHaveValue("best-fit");
});

test("export the recorded operations as .rep and as JSON", async ({ page }) => {
  await openPlayground(page);
  await run(page, "p = malloc(24)", "q = calloc(4, 8)", "p = realloc(p, 100)", "free(q)");
  await settled(page);
  const [rep] = await Promise.all([page.waitForEvent("download"), page.click("#export-rep")]);
  expect(rep.suggestedFilename()).toBe("heaplab-trace.rep");
  expect(readFileSync(await rep.path(), "utf8")).toBe("2\n4\na 0 24\na 1 32\nr 0 100\nf 1\n");
  await page.selectOption("#opt-policy", "segregated");
  const [json] = await Promise.all([page.waitForEvent("download"), page.click("#export-json")]);
  const doc = JSON.parse(readFileSync(await json.path(), "utf8"));
  expect(doc.options.policy).toBe("segregated");
  expect(doc.ops).toEqual([["a", 0, 24], ["a", 1, 32], ["r", 0, 100], ["f", 1]]);
});

test("a share link restores the same heap; a bad link says so and the page works; a long trace downloads instead", async ({ page, context }) => {
  await openPlayground(page);
  await page.selectOption("#opt-policy", "best-fit");
  await run(page, "p = malloc(24)", "q = malloc(100)", "r = aligned_alloc(64, 10)", "free(q)", 'strcpy(p, "hi")');
  await page.locator("#scrubber").fill("4");
  await settled(page);
  const rows = await page.locator("#block-list tbody tr").allTextContents();
  await page.click("#share-button");
  await expect(message(page)).toContainText("Share link ready");
  const url = await page.locator("#share-url").inputValue();
  expect(url).toMatch(/#work=[A-Za-z0-9_-]+$/);

  const other = await context.browser().newPage();
  await openPlayground(other, url);
  await expect(other.locator("#message")).toContainText("Restored the heap from the shared link");
  await expect(other.locator("#opt-policy")).toHaveValue("best-fit");
  expect(await other.evaluate(() => [window.heaplabDebug.timeline.at, window.heaplabDebug.timeline.length])).toEqual([4, 5]);
  await settled(other);
  expect(await other.locator("#block-list tbody tr").allTextContents()).toEqual(rows);
  await other.close();

  const bad = await context.newPage();
  await openPlayground(bad, "./#work=AAAA-not-a-heap");
  await expect(bad.locator("#message")).toContainText("The shared link could not be read");
  await run(bad, "p = malloc(8)");
  await expect(bad.locator("#message")).toContainText("returned");
  await bad.close();

  await page.selectOption("#workload", "random");
  await page.evaluate(async () => {
    const { timeline } = window.heaplabDebug;
    const ops = [];
    for (let i = 1; i <= 4000; i++) ops.push({ op: "malloc", id: i, size: 8 + ((i * 7919) % 500), align: 0 });
    timeline.load(ops);
  });
  const [file] = await Promise.all([page.waitForEvent("download"), page.click("#share-button")]);
  expect(file.suggestedFilename()).toBe("heaplab-trace.json");
  await expect(message(page)).toContainText("Too long for a link");
});

test("the last work survives a reload; Clear saved work forgets it; bad saved data is reported", async ({ page }) => {
  await openPlayground(page);
  await run(page, "p = malloc(24)", "q = malloc(48)", "free(p)");
  await expect(page.locator("body")).toHaveAttribute("data-saved", "3");
  await page.reload();
  await expect(page.locator("body")).toHaveAttribute("data-ready", "true");
  await expect(message(page)).toContainText("Restored the heap from the saved work");
  await expect(usedRows(page)).toHaveCount(1);
  expect(await page.evaluate(() => window.heaplabDebug.timeline.length)).toBe(3);
  await expect(page.locator("#clear-saved")).toBeVisible();
  await page.click("#clear-saved");
  await expect(message(page)).toContainText("Saved work cleared");
  await page.reload();
  await expect(page.locator("body")).toHaveAttribute("data-ready", "true");
  expect(await page.evaluate(() => window.heaplabDebug.timeline.length)).toBe(0);
  await page.evaluate(() => localStorage.setItem("heaplab.saved-work", "%%% not work %%%"));
  await page.reload();
  await expect(page.locator("body")).toHaveAttribute("data-ready", "true");
  await expect(message(page)).toContainText("The saved work could not be read");
  expect(await page.evaluate(() => localStorage.getItem("heaplab.saved-work"))).toBe(null);
});

test("built-in workloads load with their explanation", async ({ page }) => {
  await openPlayground(page);
  for (const key of ["stack", "recorded"]) {
    await page.selectOption("#workload", key);
    await expect(page.locator("#workload-explain")).not.toBeEmpty();
    await page.click("#workload-load");
    await expect(message(page)).toContainText("operations loaded");
  }
  await expect(message(page)).toContainText("ls -lR");
  expect(await page.evaluate(() => window.heaplabDebug.timeline.length)).toBeGreaterThan(1000);
});
