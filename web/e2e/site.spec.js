// The site as one site: the navigation bar on every page, icons that do not
// depend on a font's glyphs, the dark theme and its toggle, reduced motion,
// the phone layout, and utilization named for what it is (the peak).
import { test, expect } from "./fixtures.js";
import { run, settled } from "./helpers.js";
import { axeViolations } from "./axe.js";

/** Every page with the navigation bar, in the bar's order: [path, link text]. */
const PAGES = [
  ["index.html", "Playground"],
  ["compare.html", "Compare"],
  ["learn.html", "Lessons"],
  ["machine.html", "Machine"],
  ["demo.html", "Embedding"],
];
/** Glyphs that render as empty boxes in fonts without them (Debian's Chromium). */
const GLYPHS = /[◀▶⏮⏭⏸⏯⏹⏴⏵❚►◄▷◁]/u;

async function open(page, path) {
  await page.goto(path);
  await expect(page.locator("body")).toHaveAttribute("data-ready", "true", { timeout: 20_000 });
}

/** Relative luminance (0 black, 1 white) of a CSS rgb()/rgba() colour. */
function luminance(css) {
  const [r, g, b] = css.match(/[\d.]+/g).slice(0, 3).map((v) => Number(v) / 255);
  const lin = (c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

const pageBackground = (page) => page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);

test.describe("navigation", () => {
  for (const [path, name] of PAGES) {
    test(`${path} has the site's navigation bar with itself marked, and its links load their pages`, async ({ page }) => {
      await open(page, path);
      const nav = page.getByRole("navigation", { name: "Heaplab pages" });
      await expect(nav).toHaveCount(1);
      const links = nav.getByRole("link");
      await expect(links).toHaveText(PAGES.map(([, text]) => text));
      expect(await links.evaluateAll((as) => as.map((a) => a.getAttribute("href")))).toEqual(PAGES.map(([p]) => `./${p}`));
      const current = nav.locator('[aria-current="page"]');
      await expect(current).toHaveCount(1);
      await expect(current).toHaveText(name);
      // The marked link is set apart visibly, not only for screen readers.
      const weights = await links.evaluateAll((as) => as.map((a) => getComputedStyle(a).fontWeight));
      expect(Number(weights[PAGES.findIndex(([p]) => p === path)])).toBeGreaterThan(Number(weights[(PAGES.findIndex(([p]) => p === path) + 1) % PAGES.length]));
      for (const [other] of PAGES) {
        const response = await page.request.get(other);
        expect(response.status(), `${other} loads from ${path}`).toBe(200);
      }
      // Following the next page's link lands there, marked as current.
      const [next, nextName] = PAGES[(PAGES.findIndex(([p]) => p === path) + 1) % PAGES.length];
      await nav.getByRole("link", { name: nextName }).click();
      await expect(page).toHaveURL(new RegExp(`${next.replace(".", "\\.")}$`));
      await expect(page.locator("body")).toHaveAttribute("data-ready", "true", { timeout: 20_000 });
      await expect(page.getByRole("navigation", { name: "Heaplab pages" }).locator('[aria-current="page"]')).toHaveText(nextName);
    });
  }
});

test.describe("icons", () => {
  for (const path of ["index.html", "compare.html", "learn.html", "demo.html", "embed.html?trace=traces/coalesce.rep"]) {
    test(`${path}: no button depends on a font glyph; each icon is an SVG beside a text label`, async ({ page }) => {
      await open(page, path);
      // Locators pierce the embeds' shadow roots.
      const texts = await page.locator("button").allTextContents();
      expect(texts.length).toBeGreaterThan(0);
      for (const text of texts) expect(text, `button "${text}"`).not.toMatch(GLYPHS);
      const icons = await page.locator("button:has(svg.icon)").evaluateAll((buttons) => buttons.map((b) => ({ label: b.textContent.trim(), paths: b.querySelectorAll("svg.icon path").length })));
      for (const icon of icons) {
        expect(icon.label, "an icon has a text label next to it").not.toBe("");
        expect(icon.paths).toBeGreaterThan(0);
      }
      if (path !== "learn.html") expect(icons.length, "the step buttons carry icons").toBeGreaterThanOrEqual(path === "index.html" ? 3 : 4);
    });
  }

  test("play turns into pause and back, with its icon, in the playground and in an embed", async ({ page }) => {
    await open(page, "index.html");
    await run(page, "p = malloc(24)", "q = malloc(48)", "free(p)");
    await settled(page);
    await page.click("#undo-button");
    await page.click("#undo-button");
    await page.click("#undo-button");
    await page.selectOption("#play-speed", "2");
    const play = page.locator("#play-button");
    await expect(play).toHaveText("Play");
    await expect(play.locator("svg.icon")).toHaveAttribute("data-icon", "play");
    await play.click();
    await expect(play).toHaveText("Pause");
    await expect(play.locator("svg.icon")).toHaveAttribute("data-icon", "pause");
    await play.click();
    await expect(play).toHaveText("Play");

    await open(page, "demo.html");
    const embedPlay = page.locator("#e1").getByRole("button", { name: "Play" });
    await embedPlay.click();
    const pause = page.locator("#e1").getByRole("button", { name: "Pause" });
    await expect(pause.locator("svg.icon")).toHaveAttribute("data-icon", "pause");
    expect(await pause.textContent()).not.toMatch(GLYPHS);
    await pause.click();
    await expect(page.locator("#e1").getByRole("button", { name: "Play" })).toBeVisible();
  });
});

test.describe("dark theme", () => {
  test.use({ colorScheme: "dark" });

  test("follows the system's dark preference on every page, before the first paint", async ({ page }) => {
    // Record the theme when <body> first exists: set by then, the first paint is dark too.
    await page.addInitScript(() => {
      new MutationObserver((_, observer) => {
        if (!document.body) return;
        window.__themeAtBody = document.documentElement.dataset.theme ?? "unset";
        observer.disconnect();
      }).observe(document, { childList: true, subtree: true });
    });
    for (const [path] of PAGES) {
      await open(page, path);
      expect(await page.evaluate(() => window.__themeAtBody), path).toBe("dark");
      expect(luminance(await pageBackground(page)), `${path} background`).toBeLessThan(0.05);
      expect(luminance(await page.evaluate(() => getComputedStyle(document.body).color)), `${path} text`).toBeGreaterThan(0.6);
      await expect(page.locator("#theme-choice")).toHaveValue("auto");
    }
  });

  test("axe-core finds no violations (contrast included) on any page in the dark", async ({ page }) => {
    for (const [path] of PAGES) {
      await open(page, path);
      if (path === "index.html") {
        await run(page, "p = malloc(24)", "q = malloc(100)", "free(p)", "oops(");
        await settled(page);
      }
      expect(await axeViolations(page), path).toEqual([]);
    }
  });

  test("the toggle overrides the system, persists after a reload, and reaches the canvases and the embeds", async ({ page }) => {
    await open(page, "compare.html");
    const chartCorner = () =>
      page.evaluate(() => {
        const canvas = document.querySelector("#chart-heapBytes");
        return Array.from(canvas.getContext("2d").getImageData(2, 2, 1, 1).data);
      });
    const [r] = await chartCorner();
    expect(r, "the chart's background is dark").toBeLessThan(60);
    await page.selectOption("#theme-choice", "light");
    await expect(page.locator("html")).toHaveAttribute("data-theme", "light");
    expect(luminance(await pageBackground(page))).toBeGreaterThan(0.9);
    await expect.poll(async () => (await chartCorner())[0], { message: "the chart redraws light" }).toBeGreaterThan(200);

    await page.reload();
    await expect(page.locator("body")).toHaveAttribute("data-ready", "true");
    await expect(page.locator("html")).toHaveAttribute("data-theme", "light");
    await expect(page.locator("#theme-choice")).toHaveValue("light");
    expect(luminance(await pageBackground(page))).toBeGreaterThan(0.9);

    // Another page of the site keeps the choice; an embed follows it live.
    await open(page, "demo.html");
    const frame = page.locator("#e1").locator(".frame");
    await expect(frame).toHaveAttribute("data-theme", "light");
    await page.selectOption("#theme-choice", "dark");
    await expect(frame).toHaveAttribute("data-theme", "dark");
    expect(luminance(await frame.evaluate((el) => getComputedStyle(el).backgroundColor))).toBeLessThan(0.05);
    expect(luminance(await pageBackground(page))).toBeLessThan(0.05);

    // "auto" forgets the choice: the system's dark comes back after a reload.
    await page.selectOption("#theme-choice", "auto");
    await page.reload();
    await expect(page.locator("body")).toHaveAttribute("data-ready", "true");
    await expect(page.locator("html")).toHaveAttribute("data-theme", "dark");
    expect(await page.evaluate(() => localStorage.getItem("heaplab.theme"))).toBeNull();
  });
});

test.describe("an embed's theme attribute", () => {
  test.use({ colorScheme: "dark" });

  test("fixes an embed's theme on any page, as an attribute or the iframe's query", async ({ page }) => {
    await open(page, "demo.html");
    const frame = page.locator("#e1").locator(".frame");
    await expect(frame).toHaveAttribute("data-theme", "dark");
    await page.locator("#e1").evaluate((el) => el.setAttribute("theme", "light"));
    await expect(frame).toHaveAttribute("data-theme", "light");
    expect(luminance(await frame.evaluate((el) => getComputedStyle(el).backgroundColor))).toBeGreaterThan(0.9);
    // The page's theme stays the reader's; the other embeds follow it.
    await expect(page.locator("html")).toHaveAttribute("data-theme", "dark");
    await expect(page.locator("#e2").locator(".frame")).toHaveAttribute("data-theme", "dark");
    await page.locator("#e1").evaluate((el) => el.removeAttribute("theme"));
    await expect(frame).toHaveAttribute("data-theme", "dark");

    await open(page, "embed.html?trace=traces/coalesce.rep&theme=light");
    await expect(page.locator("#embed").locator(".frame")).toHaveAttribute("data-theme", "light");
  });
});

test.describe("reduced motion", () => {
  const durations = (page) =>
    page.evaluate(() => [
      getComputedStyle(document.querySelector("#alloc-button")).transitionDuration,
      getComputedStyle(document.querySelector(".site-nav a")).transitionDuration,
    ]);

  test("buttons and links ease their hover colours by default", async ({ page }) => {
    await open(page, "index.html");
    for (const d of await durations(page)) expect(parseFloat(d)).toBeGreaterThan(0);
  });

  test.describe("when the reader asks for reduced motion", () => {
    test.use({ reducedMotion: "reduce" });
    test("nothing transitions, on the page or in an embed", async ({ page }) => {
      await open(page, "index.html");
      for (const d of await durations(page)) expect(d).toBe("0s");
      await open(page, "demo.html");
      const embedButton = page.locator("#e1").getByRole("button", { name: "Play" });
      expect(await embedButton.evaluate((b) => getComputedStyle(b).transitionDuration)).toBe("0s");
    });
  });
});

test.describe("phone layout", () => {
  test.use({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });

  test("the playground puts the map first and folds the long forms below it", async ({ page }) => {
    await open(page, "index.html");
    // Tops of the rendered elements (a hidden form has no box).
    const top = (selector) =>
      page.locator(selector).evaluateAll((els) => els.filter((el) => el.getClientRects().length > 0).map((el) => el.getBoundingClientRect().top + window.scrollY));
    const [mapTop] = await top("#heap-map");
    const formTops = await top("form");
    expect((await top("aside.controls form")).length).toBeGreaterThanOrEqual(5);
    for (const formTop of formTops) expect(formTop).toBeGreaterThan(mapTop);
    const [controlsTop] = await top("aside.controls");
    expect(controlsTop).toBeGreaterThan(mapTop);
    // The map starts within the first screen.
    expect(mapTop).toBeLessThan(844);
    // Heap options and traces are folded, and open with a tap.
    const folds = page.locator("details.fold");
    await expect(folds).toHaveCount(2);
    for (const open of await folds.evaluateAll((ds) => ds.map((d) => d.open))) expect(open).toBe(false);
    await expect(page.locator("#opt-policy")).toBeHidden();
    await page.locator("details.fold > summary", { hasText: "Heap options" }).click();
    await expect(page.locator("#opt-policy")).toBeVisible();
  });

  test("the lessons page puts the lesson first, its heap next and the list of lessons last", async ({ page }) => {
    await open(page, "learn.html#quick-lists");
    await expect(page.locator("#lesson-title")).toHaveText("Quick lists: the fast path real allocators take");
    const top = (selector) => page.locator(selector).evaluate((el) => el.getBoundingClientRect().top + window.scrollY);
    const [title, task, heap, list] = [await top("#lesson-title"), await top("#lesson-task"), await top("#lesson-heap"), await top(".lesson-nav")];
    // The lesson opens on the first screen, its task above its heap, the
    // list of lessons under both.
    expect(title).toBeLessThan(844);
    expect(task).toBeLessThan(heap);
    expect(heap).toBeLessThan(list);
  });

  for (const path of ["index.html", "compare.html", "learn.html", "demo.html", "embed.html?trace=traces/coalesce.rep"]) {
    test(`${path} does not overflow sideways at 390 px`, async ({ page }) => {
      await open(page, path);
      if (path === "compare.html") {
        await page.selectOption("#workload-count", "1000");
        await page.click("#workload-button");
        await page.click("#compare-button");
        await expect(page.locator("#results tbody tr")).toHaveCount(5, { timeout: 60_000 });
      }
      const { scrollWidth, clientWidth } = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth }));
      expect(scrollWidth, `${path} is ${scrollWidth} px wide in a ${clientWidth} px screen`).toBeLessThanOrEqual(clientWidth);
    });
  }
});

test.describe("at desktop width", () => {
  test("the playground keeps its three columns with the forms open", async ({ page }) => {
    await page.setViewportSize({ width: 1280, height: 800 });
    await open(page, "index.html");
    const box = (selector) => page.locator(selector).boundingBox();
    const [controls, map] = [await box("aside.controls"), await box("#heap-map")];
    expect(controls.x + controls.width).toBeLessThanOrEqual(map.x);
    for (const open of await page.locator("details.fold").evaluateAll((ds) => ds.map((d) => d.open))) expect(open).toBe(true);
  });
});

test.describe("utilization", () => {
  test("the playground calls it peak utilization, defines it on hover, and shows the figure now beside it", async ({ page }) => {
    await open(page, "index.html");
    await run(page, "p = malloc(1000)", "free(p)");
    await settled(page);
    await expect(page.locator('[data-stat="liveRequested"]')).toHaveText(/^0 B/);
    const term = page.locator("#stats dt", { hasText: "utilization" });
    await expect(term).toHaveText("Peak utilization");
    await expect(term).toHaveAttribute("title", /peak live requested bytes ÷ heap span/);
    const value = page.locator('[data-stat="utilization"]');
    const [, peak, now] = (await value.textContent()).match(/^(\d+\.\d)% \(now (\d+\.\d)%\)$/);
    expect(Number(peak)).toBeGreaterThan(1);
    expect(Number(now)).toBe(0);
  });

  test("the compare page names it peak utilization in the table, the chart and the maps, with its definition", async ({ page }) => {
    await open(page, "compare.html");
    await page.selectOption("#workload-count", "1000");
    await page.click("#workload-button");
    await page.click("#compare-button");
    await expect(page.locator("#results tbody tr")).toHaveCount(5, { timeout: 60_000 });
    const th = page.locator("#results thead th", { hasText: "utilization" });
    await expect(th).toHaveText("Peak utilization (U)");
    await expect(th).toHaveAttribute("title", /peak live requested bytes ÷ heap span/);
    const caption = page.locator(".charts figcaption span", { hasText: "utilization" });
    await expect(caption).toHaveText("Peak utilization");
    await expect(caption).toHaveAttribute("title", /heap span/);
    const facts = page.locator(".map-card .facts dt", { hasText: "utilization" });
    await expect(facts).toHaveCount(5);
    await expect(facts.first()).toHaveText("peak utilization");
    await expect(facts.first()).toHaveAttribute("title", /heap span/);
    await expect(page.locator(".map-card .facts dd").nth(2)).toHaveText(/^\d+\.\d% \(now \d+\.\d%\)$/);
  });
});

test("every address in the playground and in an embed is written with 0x", async ({ page }) => {
  await open(page, "index.html");
  await run(page, "p = malloc(24)", "q = malloc(100)", "free(p)");
  await settled(page);
  const addressCells = (root) => root.locator("table tbody tr").evaluateAll((trs) => trs.flatMap((tr) => [tr.cells[0].textContent, tr.cells[2].textContent]));
  const cells = await addressCells(page.locator("#block-list").locator(".."));
  expect(cells.length).toBeGreaterThanOrEqual(4);
  for (const cell of cells) expect(cell).toMatch(/^0x[0-9a-f]{6,}$/);
  await expect(page.locator("#console-log")).toContainText(/returned 0x[0-9a-f]{6,}/);

  await open(page, "demo.html");
  const embedCells = await addressCells(page.locator("#e1"));
  expect(embedCells.length).toBeGreaterThanOrEqual(4);
  for (const cell of embedCells) expect(cell).toMatch(/^0x[0-9a-f]{6,}$/);
});
