// Time travel benchmarks in headless Chromium (printed, not asserted): a jump
// anywhere in a 100k-operation trace, and playing it to the end at full speed.
import { test, expect, openPlayground } from "./fixtures.js";
import { generateWorkload } from "../src/workloads.js";
import { toRep } from "../src/trace.js";

async function import100k(page) {
  const trace = await generateWorkload("random", { seed: 11, count: 100_000 });
  await page.setInputFiles("#trace-file", { name: "random-100k.rep", mimeType: "text/plain", buffer: Buffer.from(toRep(trace)) });
  await expect(page.locator("#message")).toContainText("100000 operations loaded", { timeout: 30_000 });
}

test("benchmark: a jump anywhere in a 100k-operation trace", async ({ page }) => {
  test.setTimeout(120_000);
  await openPlayground(page);
  await import100k(page);
  const result = await page.evaluate(() => {
    const { timeline, map } = window.heaplabDebug;
    let seed = 12345;
    const random = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    const times = [];
    for (let i = 0; i < 40; i++) {
      const n = Math.floor(random() * (timeline.length + 1));
      const t0 = performance.now();
      timeline.goto(n);
      map.draw();
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    return { median: times[20], max: times[39], checkpoints: timeline.checkpoints.length, spacing: timeline.spacing };
  });
  console.log(
    `time travel (headless Chromium): 100k operations, ${result.checkpoints} checkpoints every ${result.spacing} operations; ` +
      `40 random jumps, rebuilt and redrawn: median ${result.median.toFixed(1)} ms, max ${result.max.toFixed(1)} ms`,
  );
  expect(result.checkpoints).toBeGreaterThan(0);
});

test("benchmark: a 100k-operation trace plays to the end at full speed", async ({ page }) => {
  test.setTimeout(120_000);
  await openPlayground(page);
  await import100k(page);
  await page.selectOption("#play-speed", "max");
  await page.click("#play-button");
  await expect(page.locator("body")).toHaveAttribute("data-played", /\d/, { timeout: 60_000 });
  const seconds = Number(await page.locator("body").getAttribute("data-played"));
  console.log(`play (headless Chromium): 100k operations to the end at full speed in ${seconds.toFixed(2)} s`);
  expect(await page.evaluate(() => window.heaplabDebug.timeline.at)).toBe(100_000);
});
