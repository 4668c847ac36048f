// Vite builds the playground in web/ into a static site in dist/.
// `base: "./"` makes every asset URL relative, so dist/ works from any static
// file server under any sub-path; the wasm file is emitted as a hashed asset.
import { defineConfig } from "vite";
import { resolve } from "node:path";

const web = resolve(import.meta.dirname, "web");

export default defineConfig({
  root: web,
  base: "./",
  publicDir: false,
  server: { host: "127.0.0.1", port: 5173, strictPort: false },
  preview: { host: "127.0.0.1", port: 4173 },
  build: {
    outDir: resolve(import.meta.dirname, "dist"),
    emptyOutDir: true,
    target: "es2022",
    rollupOptions: {
      input: { main: resolve(web, "index.html"), compare: resolve(web, "compare.html") },
    },
  },
  test: {
    root: import.meta.dirname,
    include: ["web/tests/**/*.test.js"],
    environment: "node",
  },
});
