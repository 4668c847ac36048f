// The service worker of the built site (the build writes it to dist/sw.js,
// filling in BUILD: a version hashed from every built file, and their paths).
// Install precaches every file of the build, so the site works offline after
// the first visit; fetches of the same origin are served cache-first (the
// built files have hashed names, and a new build is a new worker with a new
// cache), anything not precached is cached when first fetched.
const BUILD = { version: "dev", files: [] };
const CACHE = `heaplab-${BUILD.version}`;
const scope = new URL("./", self.location.href);

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await cache.addAll(["./", ...BUILD.files.map((file) => `./${file}`)]);
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) if (name.startsWith("heaplab-") && name !== CACHE) await caches.delete(name);
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("fetch", (event) => {
  const { request } = event;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== scope.origin || !url.href.startsWith(scope.href)) return;
  event.respondWith(
    (async () => {
      const cache = await caches.open(CACHE);
      // Pages take parameters (embed.html?policy=...): the page is the same file.
      const hit = await cache.match(request, { ignoreSearch: request.mode === "navigate" });
      if (hit) return hit;
      const response = await fetch(request);
      if (response.ok && response.type === "basic") await cache.put(request, response.clone());
      return response;
    })(),
  );
});
