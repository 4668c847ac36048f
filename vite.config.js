// Vite builds the playground in web/ into a static site in dist/.
// `base: "./"` makes every asset URL relative, so dist/ works from any static
// file server under any sub-path; the wasm file is emitted as a hashed asset.
import { defineConfig } from "vite";
import { resolve, join, relative } from "node:path";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";

const web = resolve(import.meta.dirname, "web");

/** Every file under `dir`, as paths relative to it with forward slashes. */
function filesUnder(dir, root = dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name), root) : [relative(root, join(dir, entry.name)).split("\\").join("/")],
  );
}

/**
 * Writes dist/sw.js, the offline service worker (web/src/offline-worker.js),
 * with the list of every built file to precache and a version hashed from
 * their contents, so that a new build replaces the old cache.
 */
function offlineWorker() {
  return {
    name: "heaplab-offline-worker",
    apply: "build",
    writeBundle(options) {
      const files = filesUnder(options.dir).filter((f) => f !== "sw.js" && !f.endsWith(".map")).sort();
      const hash = createHash("sha256");
      for (const file of files) hash.update(file).update(readFileSync(join(options.dir, file)));
      const build = { version: hash.digest("hex").slice(0, 16), files };
      const source = readFileSync(resolve(web, "src/offline-worker.js"), "utf8");
      const marker = 'const BUILD = { version: "dev", files: [] };';
      if (!source.includes(marker)) throw new Error(`offline-worker.js lost its line ${marker}`);
      writeFileSync(join(options.dir, "sw.js"), source.replace(marker, `const BUILD = ${JSON.stringify(build)};`));
    },
  };
}

export default defineConfig({
  root: web,
  base: "./",
  publicDir: resolve(web, "public"),
  plugins: [offlineWorker()],
  server: { host: "127.0.0.1", port: 5173, strictPort: false },
  preview: { host: "127.0.0.1", port: 4173 },
  build: {
    outDir: resolve(import.meta.dirname, "dist"),
    emptyOutDir: true,
    target: "es2022",
    rollupOptions: {
      input: {
        main: resolve(web, "index.html"),
        compare: resolve(web, "compare.html"),
        learn: resolve(web, "learn.html"),
        machine: resolve(web, "machine.html"),
        demo: resolve(web, "demo.html"),
        embed: resolve(web, "embed.html"),
        "heap-playground": resolve(web, "src/embed/heap-playground.js"),
      },
      // The embed element keeps a stable name at the site's root, for the one-line embed.
      output: { entryFileNames: (chunk) => (chunk.name === "heap-playground" ? "heap-playground.js" : "assets/[name]-[hash].js") },
    },
  },
  test: {
    root: import.meta.dirname,
    include: ["web/tests/**/*.test.js"],
    environment: "node",
    // Many tests run the real wasm heap over thousands of operations; on a
    // busy 2-core machine 5 s is too tight. Timings are never asserted.
    testTimeout: 30_000,
    // Node 20's V8 (11.3) can die with "Fatal error: unreachable code" in
    // Deoptimizer::DoComputeBuiltinContinuation when TurboFan has inlined a
    // JS-to-wasm call and later deoptimizes it (seen in about 1 of 7 runs of
    // the kmalloc trace replay, CI included). Not inlining those calls avoids
    // it; the wasm itself is compiled exactly as before.
    execArgv: ["--no-turbo-inline-js-wasm-calls"],
  },
});
