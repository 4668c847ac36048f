#!/usr/bin/env node
// Makes the screenshots of the README and docs/ from the built site, so they
// stay true when the UI changes: `npm run screenshots` (builds first).
//
//   docs/screenshots/playground.png       the playground at 1280x800: blocks, free list
//   docs/screenshots/step-mode.png        step mode in the middle of a first-fit search
//   docs/screenshots/predict-mode.png     predict mode asking where a malloc lands
//   docs/screenshots/compare.png          compare: five policies on one trace
//   docs/screenshots/lesson.png           the coalescing lesson
//   docs/screenshots/phone.png            the playground on a phone (390x844)
//   docs/screenshots/dark.png             the playground in the dark theme
//   docs/screenshots/embed.png            <heap-playground> in the demo's text
//
// Uses Debian's Chromium through playwright-core, as the end-to-end tests do.
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "@playwright/test";
import { findChromium, CHROMIUM_ARGS } from "./chromium.mjs";
import { serve } from "./static-server.mjs";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const out = join(root, "docs", "screenshots");
mkdirSync(out, { recursive: true });

const server = await serve(join(root, "dist"), { port: 0, prefix: "/" });
const base = `http://127.0.0.1:${server.address().port}/`;
const browser = await chromium.launch({ executablePath: findChromium(), args: CHROMIUM_ARGS });

/** Opens `path` in a new page of `viewport` and waits until it is ready. */
async function open(path, { width = 1280, height = 800, colorScheme = "light" } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, colorScheme, reducedMotion: "reduce" });
  const page = await context.newPage();
  page.on("pageerror", (error) => console.error(`page error on ${path}: ${error.message}`));
  await page.goto(base + path);
  await page.waitForSelector("body[data-ready=true]");
  return page;
}

async function run(page, ...statements) {
  for (const statement of statements) {
    await page.fill("#console-input", statement);
    await page.press("#console-input", "Enter");
  }
}

const STORY = ["a = malloc(24)", "b = malloc(40)", "c = malloc(16)", "d = malloc(100)", "e = malloc(64)", "free(b)", "free(d)"];

async function shot(page, name, scrollTo = null) {
  if (scrollTo) await page.evaluate((s) => document.querySelector(s)?.scrollIntoView({ block: "start" }), scrollTo);
  await page.mouse.move(0, 0);
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(out, `${name}.png`) });
  console.log(`wrote docs/screenshots/${name}.png`);
}

try {
  let page = await open("index.html");
  await run(page, ...STORY);
  await shot(page, "playground", "section.timeline");

  await page.check("#step-mode");
  await page.selectOption("#step-speed", "1600");
  await page.evaluate(() => window.heaplabDebug.player.pause());
  await run(page, "f = malloc(56)");
  await page.evaluate(() => {
    const { player } = window.heaplabDebug;
    player.next();
    player.next();
    player.next();
  });
  await shot(page, "step-mode", "section.steps");
  await page.context().close();

  page = await open("index.html");
  await run(page, ...STORY);
  await page.check("#predict-mode");
  await run(page, "f = malloc(32)");
  await shot(page, "predict-mode", "section.steps");
  await page.context().close();

  page = await open("compare.html");
  await page.click("#compare-button");
  await page.waitForSelector(".map-card[data-blocks-drawn]");
  await page.waitForTimeout(1500);
  await shot(page, "compare", "#maps-title");
  await page.context().close();

  page = await open("learn.html#coalescing");
  await shot(page, "lesson");
  await page.context().close();

  page = await open("index.html", { width: 390, height: 844 });
  await run(page, ...STORY);
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot(page, "phone");
  await page.context().close();

  page = await open("index.html", { colorScheme: "dark" });
  await run(page, ...STORY);
  await shot(page, "dark", "section.timeline");
  await page.context().close();

  // The element in a docs page: the demo's first heap, with the text around it.
  page = await open("demo.html");
  await page.locator("#e1").scrollIntoViewIfNeeded();
  await page.locator("h2").first().evaluate((h) => h.scrollIntoView({ block: "start" }));
  await shot(page, "embed");
  await page.context().close();
} finally {
  await browser.close();
  server.close();
}
