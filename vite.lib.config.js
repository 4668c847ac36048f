// Builds the npm package's lib/ (`npm run build:lib`; `npm pack` runs it):
//   lib/heaplab.js       the JS API (`import { init, Heap } from "heaplab"`)
//   lib/element.js       registers <heap-playground> ("heaplab/element")
//   lib/trace.js         trace reading and writing ("heaplab/trace")
//   lib/chunks/*.js      code the entries share: one wasm module for all
//   lib/replay-worker.js the worker that replays long traces
//   lib/heaplab_bg.wasm  the allocator
//   lib/*.d.ts           the types
// Every file finds the others relative to its own URL (import.meta.url), so
// lib/ works copied anywhere on a static host, and through any bundler that
// follows `new URL("…", import.meta.url)` (Vite, webpack 5, Rollup, esbuild).
import { defineConfig } from "vite";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

const web = resolve(import.meta.dirname, "web");
const names = { entryFileNames: "[name].js", chunkFileNames: "chunks/[name].js", assetFileNames: "[name][extname]" };

/** Files that go into lib/ as they are: the types. */
const COPIED = {
  "heaplab.d.ts": "src/heaplab.d.ts",
  "element.d.ts": "src/embed/heap-playground.d.ts",
  "trace.d.ts": "src/trace.d.ts",
};

function copyAsIs() {
  return {
    name: "heaplab-lib-copies",
    generateBundle() {
      for (const [fileName, from] of Object.entries(COPIED)) {
        this.emitFile({ type: "asset", fileName, source: readFileSync(resolve(web, from), "utf8") });
      }
    },
  };
}

export default defineConfig({
  root: web,
  base: "./",
  publicDir: false,
  plugins: [copyAsIs()],
  build: {
    outDir: resolve(import.meta.dirname, "lib"),
    emptyOutDir: true,
    target: "es2022",
    modulePreload: false,
    // The wasm stays a file of its own (fetched and compiled once per page), never inlined.
    assetsInlineLimit: 0,
    rollupOptions: {
      input: {
        heaplab: resolve(web, "src/heaplab.js"),
        element: resolve(web, "src/embed/heap-playground.js"),
        trace: resolve(web, "src/trace.js"),
      },
      preserveEntrySignatures: "strict",
      output: names,
    },
  },
  worker: { format: "es", rollupOptions: { output: names } },
});
