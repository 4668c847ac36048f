// Sets the page's theme before its first paint: a classic (render-blocking)
// script in <head>, not a module, so that a dark page never flashes white.
// `data-theme` on <html> is "light" or "dark": the choice kept by the theme
// control (localStorage "heaplab.theme": "light", "dark" or "auto"), else the
// system's prefers-color-scheme. web/src/theme.js keeps it up to date.
(function () {
  var choice = "auto";
  try {
    choice = localStorage.getItem("heaplab.theme") || "auto";
  } catch (e) {
    // Storage blocked (private mode, sandboxed iframe): follow the system.
  }
  var dark = choice === "dark" || (choice !== "light" && window.matchMedia && matchMedia("(prefers-color-scheme: dark)").matches);
  document.documentElement.dataset.theme = dark ? "dark" : "light";
  // Whose data-theme this is: theme.js keeps only its own up to date (a docs
  // site that embeds the element has a data-theme of its own).
  document.documentElement.dataset.themeBy = "heaplab";
})();
