// The <heap-playground> contract of docs/embedding.md, as a docs author meets
// it: the demo's snippet pasted into a page of another site, traces inline in
// a child script or at a URL relative to the page, the methods and events a
// host page drives it with, a message and one warning per bad attribute, and
// the panels fitting inside the element from 320 px up.
import { createServer } from "node:http";
import { test, expect } from "./fixtures.js";

/** Serves `html` as /host.html of the test's own site (the element's module beside it). */
async function host(page, html, path = "host.html") {
  await page.route(`**/${path}`, (route) => route.fulfill({ contentType: "text/html", body: `<!doctype html><html lang="en"><title>host</title><link rel="icon" href="data:,">${html}</html>` }));
  await page.goto(path);
}

const where = (page, id) => page.locator(`#${id} .where`);

test("the demo page's snippet works pasted into a page of another site", async ({ page }) => {
  await page.goto("demo.html");
  await expect(page.locator("body")).toHaveAttribute("data-ready", "true");
  const snippet = await page.locator("#snippet").textContent();
  const site = new URL(page.url()).origin;
  expect(snippet).toContain(`${site}/`); // it names this site, not example.org
  // Another origin: a server of its own on another port, serving only the pasted snippet.
  const other = createServer((req, res) => {
    res.writeHead(req.url === "/docs/page.html" ? 200 : 404, { "content-type": "text/html" });
    res.end(`<!doctype html><html lang="en"><title>elsewhere</title><link rel="icon" href="data:,"><h1>Someone's docs</h1>${snippet}</html>`);
  });
  await new Promise((ok) => other.listen(0, "127.0.0.1", ok));
  try {
    await page.goto(`http://127.0.0.1:${other.address().port}/docs/page.html`);
    const element = page.locator("heap-playground");
    await expect(element).toHaveAttribute("data-ready", "true");
    await expect(element.locator(".where")).toHaveText("Step 5 of 5: realloc(#1, 96)");
    expect(await element.evaluate((e) => e.session.options.policy)).toBe("worst-fit");
    expect(await element.evaluate((e) => e.session.snapshot().stats.liveBlocks)).toBe(2);
  } finally {
    other.close();
  }
});

test("a trace in a child <script type=\"text/plain\">, and a trace URL resolved against the page that holds the element", async ({ page }) => {
  await host(
    page,
    `<script type="module" src="../heap-playground.js"></script>
     <heap-playground id="inline" policy="first-fit"><script type="text/plain">
       2
       3
       a 0 24
       a 1 48
       f 0
     </script></heap-playground>
     <heap-playground id="url" trace="../traces/coalesce.rep" step="5"></heap-playground>`,
    "nested/host.html",
  );
  await expect(where(page, "inline")).toHaveText("Step 3 of 3: free(#1)");
  await expect(where(page, "url")).toHaveText("Step 5 of 9: free(#1)");
  // The child script's text is the trace: changing it reloads the heap.
  await page.evaluate(() => (document.querySelector("#inline script").textContent = "1\n1\na 0 100\n"));
  await expect(where(page, "inline")).toHaveText("Step 1 of 1: malloc(100) → #1");
  // A `trace` attribute wins over the child.
  await page.evaluate(() => document.getElementById("inline").setAttribute("trace", "1\n2\na 0 8\nf 0\n"));
  await expect(where(page, "inline")).toHaveText("Step 2 of 2: free(#1)");
});

test("a host page drives the element: goto(n), the step property, play() and pause(), heap-step events", async ({ page }) => {
  await host(page, `<script type="module" src="./heap-playground.js"></script><heap-playground id="h" trace="traces/coalesce.rep" step="2"></heap-playground>`);
  const h = page.locator("#h");
  await expect(h).toHaveAttribute("data-ready", "true");
  const seen = await page.evaluate(() => {
    const e = document.getElementById("h");
    const steps = [];
    e.addEventListener("heap-step", (event) => steps.push(`${event.detail.step}/${event.detail.length}`));
    e.goto(7);
    e.step = 3;
    e.goto(99); // clamped to the end
    e.goto(-4); // and to the start
    return { steps, step: e.step, length: e.length };
  });
  expect(seen).toEqual({ steps: ["7/9", "3/9", "9/9", "0/9"], step: 0, length: 9 });
  await page.evaluate(() => document.getElementById("h").play());
  await expect(h).toHaveAttribute("data-step", "2", { timeout: 5000 });
  await page.evaluate(() => document.getElementById("h").pause());
  const paused = Number(await h.getAttribute("data-step"));
  await page.waitForTimeout(1600); // two play intervals
  expect(Number(await h.getAttribute("data-step"))).toBe(paused);
  // A framework that sets properties before the module loads (React 19 does for custom elements).
  await page.evaluate(() => {
    const e = document.createElement("heap-playground");
    e.id = "early";
    e.setAttribute("trace", "traces/coalesce.rep");
    document.body.append(e);
    e.step = 4;
    e.theme = "dark";
  });
  await expect(where(page, "early")).toHaveText("Step 4 of 9: malloc(16) → #4");
  await expect(page.locator("#early .frame")).toHaveAttribute("data-theme", "dark");
});

test("each bad attribute shows a message inside the element and logs one console warning; nothing throws", async ({ page }) => {
  const warnings = [];
  page.on("console", (msg) => msg.type() === "warning" && warnings.push(msg.text()));
  const bad = {
    height: `height="tall"`,
    theme: `theme="purple"`,
    step: `step="two"`,
    panels: `panels="map hexdump"`,
    policy: `policy="no-such-fit"`,
    align: `align="eight"`,
    quick: `quick-lists="maybe"`,
    trace: `trace="missing/none.rep"`,
  };
  const elements = Object.entries(bad).map(([id, attribute]) => `<heap-playground id="${id}" ${attribute}${id === "trace" ? "" : ` trace="traces/coalesce.rep"`}></heap-playground>`);
  // A trace URL that answers with something else (a host's HTML error page, say).
  await page.route("**/missing/none.rep", (route) => route.fulfill({ contentType: "text/html", body: "<!doctype html><p>Not here</p>" }));
  await host(page, `<script type="module" src="./heap-playground.js"></script>${elements.join("")}`);
  const expected = {
    height: 'height="tall" is not a height',
    theme: 'theme="purple" is not a theme',
    step: 'step="two" is not a step number',
    panels: 'unknown panel "hexdump"',
    policy: "no-such-fit",
    align: 'align="eight" is not a whole number of bytes',
    quick: 'quick-lists="maybe" is neither true nor false',
    trace: "missing/none.rep:1:",
  };
  for (const [id, text] of Object.entries(expected)) {
    await expect(page.locator(`#${id} .message`)).toContainText(text);
    await expect(page.locator(`#${id} .message`)).toHaveClass(/error/);
  }
  // Layout mistakes leave a working heap; heap and trace mistakes leave none.
  for (const id of ["height", "theme", "step", "panels"]) await expect(page.locator(`#${id}`)).toHaveAttribute("data-ready", "true");
  for (const id of ["policy", "align", "quick", "trace"]) await expect(page.locator(`#${id}`)).toHaveAttribute("data-ready", "error");
  // Redraws and steps do not repeat a warning.
  await page.evaluate(() => document.getElementById("height").goto(2));
  await page.waitForTimeout(200);
  for (const [id, text] of Object.entries(expected)) {
    expect(warnings.filter((w) => w.includes(`id="${id}"`) && w.includes(text)), `one warning for #${id}`).toHaveLength(1);
  }
  expect(warnings).toHaveLength(Object.keys(expected).length);
  // Fixing the attribute clears its message.
  await page.evaluate(() => document.getElementById("height").setAttribute("height", "400"));
  await expect(page.locator("#height .message")).toBeEmpty();
});

for (const width of [320, 390, 1280]) {
  test(`at ${width} px every panel, the console included, fits inside the element, with and without a fixed height`, async ({ page }) => {
    await page.setViewportSize({ width, height: 800 });
    await host(
      page,
      `<style>body { margin: 0 } main { width: ${width}px }</style><script type="module" src="./heap-playground.js"></script><main>
       <heap-playground id="auto" trace="traces/coalesce.rep" panels="map console stats table"></heap-playground>
       <heap-playground id="fixed" trace="traces/coalesce.rep" panels="map console stats" height="560"></heap-playground></main>`,
    );
    for (const id of ["auto", "fixed"]) await expect(page.locator(`#${id}`)).toHaveAttribute("data-ready", "true");
    const boxes = await page.evaluate(() =>
      ["auto", "fixed"].map((id) => {
        const e = document.getElementById(id);
        const frame = e.shadowRoot.querySelector(".frame");
        const outer = e.getBoundingClientRect();
        const input = e.shadowRoot.querySelector("#console-input").getBoundingClientRect();
        const run = e.shadowRoot.querySelector(".console-form button").getBoundingClientRect();
        const parts = [...e.shadowRoot.querySelectorAll(".bar button, .bar input, .panel, .console-form, .where")].map((n) => n.getBoundingClientRect()).filter((r) => r.width);
        return {
          id,
          right: outer.right,
          bottom: outer.bottom,
          widest: Math.max(...parts.map((r) => r.right)),
          frameScrollsSideways: frame.scrollWidth > frame.clientWidth + 1,
          input: { width: input.width, bottom: input.bottom },
          run: { right: run.right, bottom: run.bottom },
        };
      }),
    );
    for (const box of boxes) {
      expect(box.widest, `${box.id}: nothing sticks out on the right`).toBeLessThanOrEqual(box.right + 0.5);
      expect(box.frameScrollsSideways, `${box.id}: no sideways scrolling inside`).toBe(false);
      expect(box.input.width, `${box.id}: the console's input is usable`).toBeGreaterThan(90);
      expect(box.run.right, `${box.id}: Run is inside`).toBeLessThanOrEqual(box.right);
    }
    // With a fixed height, the map gives up room: the console shows without scrolling the element.
    const fixed = boxes[1];
    expect(fixed.run.bottom).toBeLessThanOrEqual(fixed.bottom);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);
  });
}

test("the iframe page fills the iframe: at 600x420 the console shows and the page itself does not scroll", async ({ page }) => {
  await page.setViewportSize({ width: 600, height: 420 });
  await page.goto("embed.html?trace=traces/coalesce.rep&panels=map%20console%20stats");
  await expect(page.locator("body")).toHaveAttribute("data-ready", "true");
  const run = await page.locator("#embed .console-form button").boundingBox();
  expect(run.y + run.height).toBeLessThanOrEqual(420);
  const page_ = await page.evaluate(() => ({ scroll: document.documentElement.scrollHeight, inner: innerHeight }));
  expect(page_.scroll).toBeLessThanOrEqual(page_.inner);
});

test("theme: a docs site's own dark mode (<html data-theme> or class dark) is followed, and never overwritten", async ({ page }) => {
  await page.emulateMedia({ colorScheme: "light" });
  await page.route("**/themed.html", (route) =>
    route.fulfill({
      contentType: "text/html",
      body: `<!doctype html><html lang="en" data-theme="dark"><title>docs</title><link rel="icon" href="data:,"><script type="module" src="./heap-playground.js"></script>
        <heap-playground id="follows" trace="traces/coalesce.rep"></heap-playground><heap-playground id="pinned" theme="light" trace="traces/coalesce.rep"></heap-playground></html>`,
    }),
  );
  await page.goto("themed.html");
  await expect(page.locator("#follows .frame")).toHaveAttribute("data-theme", "dark");
  await expect(page.locator("#pinned .frame")).toHaveAttribute("data-theme", "light");
  // The reader's system changes: the site's choice (dark) stands, on the page and in the element.
  await page.emulateMedia({ colorScheme: "dark" });
  await page.emulateMedia({ colorScheme: "light" });
  expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe("dark");
  await expect(page.locator("#follows .frame")).toHaveAttribute("data-theme", "dark");
  // The site's toggle: its <html> changes, the element follows.
  await page.evaluate(() => (document.documentElement.dataset.theme = "light"));
  await expect(page.locator("#follows .frame")).toHaveAttribute("data-theme", "light");
  await page.evaluate(() => {
    delete document.documentElement.dataset.theme;
    document.documentElement.classList.add("dark");
  });
  await expect(page.locator("#follows .frame")).toHaveAttribute("data-theme", "dark");
  await expect(page.locator("#pinned .frame")).toHaveAttribute("data-theme", "light");
});
