// A trace recorded from a real program by the LD_PRELOAD library
// (HEAPLAB_TRACE, crate/preload) opens in the playground: `ls -l` under the
// lean heap writes its calls as a .rep file, the playground reads it, its
// timeline has every call, and in the middle the heap holds ls's blocks.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test, expect, openPlayground } from "./fixtures.js";
import { buildLibrary, runProgram } from "../../scripts/preload.mjs";

test("a trace recorded from ls under LD_PRELOAD opens in the playground and steps", async ({ page }) => {
  buildLibrary();
  const dir = mkdtempSync(join(tmpdir(), "heaplab-e2e-trace-"));
  const file = join(dir, "ls.rep");
  const run = runProgram("ls", ["-l", "/usr/share/doc"], { preload: { policy: "segregated", trace: file } });
  expect(run.status, run.stderr).toBe(0);
  const text = readFileSync(file, "utf8");
  rmSync(dir, { recursive: true, force: true });
  const operations = Number(text.split("\n")[1].trim());
  expect(operations).toBeGreaterThan(500);

  await openPlayground(page);
  await page.setInputFiles("#trace-file", { name: "ls.rep", mimeType: "text/plain", buffer: Buffer.from(text) });
  await expect(page.locator("#timeline-label")).toContainText(`of ${operations}`);
  const middle = Math.floor(operations / 2);
  expect(await page.evaluate((n) => window.heaplabDebug.timeline.goto(n).ok, middle)).toBe(true);
  await expect(page.locator("#timeline-label")).toContainText(`${middle} of ${operations}`);
  await expect(page.locator("#block-list tbody tr[data-state=used]").first()).toBeVisible();
  expect(await page.evaluate(() => window.heaplabDebug.session.check().ok)).toBe(true);
});
