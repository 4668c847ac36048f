// Speed: a full redraw of the map for a 64 MiB heap with 100k blocks and for
// 1 MiB with 1k blocks, timed in headless Chromium; and no redraw when idle.
import { test, expect, openPlayground } from "./fixtures.js";

async function build(page, blocks, size) {
  return page.evaluate(
    ({ blocks, size }) => {
      const { session } = window.heaplabDebug;
      session.reset();
      for (let i = 0; i < blocks; i++) {
        const r = session.malloc(size);
        if (!r.ok) throw new Error(r.message);
      }
      // Every third block freed: used and free blocks alternate.
      for (let id = 1; id <= blocks; id += 3) session.free({ id });
      return { heapBytes: session.heap.stats().heapBytes, blocks: session.snapshot().blocks.length / 6 };
    },
    { blocks, size },
  );
}

async function time(page, runs = 30) {
  return page.evaluate((runs) => {
    const { map } = window.heaplabDebug;
    map.draw(); // warm up
    const times = [];
    for (let i = 0; i < runs; i++) {
      map.layoutKey = ""; // a full redraw: geometry too
      times.push(map.draw());
    }
    times.sort((a, b) => a - b);
    return { median: times[runs >> 1], max: times[runs - 1], drawn: map.lastDraw.blocks, perRow: map.layout.bytesPerRow };
  }, runs);
}

test("benchmark: full redraw of 64 MiB with 100k blocks and of 1 MiB with 1k blocks", async ({ page }) => {
  test.setTimeout(120_000);
  await openPlayground(page);
  const small = await build(page, 1000, 1000);
  expect(small.blocks).toBeGreaterThanOrEqual(1000);
  const smallTime = await time(page);
  const large = await build(page, 100_000, 640);
  expect(large.heapBytes).toBeGreaterThanOrEqual(60 << 20);
  expect(large.blocks).toBeGreaterThanOrEqual(100_000);
  const largeTime = await time(page);
  await page.evaluate(() => window.heaplabDebug.map.fit());
  const largeFit = await time(page);
  const line = (name, t) => `${name}, ${t.perRow} bytes a row: median ${t.median.toFixed(2)} ms, max ${t.max.toFixed(2)} ms, ${t.drawn} blocks drawn`;
  console.log(
    [
      "heap map redraw (headless Chromium)",
      line(`1 MiB heap, ${small.blocks} blocks`, smallTime),
      line(`${(large.heapBytes / 2 ** 20).toFixed(0)} MiB heap, ${large.blocks} blocks`, largeTime),
      line(`same, zoomed out to fit (every block visible)`, largeFit),
    ].join("\n  "),
  );
  expect(largeTime.median).toBeLessThan(16);
  expect(smallTime.median).toBeLessThan(16);
  expect(largeFit.median).toBeLessThan(100);
});

test("the map redraws only when something changed", async ({ page }) => {
  await openPlayground(page);
  const frames = () => page.evaluate(() => window.heaplabDebug.frames);
  await page.waitForTimeout(300);
  const idle = await frames();
  await page.waitForTimeout(500);
  expect(await frames()).toBe(idle);
  await page.evaluate(() => window.heaplabDebug.session.malloc(64));
  await expect.poll(frames).toBeGreaterThan(idle);
  const after = await frames();
  await page.waitForTimeout(500);
  expect(await frames()).toBe(after);
});
