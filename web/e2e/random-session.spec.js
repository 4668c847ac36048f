// A random UI session (issue 10, item 5): a seeded PRNG drives thousands of
// random actions through the playground's real controls — the forms (with
// invalid sizes, alignments, names and ids), clicks on the map and the table,
// the map's keys, console statements (valid and garbage), option changes that
// replay, reset, the timeline (undo / redo, scrubbing, play), step mode, zoom,
// writes, share, and trace imports (valid, malformed, binary garbage). It ends
// with no console error or page error (the fixture), a page that still
// answers, and the heap's integrity check passing.
//
// HEAPLAB_SEED=1234 npx playwright test -c web/e2e/playwright.config.js web/e2e/random-session.spec.js
// replays a failing session; HEAPLAB_STEPS changes the number of actions;
// HEAPLAB_PROFILE=1 prints the time spent in each kind of action.
import { test, expect, openPlayground } from "./fixtures.js";
import { seededRandom as prng } from "../src/random.js";

const SEED = Number(process.env.HEAPLAB_SEED ?? 20240610) >>> 0;
const STEPS = Number(process.env.HEAPLAB_STEPS ?? 2000);

// Messages the page shows only when something went wrong inside it (not a user error).
const BROKEN = /unexpected:|could not draw|could not restore|\(internal\)|could not make a link|could not export/;

const POLICIES = ["first-fit", "next-fit", "best-fit", "worst-fit", "segregated"];
const LIMITS = ["", "65536", "262144", "1048576", "4194304", "16777216", "67108864", "268435456"];
const SMALL_REP = "2\n3\na 0 24\na 1 48\nf 0\n";
const SMALL_JSON = '{"format":"heaplab-trace","version":1,"options":{"policy":"best-fit"},"ops":[["a",0,24],["a",1,48],["f",0],["r",1,200]]}';

test(`a random UI session of ${STEPS} actions (seed ${SEED}) breaks nothing`, async ({ page }) => {
  test.setTimeout(240_000);
  console.log(`random UI session: HEAPLAB_SEED=${SEED}, ${STEPS} actions`);
  const rnd = prng(SEED);
  const int = (lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1));
  const pick = (list) => list[Math.floor(rnd() * list.length)];
  const chance = (p) => rnd() < p;
  const weighted = (entries) => {
    const total = entries.reduce((s, [w]) => s + w, 0);
    let r = rnd() * total;
    for (const [w, value] of entries) if ((r -= w) < 0) return value;
    return entries[entries.length - 1][1];
  };

  let step = 0;
  const recent = []; // the last actions, for the failure message
  const errors = [];
  page.on("pageerror", (e) => errors.push(`step ${step}: page error: ${e.message}`));
  page.on("console", (m) => m.type() === "error" && errors.push(`step ${step}: console error: ${m.text()}`));
  page.on("dialog", (d) => d.dismiss()); // none expected; never block the session
  page.on("download", (d) => d.cancel().catch(() => {}));
  const where = () => `seed ${SEED}, step ${step} (HEAPLAB_SEED=${SEED}); last actions:\n  ${recent.slice(-12).join("\n  ")}`;

  page.setDefaultTimeout(15_000); // a hung action fails with its step, long before the test's timeout
  await openPlayground(page);
  // Record any message that means the page itself broke (errors the user caused are fine).
  await page.evaluate((pattern) => {
    const re = new RegExp(pattern);
    window.__broken = [];
    const watch = (el) =>
      new MutationObserver(() => {
        if (re.test(el.textContent)) window.__broken.push(el.textContent.slice(0, 300));
      }).observe(el, { childList: true, characterData: true, subtree: true });
    watch(document.getElementById("message"));
  }, BROKEN.source);

  const canvas = page.locator("#heap-map");
  const size = () =>
    weighted([
      [50, String(int(1, 256))],
      [15, String(int(257, 8192))],
      [4, String(int(8193, 300_000))],
      [3, "0"],
      [3, String(-int(1, 1000))],
      [3, `${int(1, 100)}.${int(1, 9)}`],
      [3, pick(["1e20", "99999999999", "4294967296", "9007199254740993", "1e308", "2147483649"])],
      [3, ""], // empty: NaN
    ]);
  const NAMES = ["", "", "", "p", "q", "r", "s", "node", "9bad", "a b", "x".repeat(40)];
  const ref = () =>
    weighted([
      [4, `#${int(1, Math.max(2, step))}`],
      [2, pick(["p", "q", "r", "s", "node"])],
      [2, pick(["#0", "#-1", "#1.5", "#99999999", "nope", "#", "# 1", "0x0", "NULL", "%%%", "x".repeat(300)])],
    ]);
  const CONSOLE = () =>
    weighted([
      [8, () => `${pick(["p", "q", "r", "s"])} = malloc(${int(1, 512)})`],
      [3, () => `${pick(["p", "q", "r"])} = calloc(${int(0, 20)}, ${int(0, 64)})`],
      [4, () => `free(${pick(["p", "q", "r", "s"])})`],
      [3, () => `${pick(["p", "q"])} = realloc(${pick(["p", "q", "r", "NULL"])}, ${int(0, 2000)})`],
      [2, () => `${pick(["p", "q"])} = aligned_alloc(${pick([8, 16, 64, 4096, 3, 0, -16, 8192])}, ${int(1, 300)})`],
      [1, () => 'strcpy(p, "hi")'],
      [1, () => "help"],
      [1, () => `free(#${int(0, 5000)})`],
      [1, () => `free(0x${int(0, 0x2000000).toString(16)})`],
      [
        6,
        () =>
          pick([
            "p = realloc(p, 99999999999)",
            "p = malloc(-1)",
            "p = malloc(1.5)",
            "p = malloc(NaN)",
            "p = malloc(1e400)",
            "q = calloc(99999999, 99999999)",
            ")))",
            "(((",
            "free(",
            "malloc",
            "p = = malloc(3)",
            "1 = malloc(4)",
            "free(q); free(q)",
            "p = malloc(24) garbage",
            "\u0000\u0001\u0002",
            "😀 = malloc(8)",
            "<img src=x onerror=alert(1)>",
            `p = malloc(${"9".repeat(400)})`,
            "x".repeat(5000),
            "free(p".repeat(300),
            "",
          ]),
      ],
    ])();

  /**
   * Fills fields and presses a button: mostly in one round trip (values set and
   * input / change events dispatched in the page, then the button clicked, as
   * the page's own handlers see them), sometimes through Playwright's real
   * typing and clicking.
   */
  let pending = [];
  /** Runs the queued in-page form submissions, in order, in one round trip. */
  const flush = async () => {
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    await page.evaluate((batch) => {
      for (const [fields, button] of batch) {
        for (const [id, value] of fields) {
          const el = document.getElementById(id);
          el.value = value;
          el.dispatchEvent(new Event("input", { bubbles: true }));
          el.dispatchEvent(new Event("change", { bubbles: true }));
        }
        document.getElementById(button).click();
      }
    }, batch);
  };
  const form = async (fields, button) => {
    if (chance(0.15)) {
      await flush();
      for (const [id, value] of fields) {
        if ((await page.locator(`#${id}`).evaluate((el) => el.tagName)) === "SELECT") await page.selectOption(`#${id}`, value);
        else await page.fill(`#${id}`, value);
      }
      await page.click(`#${button}`, { force: true });
      return;
    }
    pending.push([fields, button]);
  };

  /** Clicks the map at a point in its own CSS pixels with a real mouse click (no actionability waits). */
  const clickMap = async (point) => {
    const box = await page.evaluate(({ x, y }) => {
      const canvas = document.getElementById("heap-map");
      let r = canvas.getBoundingClientRect();
      if (r.top + y < 0 || r.top + y > innerHeight || r.left + x > innerWidth) {
        canvas.scrollIntoView({ block: "nearest" });
        r = canvas.getBoundingClientRect();
      }
      return { x: r.left + x, y: r.top + y, width: r.width, height: r.height };
    }, point);
    if (box.y < 0 || box.y > 900 || box.x < 0 || box.x > 1200) {
      // Off screen: click the map itself, at the point moved inside it (a
      // position outside the element would wait for a click it never gets).
      const inside = { x: Math.min(point.x, Math.max(0, box.width - 1)), y: Math.min(point.y, Math.max(0, box.height - 1)) };
      await canvas.click({ position: inside });
    } else await page.mouse.click(box.x, box.y);
  };

  const body = async (key) => {
    await page.evaluate(() => document.activeElement?.blur());
    await page.keyboard.press(key);
  };

  const actions = {
    async malloc() {
      const s = size();
      const align = weighted([[6, "0"], [1, "16"], [1, "32"], [1, "64"], [1, "256"], [1, "4096"]]);
      const name = pick(NAMES);
      recent.push(`malloc size="${s}" align=${align} name="${name.slice(0, 20)}"`);
      await form([["alloc-size", s], ["alloc-name", name], ["alloc-align", align]], "alloc-button");
    },
    async calloc() {
      const [c, s] = [size(), size()];
      recent.push(`calloc count="${c}" size="${s}"`);
      await form([["calloc-count", c], ["calloc-size", s]], "calloc-button");
    },
    async realloc() {
      const [r, s] = [ref(), size()];
      recent.push(`realloc ref="${r.slice(0, 20)}" size="${s}"`);
      await form([["realloc-ref", r], ["realloc-size", s]], "realloc-button");
    },
    async free() {
      const r = chance(0.1) ? "" : ref();
      recent.push(`free ref="${r.slice(0, 20)}"`);
      await form([["free-ref", r]], "free-button");
    },
    async clickBlock() {
      // A used block's payload (or, sometimes, a random byte of the heap), found through the debug handle.
      const point = await page.evaluate(
        ([r, anywhere]) => {
          const d = window.heaplabDebug;
          const live = [...d.session.live().values()];
          if (anywhere || live.length === 0) {
            const segments = d.heap.segments();
            if (segments.length === 0) return null;
            const { base, bytes } = segments[Math.floor(r * segments.length)];
            return d.pointOf(base + Math.floor(((r * 7919) % 1) * bytes));
          }
          return d.pointOf(live[Math.floor(r * live.length)]);
        },
        [rnd(), chance(0.2)],
      );
      recent.push(`click map at ${point ? `${point.x.toFixed(1)},${point.y.toFixed(1)}` : "(none)"}`);
      if (point && point.x >= 0 && point.y >= 0) await clickMap(point);
    },
    async clickRandom() {
      const position = { x: rnd() * 700, y: rnd() * 500 };
      recent.push(`click map at random ${position.x.toFixed(0)},${position.y.toFixed(0)}`);
      await clickMap(position);
    },
    async clickRow() {
      // Rows are redrawn on the next frame after any change: locate, scroll and click in one go.
      const at = await page.evaluate((r) => {
        const rows = document.querySelectorAll("#block-list tbody tr");
        if (rows.length === 0) return null;
        const row = rows[Math.floor(r * Math.min(rows.length, 40))];
        row.scrollIntoView({ block: "center" });
        const b = row.getBoundingClientRect();
        return { x: b.left + Math.min(b.width / 2, 100), y: b.top + b.height / 2, n: rows.length };
      }, rnd());
      recent.push(`click table row (of ${at?.n ?? 0})`);
      if (at) await page.mouse.click(at.x, at.y);
    },
    async viewMode() {
      const mode = chance(0.7) ? "#view-blocks" : "#view-address";
      recent.push(`view ${mode}`);
      await page.check(mode);
    },
    async mapKeys() {
      const keys = Array.from({ length: int(1, 3) }, () =>
        weighted([[4, "ArrowRight"], [2, "ArrowLeft"], [2, "ArrowDown"], [2, "ArrowUp"], [1, "Home"], [1, "End"], [2, "Enter"], [2, "Delete"], [1, "+"], [1, "-"]]),
      );
      recent.push(`map keys ${keys.join(" ")}`);
      await canvas.focus();
      for (const key of keys) await page.keyboard.press(key);
    },
    async console() {
      const text = CONSOLE();
      recent.push(`console ${JSON.stringify(text.slice(0, 60))}${text.length > 60 ? `… (${text.length} chars)` : ""}`);
      if (chance(0.2)) {
        await flush();
        await page.fill("#console-input", text);
        await page.press("#console-input", "Enter");
      } else await form([["console-input", text]], "console-run");
      if (chance(0.1)) {
        await flush();
        await page.press("#console-input", pick(["ArrowUp", "ArrowDown"]));
      }
    },
    async option() {
      const which = pick(["policy", "align", "coalesce", "split", "limit"]);
      if (which === "split") {
        const v = weighted([[5, String(8 * int(0, 32))], [1, "-8"], [1, "3.5"], [1, "99999999"], [1, ""]]);
        recent.push(`option split="${v}"`);
        if (chance(0.3)) {
          await flush();
          await page.fill("#opt-split", v);
          await page.press("#opt-split", "Enter");
        } else await form([["opt-split", v]], "check-button");
        return;
      }
      const id = { policy: "#opt-policy", align: "#opt-align", coalesce: "#opt-coalesce", limit: "#opt-limit" }[which];
      const values = { policy: POLICIES, align: ["8", "16"], coalesce: ["immediate", "deferred"], limit: LIMITS }[which];
      // Memory limits: mostly none or generous, so the session keeps going.
      const value = which === "limit" ? weighted([[4, ""], [1, pick(values)]]) : pick(values);
      recent.push(`option ${which}="${value}"`);
      if (chance(0.3)) {
        await flush();
        await page.selectOption(id, value);
      }
      else await form([[id.slice(1), value]], "check-button");
    },
    async reset() {
      recent.push("reset");
      await page.click("#reset-button");
    },
    async check() {
      recent.push("check heap");
      await page.click("#check-button");
    },
    async timeline() {
      const what = weighted([[3, "undo"], [3, "redo"], [3, "scrub"], [2, "keys"], [1, "play"]]);
      if (what === "scrub") {
        const max = Number(await page.locator("#scrubber").getAttribute("max"));
        const to = int(0, max);
        recent.push(`scrub to ${to} of ${max}`);
        await page.locator("#scrubber").fill(String(to));
      } else if (what === "keys") {
        const key = pick(["ArrowLeft", "ArrowRight", "ArrowLeft", "ArrowRight", " "]);
        recent.push(`timeline key ${JSON.stringify(key)}`);
        await body(key);
      } else {
        recent.push(what);
        await page.click(`#${what === "play" ? "play" : what}-button`, { force: true });
      }
    },
    async steps() {
      const what = pick(["toggle", "next", "pause"]);
      recent.push(`step mode ${what}`);
      if (what === "toggle") await page.click("#step-mode");
      else await page.click(what === "next" ? "#step-next" : "#step-pause");
    },
    async zoom() {
      const button = pick(["#zoom-in", "#zoom-out", "#zoom-fit"]);
      recent.push(`zoom ${button}`);
      await page.click(button);
    },
    async write() {
      // Small writes at the start of the payload (never past it: that corrupts on purpose and blocks the session).
      const text = pick(["hi", "abc", "x"]);
      recent.push(`write "${text}" into the selected block`);
      await form([["write-mode", "text"], ["write-offset", pick(["0", "0", "-1", "1.5", ""])], ["write-data", text]], "write-button");
    },
    async freeSelected() {
      recent.push("free selected");
      await page.click("#free-selected", { force: true });
    },
    async share() {
      recent.push("share link");
      await page.click("#share-button");
    },
    async workload() {
      const values = await page.locator("#workload option").evaluateAll((os) => os.map((o) => o.value));
      const value = pick(values);
      recent.push(`workload ${value}`);
      await page.selectOption("#workload", value);
      await page.click("#workload-load");
    },
    async importTrace() {
      const file = weighted([
        [3, { name: "small.rep", mimeType: "text/plain", buffer: Buffer.from(SMALL_REP) }],
        [1, { name: "small.json", mimeType: "application/json", buffer: Buffer.from(SMALL_JSON) }],
        [1, { name: "bad.rep", mimeType: "text/plain", buffer: Buffer.from("2\n3\na 0 24\nf 1\na 1 8\n") }],
        [1, { name: "lying.rep", mimeType: "text/plain", buffer: Buffer.from("1\n9\na 0 24\n") }],
        [1, { name: "unknown-op.rep", mimeType: "text/plain", buffer: Buffer.from("1\n1\nz 0 24\n") }],
        [1, { name: "bad.json", mimeType: "application/json", buffer: Buffer.from('{"format":"heaplab-trace","version":1,"ops":[["a",0,-8]]}') }],
        [2, { name: "garbage.bin", mimeType: "application/octet-stream", buffer: Buffer.from(Array.from({ length: int(1, 4096) }, () => int(0, 255))) }],
        [1, { name: "empty.rep", mimeType: "text/plain", buffer: Buffer.alloc(0) }],
      ]);
      recent.push(`import ${file.name} (${file.buffer.length} bytes)`);
      await page.setInputFiles("#trace-file", file);
    },
  };

  const plan = [
    [16, "malloc"],
    [4, "calloc"],
    [6, "realloc"],
    [7, "free"],
    [9, "clickBlock"],
    [2, "clickRandom"],
    [3, "clickRow"],
    [1, "viewMode"],
    [5, "mapKeys"],
    [16, "console"],
    [4, "option"],
    [0.6, "reset"],
    [1, "check"],
    [6, "timeline"],
    [1, "steps"],
    [1, "zoom"],
    [1.5, "write"],
    [1, "freeSelected"],
    [0.15, "share"],
    [0.15, "workload"],
    [0.5, "importTrace"],
  ];

  const BATCHABLE = new Set(["malloc", "calloc", "realloc", "free", "console", "option", "write"]);
  const integrity = () =>
    page.evaluate(() => {
      const d = window.heaplabDebug;
      let heap = null;
      try {
        d.heap.check();
      } catch (error) {
        heap = error.message;
      }
      return { heap, corruption: d.session.corruption, broken: window.__broken.splice(0), ops: d.timeline.length };
    });

  const started = Date.now();
  const timing = {};
  for (step = 1; step <= STEPS; step++) {
    const name = weighted(plan);
    const t0 = Date.now();
    try {
      if (!BATCHABLE.has(name) || pending.length >= 10) await flush();
      await actions[name]();
      if (process.env.HEAPLAB_PROFILE) (timing[name] ??= []).push(Date.now() - t0);
    } catch (error) {
      throw new Error(`action ${name} failed at ${where()}\n${error.message}`);
    }
    if (recent.length > 50) recent.splice(0, recent.length - 50);
    if (step % 100 === 0 || step === STEPS) {
      await flush();
      const state = await integrity();
      expect(errors, `no page or console errors so far, ${where()}`).toEqual([]);
      expect(state.broken, `no internal failure shown, ${where()}`).toEqual([]);
      expect(state.heap, `heap.check() passes, ${where()}`).toBeNull();
      expect(state.corruption, `the session saw no corruption, ${where()}`).toBeNull();
      if (step % 500 === 0) console.log(`  step ${step}: ${state.ops} operations recorded, ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
  }

  // Stop anything still running, then the page must still answer and the heap check pass.
  await page.evaluate(() => {
    if (window.heaplabDebug.player) window.heaplabDebug.player.clear?.();
  });
  if ((await page.locator("#play-button").getAttribute("aria-pressed")) === "true") await page.click("#play-button");
  if (await page.locator("#step-mode").isChecked()) await page.click("#step-mode");
  await page.selectOption("#opt-limit", "");
  await page.click("#check-button");
  await expect(page.locator("#message"), `the Check heap button reports success, ${where()}`).toHaveText("check() passed: every segment, block and free list is consistent");
  await page.fill("#console-input", "zz = malloc(40)");
  await page.press("#console-input", "Enter");
  await expect(page.locator("#message"), `the page still allocates, ${where()}`).toContainText("zz = malloc(40) returned");
  const final = await integrity();
  expect(final.heap, `heap.check() passes at the end, ${where()}`).toBeNull();
  expect(final.broken, `no internal failure shown, ${where()}`).toEqual([]);
  expect(errors, `no page or console errors, ${where()}`).toEqual([]);
  if (process.env.HEAPLAB_PROFILE) for (const [k, v] of Object.entries(timing)) console.log(k, v.length, v.reduce((a, b) => a + b, 0), Math.max(...v));
  console.log(`random UI session: seed ${SEED}, ${STEPS} actions in ${((Date.now() - started) / 1000).toFixed(1)} s`);
});
