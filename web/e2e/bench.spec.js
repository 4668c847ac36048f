// Speed: redraws of the map for a 64 MiB heap with 100k blocks and for 1 MiB
// with 1k blocks, in the block view and the address view, timed in headless
// Chromium (printed figures; the bounds are generous, ten frames' worth for
// anything that is not a plain redraw); and no redraw when idle.
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

/**
 * Times `runs` draws of the map. `relayout`: every draw recomputes the
 * geometry too (what a change of the heap costs); else the geometry is kept
 * (what scrolling, hovering and step-mode frames cost).
 */
async function time(page, { runs = 30, relayout = false } = {}) {
  return page.evaluate(
    ({ runs, relayout }) => {
      const { map } = window.heaplabDebug;
      map.draw(); // warm up
      const times = [];
      for (let i = 0; i < runs; i++) {
        if (relayout) map.layoutKey = "";
        times.push(map.draw());
      }
      times.sort((a, b) => a - b);
      const zoom = map.view === "blocks" ? `block zoom ${map.layout.zoom.toFixed(2)}` : `${map.layout.bytesPerRow} bytes a row`;
      return { median: times[runs >> 1], max: times[runs - 1], drawn: map.lastDraw.blocks, zoom };
    },
    { runs, relayout },
  );
}

test("benchmark: redraw of 64 MiB with 100k blocks and of 1 MiB with 1k blocks, in the block view and the address view", async ({ page }) => {
  test.setTimeout(180_000);
  await openPlayground(page);
  const line = (name, t) => `${name}, ${t.zoom}: median ${t.median.toFixed(2)} ms, max ${t.max.toFixed(2)} ms, ${t.drawn} blocks drawn`;
  const out = ["heap map redraw (headless Chromium)"];
  const setView = (view) => page.evaluate((v) => window.heaplabDebug.map.setView(v), view);
  const results = {};
  for (const [name, blocks, size] of [["small", 1000, 1000], ["large", 100_000, 640]]) {
    const heap = await build(page, blocks, size);
    expect(heap.blocks).toBeGreaterThanOrEqual(blocks);
    if (name === "large") expect(heap.heapBytes).toBeGreaterThanOrEqual(60 << 20);
    const label = `${(heap.heapBytes / 2 ** 20).toFixed(heap.heapBytes < 2 ** 21 ? 1 : 0)} MiB heap, ${heap.blocks} blocks`;
    for (const view of ["blocks", "address"]) {
      await setView(view);
      const redraw = await time(page);
      const relayout = await time(page, { runs: 10, relayout: true });
      await page.evaluate(() => window.heaplabDebug.map.fit());
      const fit = await time(page);
      results[`${name}-${view}`] = { redraw, relayout, fit };
      out.push(line(`${view} view, ${label}`, redraw), line(`  same, geometry recomputed every draw`, relayout), line(`  same, fitted`, fit));
    }
  }
  // The target (a redraw within one 60 Hz frame) is reported, not asserted:
  // timings on shared machines vary; only a pathological case (a second per
  // frame) fails the run.
  for (const [key, r] of Object.entries(results)) {
    out.push(`${key}: redraw ${r.redraw.median < 16 ? "within" : "OVER"} the 16 ms target`);
    for (const t of [r.redraw, r.relayout, r.fit]) expect(t.median, key).toBeLessThan(1000);
  }
  console.log(out.join("\n  "));
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
