// Hostile input through the playground's UI (issue 10, item 3): NaN, negative,
// fractional and huge sizes and alignments typed into the fields and the
// console; frees of ids never allocated; double frees by clicking twice, by
// the keyboard and by the console; a realloc of a freed id; share links that
// are garbage, truncated or enormous; saved work in local storage that is
// garbage. Each shows a visible error, changes nothing (the table of blocks,
// the stats panel and the recorded operations are the same before and after,
// and the integrity check passes) and throws nothing (the fixture fails the
// test on any page or console error).
import { deflateRawSync } from "node:zlib";
import { test, expect, openPlayground } from "./fixtures.js";
import { run, settled, pointOf } from "./helpers.js";

const message = (page) => page.locator("#message");

/** What the page shows of the heap: the table of blocks, the stats, the operations recorded. */
async function shown(page) {
  await settled(page);
  return page.evaluate(() => ({
    table: document.querySelector("#block-list tbody").innerText,
    stats: document.querySelector("#stats").innerText,
    ops: window.heaplabDebug.timeline.length,
    at: window.heaplabDebug.timeline.at,
  }));
}

/** The heap's own integrity check, and the session's view of it. */
async function integrity(page) {
  return page.evaluate(() => {
    try {
      window.heaplabDebug.heap.check();
    } catch (error) {
      return error.message;
    }
    return window.heaplabDebug.session.corruption;
  });
}

/**
 * Runs `action` (which must be refused) and checks: a visible error message
 * (matching `expected`), nothing changed, the heap still consistent.
 */
async function refused(page, label, action, expected = /./) {
  const before = await shown(page);
  await page.evaluate(() => {
    const m = document.getElementById("message");
    m.textContent = "";
    m.classList.remove("error");
  });
  await action();
  await expect(message(page), `${label}: a visible error`).toHaveClass(/\berror\b/);
  await expect(message(page), `${label}: a visible error`).toHaveText(/^Error: /);
  await expect(message(page), `${label}: the error says why`).toHaveText(expected);
  await expect(message(page)).toBeVisible();
  expect(await shown(page), `${label}: the table, the stats and the operations are unchanged`).toEqual(before);
  expect(await integrity(page), `${label}: the integrity check passes`).toBeNull();
}

/** Sets a field's value as typed text would (number fields sanitise text they cannot parse to ""). */
async function setField(page, id, value) {
  await page.evaluate(
    ([id, value]) => {
      const el = document.getElementById(id);
      el.value = value;
      el.dispatchEvent(new Event("input", { bubbles: true }));
    },
    [id, value],
  );
}

const HOSTILE_SIZES = ["", "-1", "-4096", "0.5", "1.5", "24.000001", "1e20", "99999999999", "4294967296", "9007199254740993", "1e308"];

test("hostile sizes and alignments in the forms are refused with a message and change nothing", async ({ page }) => {
  test.setTimeout(120_000);
  await openPlayground(page);
  await run(page, "p = malloc(24)", "q = malloc(100)", "free(p)", "r = calloc(2, 8)");
  await expect(message(page)).toContainText("calloc(2, 8) returned");

  for (const size of [...HOSTILE_SIZES, "abc"]) {
    await refused(page, `malloc size "${size}"`, async () => {
      await setField(page, "alloc-size", size);
      await page.selectOption("#alloc-align", "0");
      await page.click("#alloc-button");
    });
    await refused(page, `aligned malloc size "${size}"`, async () => {
      await setField(page, "alloc-size", size);
      await page.selectOption("#alloc-align", "64");
      await page.click("#alloc-button");
    });
    await refused(page, `calloc size "${size}"`, async () => {
      await setField(page, "calloc-count", "3");
      await setField(page, "calloc-size", size);
      await page.click("#calloc-button");
    });
    await refused(page, `calloc count "${size}"`, async () => {
      await setField(page, "calloc-count", size);
      await setField(page, "calloc-size", "8");
      await page.click("#calloc-button");
    });
    await refused(page, `realloc(q, "${size}")`, async () => {
      await page.fill("#realloc-ref", "q");
      await setField(page, "realloc-size", size);
      await page.click("#realloc-button");
    });
  }
  // calloc whose product overflows (or is far beyond any heap).
  await refused(page, "calloc(99999999, 99999999)", async () => {
    await page.fill("#calloc-count", "99999999");
    await page.fill("#calloc-size", "99999999");
    await page.click("#calloc-button");
  });

  // Typed for real: negative, fractional, huge.
  for (const size of ["-8", "2.5", "1e300"]) {
    await refused(page, `typed malloc size "${size}"`, async () => {
      await page.fill("#alloc-size", size);
      await page.click("#alloc-button");
    });
  }

  // Alignments the select does not offer (a tampered page, or a future one): not a power of two, NaN, negative, huge.
  for (const align of ["3", "24", "NaN", "-16", "1.5", "1099511627776"]) {
    await refused(page, `malloc with alignment "${align}"`, async () => {
      await page.evaluate((value) => {
        const select = document.getElementById("alloc-align");
        const o = document.createElement("option");
        o.value = value;
        o.textContent = value;
        select.append(o);
      }, align);
      await page.fill("#alloc-size", "16");
      await page.selectOption("#alloc-align", align);
      await page.click("#alloc-button");
    });
  }
  await page.selectOption("#alloc-align", "0");

  // The console: the same sizes and alignments as C.
  for (const statement of [
    "x = malloc(-1)",
    "x = malloc(1.5)",
    "x = malloc(99999999999)",
    "x = malloc(1e400)",
    `x = malloc(${"9".repeat(400)})`,
    "x = calloc(-1, 8)",
    "x = calloc(99999999, 99999999)",
    "x = aligned_alloc(3, 16)",
    "x = aligned_alloc(-16, 16)",
    "x = aligned_alloc(1.5, 16)",
    "q = realloc(q, 99999999999)",
    "q = realloc(q, -1)",
    ")))",
    "x = malloc(",
    "x".repeat(10_000),
  ]) {
    await refused(page, `console ${statement.slice(0, 40)}`, async () => {
      await page.fill("#console-input", statement);
      await page.press("#console-input", "Enter");
    });
  }

  // A realloc that failed left q where it was, with its contents.
  await expect(page.locator('#block-list tbody tr[data-id="2"]')).toHaveAttribute("data-state", "used");

  // Heap options: a split minimum that is negative, fractional, huge or empty is refused, and the field shows the one in force.
  const split = await page.inputValue("#opt-split");
  for (const value of ["-8", "3.5", "99999999", "", "1e400"]) {
    await refused(page, `split minimum "${value}"`, async () => {
      await setField(page, "opt-split", value);
      await page.dispatchEvent("#opt-split", "change");
    });
    await expect(page.locator("#opt-split"), `split minimum "${value}": the field shows the option in force`).toHaveValue(split);
  }
  // Options the selects do not offer.
  for (const [id, value] of [
    ["opt-policy", "no-such-policy"],
    ["opt-align", "12"],
    ["opt-coalesce", "sometimes"],
    ["opt-limit", "-1"],
  ]) {
    const was = await page.inputValue(`#${id}`);
    await refused(page, `${id} = "${value}"`, async () => {
      await page.evaluate(
        ([id, value]) => {
          const o = document.createElement("option");
          o.value = value;
          o.textContent = value;
          document.getElementById(id).append(o);
        },
        [id, value],
      );
      await page.selectOption(`#${id}`, value);
    });
    await expect(page.locator(`#${id}`), `${id}: the select shows the option in force`).toHaveValue(was);
  }
});

test("frees of ids never allocated, double frees (two clicks, the keyboard, the console) and a realloc of a freed id", async ({ page }) => {
  test.setTimeout(120_000);
  await openPlayground(page);
  await run(page, "a = malloc(100)", "b = malloc(200)", "c = malloc(300)");
  await expect(message(page)).toContainText("c = malloc(300) returned");

  for (const ref of ["#4", "#99", "#0", "#-1", "#1.5", "#99999999999999999999", "zz", "0x10", "%%%", "x".repeat(500)]) {
    await refused(page, `free "${ref.slice(0, 20)}"`, async () => {
      await page.fill("#free-ref", ref);
      await page.click("#free-button");
    });
  }
  for (const statement of ["free(zz)", "free(0x1)", "free(0xdeadbeef)", "free(#7)"]) {
    await refused(page, `console ${statement}`, async () => {
      await page.fill("#console-input", statement);
      await page.press("#console-input", "Enter");
    });
  }
  // An interior pointer: the address of a byte inside b's payload.
  const b = Number(await page.locator('#block-list tbody tr[data-id="2"]').getAttribute("data-payload"));
  await refused(page, "console free of an interior pointer", async () => {
    await page.fill("#console-input", `free(0x${(b + 8).toString(16)})`);
    await page.press("#console-input", "Enter");
  });

  // Two double clicks on b: the first frees it, the second finds a free block.
  const point = await pointOf(page, b + 16);
  await page.locator("#heap-map").dblclick({ position: point });
  await expect(message(page)).toContainText("free(b)");
  await refused(page, "a second double click on b", () => page.locator("#heap-map").dblclick({ position: point }), /is free: nothing to free/);

  // The keyboard: focus b's (free) block on the map, then Enter and Delete.
  await page.locator('#block-list tbody tr[data-state="free"]').first().click();
  await expect(page.locator("#selection")).toContainText("free");
  for (const key of ["Enter", "Delete"]) {
    await refused(
      page,
      `${key} on a free block`,
      async () => {
        await page.locator("#heap-map").focus();
        await page.keyboard.press(key);
      },
      /is free: nothing to free/,
    );
  }

  // By the form and by the console, after a free.
  await refused(page, "free(#2) again by the form", async () => {
    await page.fill("#free-ref", "#2");
    await page.click("#free-button");
  }, /double free/);
  await refused(page, "free(b) again in the console", () => run(page, "free(b)"), /double free of b/);
  await run(page, "free(a)");
  await expect(message(page)).toContainText("free(a)");
  await refused(page, "free(a) twice", () => run(page, "free(a)"), /double free of a/);

  // realloc of a freed id / name.
  await refused(page, "realloc(#1, 64) by the form", async () => {
    await page.fill("#realloc-ref", "#1");
    await page.fill("#realloc-size", "64");
    await page.click("#realloc-button");
  }, /not an allocated block/);
  await refused(page, "a = realloc(a, 64) in the console", () => run(page, "a = realloc(a, 64)"), /not an allocated block/);
  await refused(page, "realloc of an id never allocated", async () => {
    await page.fill("#realloc-ref", "#42");
    await page.fill("#realloc-size", "64");
    await page.click("#realloc-button");
  });

  // And the page still works.
  await run(page, "d = malloc(40)");
  await expect(message(page)).toContainText("d = malloc(40) returned");
  await page.click("#check-button");
  await expect(message(page)).toHaveText(/^check\(\) passed/);
});

// ------------------------------------------------------------ share links and saved work

const b64url = (buffer) => buffer.toString("base64url");
const encode = (text) => b64url(deflateRawSync(Buffer.from(text)));
const WORK = JSON.stringify({ v: 1, options: { policy: "best-fit" }, at: 2, ops: [["m", 1, 24, 0], ["m", 2, 48, 0]] });
const GOOD = encode(WORK);

const BAD_LINKS = [
  ["garbage", "%%%garbage%%%"],
  ["not base64url", "AAAA-not-a-heap!!"],
  ["empty", ""],
  ["base64url of random bytes", b64url(Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7919 + 13) % 256)))],
  ["truncated (half of a good link)", GOOD.slice(0, Math.floor(GOOD.length / 2))],
  ["truncated (all but the last characters)", GOOD.slice(0, -3)],
  ["enormous (a million characters)", "A".repeat(1_000_000)],
  ["enormous once decompressed (70 MB of JSON from 70 KB)", encode(`{"v":1,"ops":[]${" ".repeat(70 * 1024 * 1024)}}`)],
  ["valid JSON, not work", encode('{"hello":"world"}')],
  ["an unknown version", encode(WORK.replace('"v":1', '"v":2'))],
  ["a bad option", encode(WORK.replace("best-fit", "<img src=x onerror=alert(1)>"))],
  ["a negative size", encode(WORK.replace("24", "-24"))],
  ["a point in time past the end", encode(WORK.replace('"at":2', '"at":99'))],
  ["not UTF-8", b64url(deflateRawSync(Buffer.from([0xff, 0xfe, 0xfd, 0x80])))],
];

test("a good share link restores its heap (so the bad ones below are tested against a working reader)", async ({ page }) => {
  await openPlayground(page, `./#work=${GOOD}`);
  await expect(message(page)).toContainText("Restored the heap from the shared link");
  expect(await page.evaluate(() => [window.heaplabDebug.timeline.length, window.heaplabDebug.timeline.at])).toEqual([2, 2]);
});

for (const [label, encoded] of BAD_LINKS) {
  test(`a share link that is ${label} is reported and the page starts empty`, async ({ page }) => {
    test.setTimeout(90_000);
    await openPlayground(page, `./#work=${encoded}`);
    await expect(message(page)).toHaveClass(/\berror\b/);
    await expect(message(page)).toHaveText(/^Error: The shared link could not be read \(.+\); starting with an empty heap/);
    await expect(message(page)).toBeVisible();
    const after = await shown(page);
    expect(await integrity(page)).toBeNull();
    expect(await page.evaluate(() => document.getElementById("opt-policy").value)).toBe("first-fit");
    // Nothing changed: the same as a page opened without the link.
    await page.goto("about:blank");
    await openPlayground(page);
    expect(after).toEqual(await shown(page));
    // And the page works.
    await run(page, "p = malloc(8)");
    await expect(message(page)).toContainText("p = malloc(8) returned");
  });
}

test("a share link to operations the heap refuses (a free of a block never allocated) is reported", async ({ page }) => {
  const encoded = encode(JSON.stringify({ v: 1, options: {}, ops: [["f", 5]] }));
  await openPlayground(page, `./#work=${encoded}`);
  await expect(message(page)).toHaveClass(/\berror\b/);
  const after = await shown(page);
  expect(after.ops).toBe(0);
  expect(await integrity(page)).toBeNull();
  await page.goto("about:blank");
  await openPlayground(page);
  expect(after).toEqual(await shown(page));
});

const STORAGE_KEY = "heaplab.saved-work";
const BAD_SAVES = [
  ["garbage", "%%% not work %%%"],
  ["empty", ""],
  ["JSON instead of encoded work", WORK],
  ["truncated", GOOD.slice(0, Math.floor(GOOD.length / 2))],
  ["random base64url", b64url(Buffer.from(Array.from({ length: 2000 }, (_, i) => (i * 2654435761) % 256)))],
  ["an unknown version", encode(WORK.replace('"v":1', '"v":7'))],
  ["a bad alignment", encode(WORK.replace('[["m",1,24,0]', '[["m",1,24,3]'))],
  ["large (two million characters)", "B".repeat(2_000_000)],
  ["control characters", "\u0000\u0001\u0002\uffff"],
];

for (const [label, value] of BAD_SAVES) {
  test(`saved work in local storage that is ${label} is reported, forgotten, and the page starts empty`, async ({ page }) => {
    test.setTimeout(90_000);
    // Set once, before the page's scripts run on the first load.
    await page.addInitScript(
      ([key, value]) => {
        if (sessionStorage.getItem("hostile-set")) return;
        sessionStorage.setItem("hostile-set", "1");
        localStorage.setItem(key, value);
      },
      [STORAGE_KEY, value],
    );
    await openPlayground(page);
    await expect(message(page)).toHaveClass(/\berror\b/);
    await expect(message(page)).toHaveText(/^Error: The saved work could not be read \(.+\); starting with an empty heap/);
    await expect(message(page)).toBeVisible();
    const after = await shown(page);
    expect(after.ops).toBe(0);
    expect(await integrity(page)).toBeNull();
    expect(await page.evaluate((key) => localStorage.getItem(key), STORAGE_KEY), "the bad entry is forgotten").toBeNull();
    // Nothing changed: the same as after a reload with nothing saved (the init script does not set it again).
    await page.reload();
    await expect(page.locator("body")).toHaveAttribute("data-ready", "true");
    await expect(message(page)).not.toHaveClass(/\berror\b/);
    expect(after).toEqual(await shown(page));
    await run(page, "p = malloc(8)");
    await expect(message(page)).toContainText("p = malloc(8) returned");
  });
}

test("a share link of a few bytes asking for 2 GiB is refused by the default memory limit, with a message", async ({ page }) => {
  // calloc(2, 1e9) and malloc(1 GiB): neither may zero or obtain gigabytes.
  const encoded = encode(JSON.stringify({ v: 1, options: {}, at: 3, ops: [["c", 1, 2, 1e9], ["m", 2, 1 << 30, 0], ["m", 3, 24, 0]] }));
  expect(encoded.length).toBeLessThan(120);
  const t0 = Date.now();
  await openPlayground(page, `./#work=${encoded}`);
  await expect(message(page)).toHaveClass(/\berror\b/);
  await expect(message(page)).toContainText(/out-of-memory/);
  const heap = await page.evaluate(() => window.heaplabDebug.session.snapshot().stats.heapBytes);
  expect(heap).toBeLessThan(256 * 1024 * 1024);
  expect(await page.evaluate(() => window.heaplabDebug.session.heap.options.maxBytes)).toBe(256 * 1024 * 1024);
  expect(Date.now() - t0).toBeLessThan(30_000);
  await run(page, "p = malloc(8)");
  await expect(message(page)).toContainText("p = malloc(8) returned");
});

test("saved work whose restore never finished (the page died in it) is dropped with a message, not replayed again", async ({ page }) => {
  await openPlayground(page);
  await page.evaluate((work) => {
    localStorage.setItem("heaplab.saved-work", work);
    localStorage.setItem("heaplab.restoring", "1");
  }, GOOD);
  await openPlayground(page);
  await expect(message(page)).toContainText("The saved work was dropped: restoring it did not finish last time");
  expect(await page.evaluate(() => [localStorage.getItem("heaplab.saved-work"), localStorage.getItem("heaplab.restoring")])).toEqual([null, null]);
  expect(await page.evaluate(() => window.heaplabDebug.timeline.length)).toBe(0);
  // A restore that finishes clears its mark.
  await page.evaluate((work) => localStorage.setItem("heaplab.saved-work", work), GOOD);
  await openPlayground(page);
  await expect(message(page)).toContainText("Restored the heap from the saved work");
  expect(await page.evaluate(() => localStorage.getItem("heaplab.restoring"))).toBeNull();
});
