#!/usr/bin/env node
// Suite `pack`: the npm package as a user gets it. `npm pack` (which builds
// lib/), then, in a scratch folder outside the repository:
//   1. `npm install <the tarball>` with Vite and TypeScript, as an app would;
//   2. a plain static page (examples/plain) with lib/ copied beside it, no
//      bundler, served under a sub-path: both elements ready, their steps,
//      their heaps drawn, buttons and the heap-step event, one wasm fetch,
//      zero console errors;
//   3. a Vite app (examples/vite-app) that imports the API, the trace module
//      and the element, built by Vite and checked the same way;
//      and the same app from Vite's dev server;
//   4. the shipped types (`tsc --noEmit` over examples/vite-app/types.ts).
// Prints "N passed, N failed".
import { spawn } from "node:child_process";
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { Report, assert, launch, openPage, checkHeaps, stepLine } from "./browser-check.mjs";
import { root, scratchDir, run, packPackage, copyExample } from "./scratch.mjs";
import { serve } from "./static-server.mjs";

/** A port nobody listens on now. */
function freePort() {
  return new Promise((ok) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => ok(port));
    });
  });
}

const report = new Report();
const dir = scratchDir("pack");
const app = join(dir, "app");
let tarball = null;
let files = [];

await report.check("npm pack: the tarball holds lib/ (entries, types, wasm, worker) and nothing of the sources", async () => {
  ({ tarball, files } = packPackage(dir));
  for (const file of ["package.json", "lib/heaplab.js", "lib/element.js", "lib/trace.js", "lib/heaplab_bg.wasm", "lib/replay-worker.js", "lib/heaplab.d.ts", "lib/element.d.ts", "lib/trace.d.ts"]) {
    assert(files.includes(file), `${file} is in the tarball (it has ${files.join(", ")})`);
  }
  const strays = files.filter((f) => /^(web|crate|scripts|docs|node_modules)\//.test(f));
  assert(strays.length === 0, `no sources in the tarball: ${strays.join(", ")}`);
  const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  assert(!manifest.private, "package.json is not private");
  assert(manifest.exports["./element"] && manifest.exports["./trace"] && manifest.exports["."], "exports: heaplab, heaplab/element, heaplab/trace");
});

await report.check("npm install <tarball> into a scratch app outside the repository", async () => {
  assert(tarball, "packed");
  rmSync(app, { recursive: true, force: true });
  copyExample(join(root, "examples", "vite-app"), app);
  const manifest = JSON.parse(readFileSync(join(app, "package.json"), "utf8"));
  const ours = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  manifest.dependencies.heaplab = `file:${tarball}`;
  manifest.devDependencies.vite = ours.devDependencies.vite;
  manifest.devDependencies.typescript = "5.9.3";
  writeFileSync(join(app, "package.json"), JSON.stringify(manifest, null, 2));
  run("npm", ["install", "--no-audit", "--no-fund", "--loglevel", "error"], { cwd: app });
  const installed = JSON.parse(readFileSync(join(app, "node_modules", "heaplab", "package.json"), "utf8"));
  assert(installed.version === ours.version, `installed heaplab ${installed.version}`);
});

const browser = await launch();
try {
  await report.check("a plain page with lib/ copied beside it, no bundler: two elements, buttons, the heap-step event", async () => {
    const site = join(dir, "plain-site");
    rmSync(site, { recursive: true, force: true });
    copyExample(join(root, "examples", "plain"), site);
    cpSync(join(app, "node_modules", "heaplab", "lib"), join(site, "heaplab"), { recursive: true });
    const server = await serve(site, { port: 0, prefix: "/some/docs/" });
    try {
      const opened = await openPage(browser, `http://127.0.0.1:${server.address().port}/some/docs/index.html`);
      await checkHeaps(opened, { coalesce: "Step 4 of 9: malloc(16) → #4", bestfit: "Step 7 of 7: malloc(40) → #5" });
      const { page } = opened;
      await page.getByRole("button", { name: "Three merged" }).click();
      assert((await stepLine(page, "coalesce")) === "Step 7 of 9: free(#2)", "the host page's button moved the element to step 7");
      assert((await page.locator("#caption").textContent()) === "Step 7 of 9.", "the heap-step event reached the host page");
      await page.locator("#bestfit #console-input").fill("p = malloc(500)");
      await page.locator("#bestfit #console-input").press("Enter");
      await page.waitForFunction(() => document.getElementById("bestfit").session.snapshot().stats.liveBlocks === 4, null, { timeout: 10_000 });
      assert(opened.problems.length === 0, opened.problems.join("\n"));
    } finally {
      server.close();
    }
  });

  await report.check("a Vite app importing heaplab, heaplab/trace and heaplab/element, built by Vite", async () => {
    run("npx", ["vite", "build", "--logLevel", "warn", "--base", "./"], { cwd: app });
    const server = await serve(join(app, "dist"), { port: 0, prefix: "/app/" });
    try {
      const opened = await openPage(browser, `http://127.0.0.1:${server.address().port}/app/`);
      await opened.page.waitForSelector("body[data-ready=true]", { timeout: 30_000 });
      await checkHeaps(opened, { element: "Step 3 of 3: free(#1)" });
      const api = await opened.page.locator("#api").textContent();
      assert(/^\d+ policies; 1 live block, #2$/.test(api), `the API's answer: "${api}"`);
      assert((await opened.page.locator("#trace").textContent()) === "2 | 3 | a 0 24 | a 1 48 | f 0", "heaplab/trace read and wrote the trace");
    } finally {
      server.close();
    }
  });

  await report.check("the same app from Vite's dev server (its dependency pre-bundling included)", async () => {
    const port = await freePort();
    const dev = spawn(join(app, "node_modules", ".bin", "vite"), ["--port", String(port), "--strictPort", "--host", "127.0.0.1"], { cwd: app, stdio: ["ignore", "pipe", "inherit"] });
    try {
      await new Promise((ok, fail) => {
        dev.stdout.on("data", (chunk) => String(chunk).includes("ready in") && ok());
        dev.on("exit", (code) => fail(new Error(`vite exited with ${code}`)));
      });
      const opened = await openPage(browser, `http://127.0.0.1:${port}/`);
      await opened.page.waitForSelector("body[data-ready=true]", { timeout: 30_000 });
      await checkHeaps(opened, { element: "Step 3 of 3: free(#1)" });
    } finally {
      dev.kill();
    }
  });
} finally {
  await browser.close();
}

await report.check("the shipped types check (tsc --noEmit, strict)", async () => {
  run("npx", ["tsc", "-p", "tsconfig.json"], { cwd: app });
});

process.exit(report.close());
