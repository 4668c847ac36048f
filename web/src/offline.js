// Makes the built site work offline after the first visit: registers the
// service worker (sw.js beside the pages, written by the build with the list
// of every built file to precache). Only in a production build: the dev
// server's modules change on every edit and must not be cached.
const production = Boolean(import.meta.env?.PROD);

/** Registers ./sw.js; resolves to the registration, or null when not possible. */
export async function registerOffline({ force = false } = {}) {
  if (!(production || force) || !("serviceWorker" in navigator)) return null;
  try {
    return await navigator.serviceWorker.register(new URL("sw.js", document.baseURI));
  } catch (error) {
    // Offline use is a bonus: a page that cannot register (a file:// URL, a
    // browser setting) still works online.
    console.warn(`Heaplab works online only here: the service worker did not register (${error.message})`);
    return null;
  }
}

registerOffline();
