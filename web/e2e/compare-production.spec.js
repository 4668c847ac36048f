// Production allocators on the compare page (issue 21): the "toy vs
// production" preset runs GCC's recorded calls on three fits, dlmalloc and
// talc, draws all five and writes the paragraph under the table; a
// malloc-lab trace file on two fits and three other production allocators
// fills every row and steps on the timeline.
import { test, expect, openPlayground } from "./fixtures.js";

const rowOf = (page, policy) => page.locator(`#results tbody tr[data-policy="${policy}"]`);
const cell = (page, policy, key) => rowOf(page, policy).locator(`[data-key="${key}"]`);

test("toy vs production: the preset compares, draws five maps and explains the figures", async ({ page }) => {
  await openPlayground(page, "compare.html?preset=toy-vs-production");
  await expect(page.locator("body")).toHaveAttribute("data-compared", "true", { timeout: 60_000 });
  await expect(page.locator("#trace-info")).toContainText("cc1-recorded.rep");
  const cards = page.locator(".map-card");
  expect(await cards.evaluateAll((c) => c.map((card) => card.dataset.policy))).toEqual(["first-fit", "best-fit", "segregated", "talc", "dlmalloc"]);
  // The trace ends with everything freed: in its middle every map draws many blocks.
  await page.fill("#tl-index", "3000");
  await page.locator("#tl-index").dispatchEvent("change");
  for (const card of await cards.all()) await expect(card).toHaveAttribute("data-index", "3000");
  for (const n of await cards.evaluateAll((c) => c.map((card) => Number(card.dataset.blocksDrawn)))) expect(n).toBeGreaterThan(10);
  await expect(page.locator('.map-card[data-policy="talc"] .production')).toHaveText("production");
  // Every row filled; the production allocators' unknown figures are dashes, not zeros.
  for (const policy of ["first-fit", "best-fit", "segregated", "dlmalloc", "talc"]) {
    await expect(cell(page, policy, "utilization")).toHaveText(/^\d+(\.\d)?%$/);
    await expect(cell(page, policy, "kops")).toHaveText(/^[\d,]+$/);
  }
  await expect(cell(page, "talc", "examinedMean")).toHaveText("–");
  await expect(cell(page, "dlmalloc", "fragmentationEnd")).toHaveText("–");
  await expect(cell(page, "first-fit", "examinedMean")).not.toHaveText("–");
  // The paragraph names the winner on memory with the figure the table shows.
  const summary = page.locator("#results-summary");
  const utilization = Object.fromEntries(await page.locator("#results tbody tr").evaluateAll((rows) => rows.map((r) => [r.dataset.policy, parseFloat(r.querySelector('[data-key="utilization"]').textContent)])));
  const best = Object.entries(utilization).sort((a, b) => b[1] - a[1])[0];
  await expect(summary).toContainText(`used memory best: ${await cell(page, best[0], "utilization").textContent()}`);
  expect((await summary.textContent()).split("used memory best")[0]).toContain(best[0]);
  await expect(summary).toContainText("Best textbook fit against best production allocator");
  await expect(summary).toContainText("Fastest in wasm");
  await expect(summary).toContainText("First fit");
});

test("a malloc-lab trace file on two fits and three production allocators: five maps, five rows, one timeline", async ({ page }) => {
  await openPlayground(page, "compare.html");
  // A short malloc-lab trace (its classic header), as a learner would upload one.
  const ops = [];
  for (let i = 0; i < 60; i++) ops.push(`a ${i} ${8 + ((i * 37) % 300)}`);
  for (let i = 0; i < 60; i += 2) ops.push(`f ${i}`);
  for (let i = 1; i < 60; i += 4) ops.push(`r ${i} ${400 + i}`);
  const rep = `20000\n60\n${ops.length}\n1\n${ops.join("\n")}\n`;
  await page.setInputFiles("#trace-file", { name: "upload.rep", mimeType: "text/plain", buffer: Buffer.from(rep) });
  await expect(page.locator("#trace-info")).toContainText("upload.rep");
  for (const box of await page.locator("#policy-list input, #peer-list input").all()) await box.setChecked(false);
  for (const policy of ["first-fit", "segregated", "rlsf", "linked_list_allocator", "buddy_system_allocator"]) await page.check(`#policy-${policy}`);
  await page.click("#compare-button");
  await expect(page.locator("body")).toHaveAttribute("data-compared", "true", { timeout: 60_000 });
  await expect(page.locator(".map-card")).toHaveCount(5);
  for (const policy of ["rlsf", "linked_list_allocator", "buddy_system_allocator"]) {
    await expect(cell(page, policy, "operations")).toHaveText(String(ops.length));
    await expect(cell(page, policy, "peakHeap")).not.toHaveText("0 B");
  }
  // rlsf and linked_list_allocator show their free blocks: their fragmentation is a figure.
  await expect(cell(page, "linked_list_allocator", "fragmentationEnd")).toHaveText(/%$/);
  await expect(cell(page, "buddy_system_allocator", "fragmentationEnd")).toHaveText("–");
  // The timeline moves every map, the production allocators' too.
  await page.click("#tl-start");
  await expect(page.locator('.map-card[data-policy="rlsf"]')).toHaveAttribute("data-index", "0");
  await page.fill("#tl-index", "70");
  await page.locator("#tl-index").dispatchEvent("change");
  for (const policy of ["first-fit", "rlsf", "linked_list_allocator", "buddy_system_allocator"]) await expect(page.locator(`.map-card[data-policy="${policy}"]`)).toHaveAttribute("data-index", "70");
  await expect(page.locator('.map-card[data-policy="linked_list_allocator"] .facts')).toContainText("free");
});
