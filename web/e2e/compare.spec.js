// The compare page (issue 7): two to five policies on one trace, aligned heap
// maps on one timeline, charts over time, the results table, CSV and PNG
// export, a 1M-operation comparison that leaves the page responsive, trace
// input from workloads and files, and axe-core.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { test, expect, openPlayground } from "./fixtures.js";

// Evaluated, not added as a <script>: the page's Content-Security-Policy forbids inline scripts.
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const POLICIES = ["first-fit", "next-fit", "best-fit", "worst-fit", "segregated"];

async function openCompare(page) {
  await openPlayground(page, "compare.html");
  await expect(page.locator("#trace-info")).toContainText("operations");
}

/** Loads a seeded workload of `count` operations. */
async function useWorkload(page, key, count) {
  await page.selectOption("#workload", key);
  await page.selectOption("#workload-count", String(count));
  await page.click("#workload-button");
  await expect(page.locator("#trace-info")).toContainText(`${key}-${count}-seed1`);
}

async function compare(page, { timeout = 60_000 } = {}) {
  await page.click("#compare-button");
  await expect(page.locator("body")).toHaveAttribute("data-compared", "true", { timeout });
}

const mapIndexes = (page) => page.locator(".map-card").evaluateAll((cards) => cards.map((c) => c.dataset.index));

test("compare view: five policies, maps at one scale, stepping in lockstep with one timeline", async ({ page }) => {
  await openCompare(page);
  await useWorkload(page, "random", 1000);
  await compare(page);
  const cards = page.locator(".map-card");
  await expect(cards).toHaveCount(5);
  expect(await cards.evaluateAll((c) => c.map((card) => card.dataset.policy))).toEqual(POLICIES);
  // One block-view zoom for every map; every map draws its blocks as boxes.
  const scales = await cards.evaluateAll((c) => c.map((card) => card.dataset.zoom));
  expect(new Set(scales).size).toBe(1);
  expect(Number(scales[0])).toBeGreaterThan(0);
  await expect.poll(() => cards.evaluateAll((c) => c.every((card) => Number(card.dataset.blocksDrawn) > 0))).toBe(true);
  // Each policy's heap is contiguous: one segment, no gaps where the module's own allocations sat.
  expect(await cards.evaluateAll((c) => c.map((card) => card.dataset.segments))).toEqual(Array(5).fill("1"));
  await expect.poll(() => mapIndexes(page)).toEqual(Array(5).fill("1000"));
  // Each chart says in a sentence what differs (or that nothing does).
  for (const metric of ["heapBytes", "utilization", "fragmentation", "examined"]) {
    await expect(page.locator(`#summary-${metric}`)).toHaveText(/(does|do) best on .*worst|are the same here/);
  }
  await expect(page.locator("#summary-liveRequested")).toContainText("the same for every policy");
  // Side by side: the maps' tops line up.
  const tops = await cards.evaluateAll((c) => c.slice(0, 3).map((card) => Math.round(card.getBoundingClientRect().top)));
  expect(new Set(tops).size).toBe(1);

  await page.click("#tl-start");
  await expect.poll(() => mapIndexes(page)).toEqual(Array(5).fill("0"));
  await expect(page.locator("#tl-op")).toContainText("the empty heaps");
  await expect(page.locator(".map-card").first().locator("dd").first()).toHaveText(/^0 B$|KiB/);
  await page.click("#tl-step");
  await page.click("#tl-step");
  await expect.poll(() => mapIndexes(page)).toEqual(Array(5).fill("2"));
  await expect(page.locator("#tl-op")).toContainText("Operation 2 of 1,000: ");
  await page.click("#tl-back");
  await expect.poll(() => mapIndexes(page)).toEqual(Array(5).fill("1"));
  await expect(page.locator("#tl-op")).toContainText("Operation 1 of 1,000: malloc(");
  // The scrubber jumps (checkpoints + run in each worker).
  await page.locator("#tl-range").fill("640");
  await expect.poll(() => mapIndexes(page)).toEqual(Array(5).fill("640"));
  await expect(page.locator("#tl-index")).toHaveValue("640");
  await page.locator("#tl-range").focus();
  await page.keyboard.press("ArrowRight");
  await expect.poll(() => mapIndexes(page)).toEqual(Array(5).fill("641"));
  await page.fill("#tl-index", "17");
  await page.press("#tl-index", "Enter");
  await expect.poll(() => mapIndexes(page)).toEqual(Array(5).fill("17"));
});

test("two policies only; fewer than two is refused", async ({ page }) => {
  await openCompare(page);
  await useWorkload(page, "lifo", 1000);
  for (const p of ["next-fit", "worst-fit", "segregated"]) await page.uncheck(`#policy-${p}`);
  await compare(page);
  await expect(page.locator(".map-card")).toHaveCount(2);
  await expect(page.locator("#results tbody tr")).toHaveCount(2);
  await page.uncheck("#policy-best-fit");
  await page.click("#compare-button");
  await expect(page.locator("#message")).toHaveText("Choose two to five policies to compare.");
  await expect(page.locator("#results tbody tr")).toHaveCount(2);
});

test("charts: one per metric, hover names the operation and values, the timeline moves the cursor", async ({ page }) => {
  await openCompare(page);
  await useWorkload(page, "fragmentation", 10000);
  await compare(page);
  const ids = await page.locator("#charts canvas").evaluateAll((c) => c.map((canvas) => canvas.id));
  expect(ids).toEqual(["chart-heapBytes", "chart-liveRequested", "chart-utilization", "chart-fragmentation", "chart-examined"]);
  await expect(page.locator("#charts")).toHaveAttribute("data-cursor", "10000");
  // Hover in the middle of the heap size chart.
  const canvas = page.locator("#chart-heapBytes");
  await canvas.scrollIntoViewIfNeeded();
  const box = await canvas.boundingBox();
  await page.mouse.move(box.x + 70 + (box.width - 84) / 2, box.y + box.height / 2);
  const tooltip = page.locator("#chart-tooltip");
  await expect(tooltip).toBeVisible();
  await expect(tooltip).toContainText(/Heap size, after operation [\d,]+: (malloc|free|realloc)\(/);
  for (const p of POLICIES) await expect(tooltip).toContainText(new RegExp(`${p}: [\\d.]+ (B|KiB|MiB)`));
  // Lines in each policy's colour are drawn (Okabe-Ito blue of first-fit somewhere on the chart).
  const colours = await canvas.evaluate((c) => {
    const data = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    const seen = new Set();
    for (let i = 0; i < data.length; i += 4) seen.add(`${data[i]},${data[i + 1]},${data[i + 2]}`);
    return ["0,114,178", "230,159,0", "0,158,115", "213,94,0", "204,121,167"].filter((rgb) => seen.has(rgb));
  });
  expect(colours.length).toBe(5);
  // The timeline moves every chart's cursor: the pixels under the cursor change.
  const column = (x) =>
    canvas.evaluate((c, x) => {
      const dpr = c.width / c.clientWidth;
      const data = c.getContext("2d").getImageData(Math.round(x * dpr), 0, 1, c.height).data;
      let dark = 0;
      for (let i = 0; i < data.length; i += 4) if (data[i] < 40 && data[i + 1] < 40 && data[i + 2] < 40) dark++;
      return dark;
    }, x);
  await page.click("#tl-start");
  await expect(page.locator("#charts")).toHaveAttribute("data-cursor", "0");
  const leftDarkAtStart = await column(70);
  expect(leftDarkAtStart).toBeGreaterThan(20);
  await page.locator("#tl-range").fill("5000");
  await expect(page.locator("#charts")).toHaveAttribute("data-cursor", "5000");
  await page.waitForTimeout(100);
  expect(await column(70)).toBeLessThan(leftDarkAtStart);
  const midX = 70 + ((box.width - 84) * 5000) / 10000;
  expect(await column(Math.round(midX))).toBeGreaterThan(20);
  // The legend hides a policy's lines.
  await page.uncheck("#chart-legend input[data-policy=first-fit]");
  await expect(page.locator("#charts")).toHaveAttribute("data-hidden", "first-fit");
  await canvas.scrollIntoViewIfNeeded();
  const again = await canvas.boundingBox();
  await page.mouse.move(again.x + again.width / 2, again.y + again.height / 2);
  await expect(tooltip).toBeVisible();
  await expect(tooltip).toContainText("best-fit:");
  await expect(tooltip).not.toContainText("first-fit:");
});

test("results table: malloc-lab utilization, peak heap, fragmentation, blocks examined, Kops/s and the performance index with its formula", async ({ page }) => {
  await openCompare(page);
  await useWorkload(page, "random", 10000);
  await compare(page);
  await expect(page.locator("#results thead th")).toHaveText([
    "Policy",
    "Operations",
    "Peak utilization (U)",
    "Peak heap",
    "Fragmentation (mean)",
    "Fragmentation (end)",
    "Blocks examined (mean)",
    "Blocks examined (max)",
    "Kops/s in wasm (T)",
    "Performance index (P)",
  ]);
  const rows = await page.locator("#results tbody tr").evaluateAll((trs) =>
    trs.map((tr) => Object.fromEntries([...tr.cells].map((c) => [c.dataset.key, c.textContent.trim()]))),
  );
  expect(rows.map((r) => r.policy)).toEqual(POLICIES);
  for (const r of rows) {
    expect(r.operations).toBe("10,000");
    expect(r.utilization).toMatch(/^\d+\.\d%$/);
    expect(r.peakHeap).toMatch(/KiB|MiB/);
    expect(r.examinedMax).toMatch(/^\d+$/); // exact: a 10k trace is stepped one operation at a time
    expect(Number(r.examinedMean)).toBeGreaterThan(0);
    expect(Number(r.examinedMax)).toBeGreaterThanOrEqual(Number(r.examinedMean));
    const kops = Number(r.kops.replaceAll(",", ""));
    expect(kops).toBeGreaterThan(0);
    const u = Number(r.utilization.slice(0, -1)) / 100;
    const expected = 0.6 * u + 0.4 * Math.min(1, kops / 600);
    expect(Math.abs(Number(r.index) - expected)).toBeLessThan(0.002);
  }
  // Segregated fit examines fewer blocks than first fit on a random trace.
  expect(Number(rows[4].examinedMean)).toBeLessThan(Number(rows[0].examinedMean));
  await expect(page.locator("#index-formula")).toHaveText("P = 0.6·U + 0.4·min(1, T / Tlibc), Tlibc = 600 Kops/s");
  await expect(page.locator("#index-notes")).toContainText("AVG_LIBC_THRUPUT 600E3");
});

test("export: the table as CSV and each chart as PNG", async ({ page }) => {
  await openCompare(page);
  await useWorkload(page, "fifo", 1000);
  await compare(page);
  const [csv] = await Promise.all([page.waitForEvent("download"), page.click("#csv-button")]);
  expect(csv.suggestedFilename()).toBe("heaplab-compare.csv");
  const lines = readFileSync(await csv.path(), "utf8").trim().split("\r\n");
  expect(lines[0]).toBe("trace,Policy,Operations,Peak utilization (U),Peak heap,Fragmentation (mean),Fragmentation (end),Blocks examined (mean),Blocks examined (max),Kops/s in wasm (T),Performance index (P),failure");
  expect(lines.length).toBe(6);
  expect(lines[1]).toMatch(/^fifo-1000-seed1,first-fit,1000,0\.\d+,\d+,/);
  for (const metric of ["heapBytes", "examined"]) {
    const [png] = await Promise.all([page.waitForEvent("download"), page.click(`button[data-metric=${metric}]`)]);
    expect(png.suggestedFilename()).toBe(`heaplab-${metric}.png`);
    const bytes = readFileSync(await png.path());
    expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(bytes.length).toBeGreaterThan(2000);
  }
});

test("responsive under load: a 1M-operation comparison of five policies runs in workers; a click mid-run takes effect", async ({ page }) => {
  test.setTimeout(300_000);
  await openCompare(page);
  await useWorkload(page, "random", 1_000_000);
  await expect(page.locator("#trace-info")).toContainText("1,000,000 operations");
  await page.click("#compare-button");
  await expect(page.locator("body")).toHaveAttribute("data-running", "true");
  await expect.poll(() => page.locator("#progress").evaluate((p) => p.value), { timeout: 60_000 }).toBeGreaterThan(0);
  // Mid-run: hide best fit in the charts; the click takes effect while the run goes on.
  const started = Date.now();
  await page.uncheck("#chart-legend input[data-policy=best-fit]", { timeout: 10_000 });
  const during = await page.evaluate(() => ({
    hidden: document.querySelector("#charts").dataset.hidden,
    running: document.body.dataset.running,
    progress: document.querySelector("#progress").value,
  }));
  console.log(`click on the chart legend mid-run took effect in ${Date.now() - started} ms`);
  expect(during.hidden).toBe("best-fit");
  expect(during.running).toBe("true");
  expect(during.progress).toBeLessThan(1000);
  // The main thread keeps answering: a frame-to-frame gap stays short during the run.
  const gap = await page.evaluate(
    () =>
      new Promise((resolve) => {
        let worst = 0;
        let last = performance.now();
        const end = last + 1000;
        const tick = (now) => {
          worst = Math.max(worst, now - last);
          last = now;
          if (now < end) requestAnimationFrame(tick);
          else resolve(worst);
        };
        requestAnimationFrame(tick);
      }),
  );
  expect(gap).toBeLessThan(500);
  await expect(page.locator("body")).toHaveAttribute("data-compared", "true", { timeout: 280_000 });
  const seconds = await page.locator("body").getAttribute("data-seconds");
  console.log(`1M-operation comparison of five policies: ${seconds} s`);
  await expect(page.locator("#results tbody tr")).toHaveCount(5);
  await expect(page.locator("#results tbody tr").first().locator("[data-key=operations]")).toHaveText("1,000,000");
  // Blocks examined (max) over sampled chunks is a lower bound on big traces.
  await expect(page.locator("#results tbody tr").first().locator("[data-key=examinedMax]")).toHaveText(/^≥ \d+$/);
  // The timeline jumps across the million operations.
  await page.locator("#tl-range").fill("500000");
  await expect.poll(() => mapIndexes(page), { timeout: 20_000 }).toEqual(Array(5).fill("500000"));
});

test("cancel stops a running comparison", async ({ page }) => {
  await openCompare(page);
  await useWorkload(page, "random", 1_000_000);
  await page.click("#compare-button");
  await expect(page.locator("#cancel-button")).toBeEnabled();
  await page.click("#cancel-button");
  await expect(page.locator("#message")).toHaveText("Comparison cancelled.");
  await expect(page.locator("body")).toHaveAttribute("data-running", "false");
  await expect(page.locator("#compare-button")).toBeEnabled();
  await expect(page.locator("#tl-range")).toBeDisabled();
});

test("trace input: a workload, a .rep file, a JSON file; a malformed file names its first bad line and changes nothing", async ({ page }) => {
  await openCompare(page);
  await useWorkload(page, "lifo", 1000);
  const rep = "4\n5\na 0 24\na 1 100\nf 0\nr 1 300\nf 1\n";
  await page.setInputFiles("#trace-file", { name: "tiny.rep", mimeType: "text/plain", buffer: Buffer.from(rep) });
  await expect(page.locator("#trace-info")).toHaveText("Trace: tiny.rep, 5 operations on 4 ids.");
  await compare(page);
  await expect(page.locator("#results tbody tr").first().locator("[data-key=operations]")).toHaveText("5");
  await expect(page.locator("#tl-op")).toContainText("Operation 5 of 5: free(id 1)");

  const bad = "2\n4\na 0 24\nf 0\nf 0\na 1 8\n";
  await page.setInputFiles("#trace-file", { name: "bad.rep", mimeType: "text/plain", buffer: Buffer.from(bad) });
  await expect(page.locator("#trace-error")).toContainText("bad.rep was not loaded (line 5:");
  await expect(page.locator("#trace-error")).toContainText("The trace in use is unchanged.");
  await expect(page.locator("#trace-info")).toHaveText("Trace: tiny.rep, 5 operations on 4 ids.");
  await expect(page.locator("#results tbody tr")).toHaveCount(5);

  const json = JSON.stringify({ format: "heaplab-trace", version: 1, ops: [["a", 0, 64], ["a", 1, 32], ["f", 0]] });
  await page.setInputFiles("#trace-file", { name: "three.json", mimeType: "application/json", buffer: Buffer.from(json) });
  await expect(page.locator("#trace-info")).toHaveText("Trace: three.json, 3 operations on 2 ids.");
  await expect(page.locator("#trace-error")).toBeHidden();
  const badJson = '{"format": "heaplab-trace", "version": 1,\n "ops": [["a", 0, 64],\n ["q", 1]]}';
  await page.setInputFiles("#trace-file", { name: "<b>bad</b>.json", mimeType: "application/json", buffer: Buffer.from(badJson) });
  await expect(page.locator("#trace-error")).toContainText("<b>bad</b>.json was not loaded (line 2");
  await expect(page.locator("#trace-error b")).toHaveCount(0);
  await expect(page.locator("#trace-info")).toHaveText("Trace: three.json, 3 operations on 2 ids.");
});

test("axe-core finds no violations on the compare page, before and after a comparison", async ({ page }) => {
  await openCompare(page);
  const axe = async () => {
    await page.evaluate(axeSource);
    return page.evaluate(async () => {
      const result = await window.axe.run(document);
      return result.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`);
    });
  };
  expect(await axe()).toEqual([]);
  await useWorkload(page, "random", 1000);
  await compare(page);
  await page.locator("#chart-utilization").scrollIntoViewIfNeeded();
  const box = await page.locator("#chart-utilization").boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await expect(page.locator("#chart-tooltip")).toBeVisible();
  expect(await axe()).toEqual([]);
  const unlabelled = await page.evaluate(() =>
    [...document.querySelectorAll("input, select, textarea")].filter((el) => !el.labels?.[0]?.textContent.trim()).map((el) => el.id || el.dataset.policy),
  );
  expect(unlabelled).toEqual([]);
});

test("the playground is one link away, in the navigation bar", async ({ page }) => {
  await openCompare(page);
  await expect(page.getByRole("navigation", { name: "Heaplab pages" }).locator("a[href='./index.html']")).toHaveText("Playground");
});
