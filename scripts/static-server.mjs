#!/usr/bin/env node
// A plain static file server with no knowledge of the app: it proves that the
// built site works from any static host under any sub-path.
// Usage: node scripts/static-server.mjs <dir> [--port 4180] [--prefix /some/path/]
import { createServer } from "node:http";
import { createReadStream, statSync } from "node:fs";
import { extname, join, normalize, resolve } from "node:path";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".wasm": "application/wasm",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".webmanifest": "application/manifest+json",
  ".rep": "text/plain; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
};

export function serve(dir, { port = 0, prefix = "/" } = {}) {
  const rootDir = resolve(dir);
  const server = createServer((req, res) => {
    const url = new URL(req.url, "http://localhost");
    let path = decodeURIComponent(url.pathname);
    if (!path.startsWith(prefix)) return notFound(res);
    path = path.slice(prefix.length);
    if (path === "" || path.endsWith("/")) path += "index.html";
    const file = normalize(join(rootDir, path));
    if (!file.startsWith(rootDir)) return notFound(res);
    try {
      if (!statSync(file).isFile()) return notFound(res);
    } catch {
      return notFound(res);
    }
    // As public static hosts do (and as a page on another site that loads
    // heap-playground.js from here needs: module scripts and the wasm fetch
    // are cross-origin requests).
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "access-control-allow-origin": "*" });
    createReadStream(file).pipe(res);
  });
  return new Promise((ok) => server.listen(port, "127.0.0.1", () => ok(server)));
}

function notFound(res) {
  res.writeHead(404, { "content-type": "text/plain" });
  res.end("not found");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const argv = process.argv.slice(2);
  const option = (name, fallback) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : fallback;
  };
  const server = await serve(argv[0] ?? "dist", { port: Number(option("--port", 4180)), prefix: option("--prefix", "/") });
  const { port } = server.address();
  console.log(`serving ${argv[0] ?? "dist"} at http://127.0.0.1:${port}${option("--prefix", "/")}`);
}
