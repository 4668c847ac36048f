// Big loads replay in a worker: a 150k-operation trace file shows its
// progress and then its timeline, Cancel keeps the page as it was, and a
// share link or saved work of more than 50,000 operations restores through
// the worker. A big trace file is read (parsed) in the worker too: the page
// answers while it parses, and Cancel stops it. The page's own messages to
// the worker can be held back (Worker.prototype.postMessage wrapped before
// the page starts, on request), so that "while it loads" is a state the test
// controls, not a race.
import { test, expect, openPlayground } from "./fixtures.js";
import { message, run, settled } from "./helpers.js";
import { generateWorkload } from "../src/workloads.js";
import { recordedOps } from "../src/trace-files.js";
import { toRep } from "../src/trace.js";
import { encodeWork } from "../src/share.js";

const HOLD_KEY = "heaplab.test.hold-replay";

/**
 * Wraps Worker.prototype.postMessage: while sessionStorage names their type
 * ("replay", "read"), the messages of that type wait for `__replays.release()`.
 * `__replays.sent` counts the "replay" messages, `__replays.reads` the "read" ones.
 */
async function installHold(page) {
  await page.addInitScript((key) => {
    const held = [];
    const post = Worker.prototype.postMessage;
    window.__replays = {
      sent: 0,
      reads: 0,
      held: () => held.length,
      release() {
        for (const send of held.splice(0)) send();
      },
    };
    Worker.prototype.postMessage = function (data, ...rest) {
      if (data?.type === "replay" || data?.type === "read") {
        if (data.type === "replay") window.__replays.sent++;
        else window.__replays.reads++;
        if ((sessionStorage.getItem(key) ?? "").split(" ").includes(data.type)) {
          held.push(() => post.call(this, data, ...rest));
          return;
        }
      }
      return post.call(this, data, ...rest);
    };
  }, HOLD_KEY);
}

/** Holds the messages of `types` ("replay" for `true`, or e.g. "read"), or none for `false`. */
const hold = (page, types) => page.evaluate(([key, value]) => (value ? sessionStorage.setItem(key, value) : sessionStorage.removeItem(key)), [HOLD_KEY, types === true ? "replay" : types || ""]);
const released = (page) => page.evaluate(() => window.__replays.release());
const where = (page) => page.evaluate(() => ({ at: window.heaplabDebug.timeline.at, length: window.heaplabDebug.timeline.length, trace: window.heaplabDebug.session.trace.length }));
const rows = (page) => page.locator("#block-list tbody tr").allTextContents();

async function traceFile(seed, count) {
  const trace = await generateWorkload("random", { seed, count });
  return { name: `random-${count}.rep`, mimeType: "text/plain", buffer: Buffer.from(toRep(trace)) };
}

/** Records every value the progress bar shows (the worker's reports as the page received them). */
const watchProgress = (page) =>
  page.evaluate(() => {
    const bar = document.getElementById("replay-progress");
    window.__progress = [];
    new MutationObserver(() => window.__progress.push(Number(bar.getAttribute("value")))).observe(bar, { attributes: true, attributeFilter: ["value"] });
  });

test("a 150k-operation trace file replays in the worker with its progress, then the timeline is there; Cancel keeps the page as it was", async ({ page }) => {
  test.setTimeout(180_000);
  await installHold(page);
  await openPlayground(page);
  const status = page.locator("#replay-status");
  await expect(status).toBeHidden();

  // 1. The big file: progress while the worker replays it; the page stays usable meanwhile.
  await hold(page, true);
  await page.setInputFiles("#trace-file", await traceFile(21, 150_000));
  await expect(status).toBeVisible();
  await expect(page.locator("#replay-text")).toHaveText("Replaying 0 of 150,000 operations…");
  await expect(page.locator("#replay-cancel")).toBeVisible();
  expect(await page.locator("#replay-progress").getAttribute("max")).toBe("150000");
  await expect(page.locator("body")).toHaveAttribute("data-replaying", "true");
  await run(page, "p = malloc(40)");
  await expect(message(page)).toContainText("p = malloc(40) returned");
  expect(await where(page)).toEqual({ at: 1, length: 1, trace: 1 });
  await watchProgress(page);
  await hold(page, false);
  await released(page);
  await expect(message(page)).toHaveText("Opened random-150000.rep: 150000 operations loaded; press Play or move the time slider", { timeout: 60_000 });
  await expect(status).toBeHidden();
  await expect(page.locator("body")).not.toHaveAttribute("data-replaying", "true");
  expect(await where(page)).toEqual({ at: 0, length: 150_000, trace: 0 });
  await expect(page.locator("#timeline-label")).toHaveText("0 of 150000");
  await expect(page.locator("#play-button")).toBeEnabled();
  const progress = await page.evaluate(() => window.__progress);
  expect(progress.length, "progress every few thousand operations").toBeGreaterThanOrEqual(10);
  expect(progress.at(-1)).toBe(150_000);
  expect(progress.slice(1).every((v, i) => v > progress[i]), "progress only goes forward").toBe(true);

  // The timeline works: a jump, and Redo.
  expect(await page.evaluate(() => window.heaplabDebug.timeline.goto(70_000).ok)).toBe(true);
  await page.click("#redo-button");
  expect(await where(page)).toEqual({ at: 70_001, length: 150_000, trace: 70_001 });
  await settled(page);
  const before = await rows(page);
  expect(before.length).toBeGreaterThan(10);

  // 2. Another big file, cancelled: the page is as it was.
  await hold(page, true);
  await page.setInputFiles("#trace-file", await traceFile(22, 120_000));
  await expect(status).toBeVisible();
  await expect(page.locator("#replay-text")).toHaveText("Replaying 0 of 120,000 operations…");
  await page.click("#replay-cancel");
  await expect(status).toBeHidden();
  await expect(message(page)).toHaveText("random-120000.rep was not opened: Loading cancelled after 0 of 120000 operations: nothing was changed");
  await expect(message(page)).not.toHaveClass(/\berror\b/);
  // Its worker is gone: the message it never got changes nothing now.
  await released(page);
  await page.waitForTimeout(500);
  expect(await where(page)).toEqual({ at: 70_001, length: 150_000, trace: 70_001 });
  await settled(page);
  expect(await rows(page)).toEqual(before);

  // 3. A big load that a small one overtakes says nothing; the small one wins.
  await page.setInputFiles("#trace-file", await traceFile(23, 60_000));
  await expect(status).toBeVisible();
  // Read in the worker (over 512 KB) first: the replay is posted (and held) once it is read.
  await expect(page.locator("#replay-text")).toHaveText("Replaying 0 of 60,000 operations…");
  await page.selectOption("#workload", "stack");
  await page.click("#workload-load");
  await expect(message(page)).toContainText("Loaded the");
  await expect(status).toBeHidden();
  await released(page);
  await page.waitForTimeout(500);
  await expect(message(page)).toContainText("Loaded the");
  const small = await where(page);
  expect(small.length).toBeLessThan(50_000);
  expect(await page.evaluate(() => window.__replays.sent)).toBe(3);
});

test("a 200k-operation trace file is read in the worker: the page answers while it parses, Cancel stops it, and then it opens", async ({ page }) => {
  test.setTimeout(180_000);
  await installHold(page);
  await openPlayground(page);
  const status = page.locator("#replay-status");
  const file = await traceFile(24, 200_000);
  expect(file.buffer.length).toBeGreaterThan(1_500_000); // well over READ_IN_WORKER_BYTES

  // 1. The file is in the worker's hands (its message held): the page says so, and answers.
  await hold(page, "read");
  await page.setInputFiles("#trace-file", file);
  await expect(status).toBeVisible();
  await expect(page.locator("#replay-text")).toHaveText(/^Reading random-200000\.rep \(1\.\d MB\)…$/);
  expect(await page.locator("#replay-progress").getAttribute("value"), "no figure before the operations are known").toBeNull();
  await expect(page.locator("body")).toHaveAttribute("data-replaying", "true");
  await run(page, "p = malloc(40)");
  await expect(message(page)).toContainText("p = malloc(40) returned");
  await page.click("#undo-button");
  expect(await where(page)).toEqual({ at: 0, length: 1, trace: 0 });
  await page.click("#redo-button");
  expect(await where(page)).toEqual({ at: 1, length: 1, trace: 1 });

  // Cancel: nothing changes, and the worker's answer never comes.
  await page.click("#replay-cancel");
  await expect(status).toBeHidden();
  await expect(message(page)).toHaveText("random-200000.rep was not opened: Reading cancelled: nothing was changed");
  await expect(message(page)).not.toHaveClass(/\berror\b/);
  await released(page);
  await page.waitForTimeout(500);
  expect(await where(page)).toEqual({ at: 1, length: 1, trace: 1 });
  expect(await page.evaluate(() => [window.__replays.reads, window.__replays.sent])).toEqual([1, 0]);

  // 2. The same file for real: parsed in the worker, then replayed there. The page's longest task
  // from the file's "change" event on is printed (before it, Playwright builds the File in the page).
  await hold(page, false);
  await page.evaluate(() => {
    window.__longest = 0;
    let since = Infinity;
    document.getElementById("trace-file").addEventListener("change", () => (since = performance.now()), { capture: true, once: true });
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) if (entry.startTime >= since) window.__longest = Math.max(window.__longest, entry.duration);
    }).observe({ type: "longtask" });
  });
  const started = Date.now();
  await page.setInputFiles("#trace-file", file);
  await expect(message(page)).toHaveText("Opened random-200000.rep: 200000 operations loaded; press Play or move the time slider", { timeout: 90_000 });
  const longest = await page.evaluate(() => window.__longest);
  console.log(`a 200k-operation file (${(file.buffer.length / 1e6).toFixed(1)} MB) read and replayed in the worker in ${Date.now() - started} ms; the page's longest task meanwhile: ${longest.toFixed(0)} ms`);
  expect(await page.evaluate(() => [window.__replays.reads, window.__replays.sent])).toEqual([2, 1]);
  expect(await where(page)).toEqual({ at: 0, length: 200_000, trace: 0 });
  await expect(status).toBeHidden();

  // 3. A malformed big file: its first bad line, found in the worker, and nothing changed.
  const text = file.buffer.toString("utf8").split("\n");
  text[150_000] = "f 99999999";
  await page.setInputFiles("#trace-file", { name: "bad-200000.rep", mimeType: "text/plain", buffer: Buffer.from(text.join("\n")) });
  await expect(message(page)).toHaveText(/^Error: bad-200000\.rep:150001: id 99999999 is not below the declared number of ids \(\d+\) \(nothing was changed\) \(malformed-trace\)$/);
  expect(await page.evaluate(() => window.__replays.reads)).toBe(3);
  expect(await where(page)).toEqual({ at: 0, length: 200_000, trace: 0 });
});

/** Work of `count` operations (the random workload) with the last `bad` ones after a free of a block never allocated. */
async function bigWork(count, { at = count, policy = "best-fit", breakAt = null } = {}) {
  const ops = recordedOps(await generateWorkload("random", { seed: 31, count }));
  if (breakAt !== null) ops.splice(breakAt, 0, { op: "free", id: 999_999 });
  return { ops, encoded: await encodeWork({ options: { policy }, ops, at }) };
}

test("a share link of more than 50,000 operations restores through the worker", async ({ page }) => {
  test.setTimeout(180_000);
  await installHold(page);
  const { encoded } = await bigWork(60_000, { at: 45_000 });
  await openPlayground(page);
  await hold(page, true);
  await page.goto(`./#work=${encoded}`);
  await page.reload();
  await expect(page.locator("#replay-status")).toBeVisible();
  await expect(page.locator("#replay-text")).toHaveText("Replaying 0 of 60,000 operations…");
  await expect(page.locator("body")).not.toHaveAttribute("data-ready", "true");
  await hold(page, false);
  await released(page);
  await expect(page.locator("body")).toHaveAttribute("data-ready", "true", { timeout: 60_000 });
  await expect(message(page)).toHaveText("Restored the heap from the shared link: 60000 operations loaded, at operation 45000");
  await expect(page.locator("#replay-status")).toBeHidden();
  await expect(page.locator("#opt-policy")).toHaveValue("best-fit");
  expect(await where(page)).toEqual({ at: 45_000, length: 60_000, trace: 45_000 });
  await expect(page.locator("#timeline-label")).toHaveText(/^45000 of 60000: last /);
  expect(await page.evaluate(() => window.__replays.sent)).toBe(1);
});

test("saved work of more than 50,000 operations restores through the worker; a reload while it replays loses nothing; a failing operation is dropped with what follows", async ({ page }) => {
  test.setTimeout(180_000);
  await installHold(page);
  await openPlayground(page);
  const good = await bigWork(55_000, { at: 54_000 });
  await page.evaluate((work) => localStorage.setItem("heaplab.saved-work", work), good.encoded);
  await hold(page, true);
  await page.reload();
  await expect(page.locator("#replay-text")).toHaveText("Replaying 0 of 55,000 operations…");
  // The restore guard is set only once the worker is done: a reload now is no failed restore.
  expect(await page.evaluate(() => localStorage.getItem("heaplab.restoring"))).toBeNull();
  await hold(page, false);
  await page.reload();
  await expect(page.locator("body")).toHaveAttribute("data-ready", "true", { timeout: 60_000 });
  await expect(message(page)).toHaveText("Restored the heap from the saved work: 55000 operations loaded, at operation 54000");
  expect(await where(page)).toEqual({ at: 54_000, length: 55_000, trace: 54_000 });
  expect(await page.evaluate(() => [window.__replays.sent, localStorage.getItem("heaplab.restoring")])).toEqual([1, null]);

  // Saved work the heap refuses part of: the operations from the first failing one on are dropped.
  const broken = await bigWork(52_000, { at: 52_001, breakAt: 51_000 });
  await page.evaluate((work) => localStorage.setItem("heaplab.saved-work", work), broken.encoded);
  await page.reload();
  await expect(page.locator("body")).toHaveAttribute("data-ready", "true", { timeout: 60_000 });
  await expect(message(page)).toHaveText(
    "Error: Restored the heap from the saved work: free #999999 (operation 51001) failed: unknown-block (1001 operations dropped), at operation 51000 (replay-failed)",
  );
  expect(await where(page)).toEqual({ at: 51_000, length: 51_000, trace: 51_000 });

  // Cancel while saved work restores: an empty page, and the saved work still kept.
  await page.evaluate((work) => localStorage.setItem("heaplab.saved-work", work), good.encoded);
  await hold(page, true);
  await page.reload();
  await expect(page.locator("#replay-status")).toBeVisible();
  await page.click("#replay-cancel");
  await expect(page.locator("body")).toHaveAttribute("data-ready", "true");
  await expect(message(page)).toContainText("Restoring the saved work was stopped: Loading cancelled after 0 of 55000 operations: nothing was changed. It is still kept in this browser");
  expect(await where(page)).toEqual({ at: 0, length: 0, trace: 0 });
  expect(await page.evaluate(() => localStorage.getItem("heaplab.saved-work"))).toBe(good.encoded);
  await hold(page, false);
});
