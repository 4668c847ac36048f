// The site's theme (light or dark) and motion preference, for the code that
// CSS cannot reach: canvases. Pages follow `data-theme` on <html>, which
// public/theme-boot.js sets before the first paint and this module keeps up
// to date; the CSS custom properties in style.css do the rest.
//
// The choice is "light", "dark" or "auto" (follow prefers-color-scheme),
// kept in localStorage under THEME_KEY (theme-boot.js reads the same key).
// A canvas draws with `currentTheme().colors` and redraws on `onThemeChange`.

/** localStorage key of the theme choice (also in public/theme-boot.js). */
export const THEME_KEY = "heaplab.theme";
export const THEME_CHOICES = Object.freeze(["auto", "light", "dark"]);

/**
 * Canvas colours per theme. The block parts keep the Okabe-Ito colours of the
 * light theme (readable on both backgrounds); what changes is the ground:
 * background, empty and free space, lines and text. `text` and `mutedText`
 * are for text on the background (and on free pages); a label drawn on a
 * block's fill (payload, padding, free block, page map) takes `onBlock` /
 * `onMeta`, dark in both themes because those fills stay light.
 */
export const PALETTES = Object.freeze({
  light: Object.freeze({
    background: "#FFFFFF",
    text: "#333333",
    mutedText: "#505050",
    grid: "#E3E3E3",
    axis: "#555555",
    header: "#0072B2",
    payload: "#56B4E9",
    padding: "#F0E442",
    free: "#E4E4E4",
    freePage: "#FAFAFA",
    meta: "#CC79A7",
    large: "#E69F00",
    largeMark: "#000000",
    border: "#222222",
    wasmPage: "#D55E00",
    pageLine: "#9A9A9A",
    gap: "#FFFFFF",
    gapHatch: "#BBBBBB",
    focus: "#000000",
    focusInner: "#FFFFFF",
    hover: "#009E73",
    freeBlock: "#BCE8D2",
    freeBorder: "#007A5A",
    freeArrow: "#007A5A",
    freePageHatch: "#E6E6E6",
    rover: "#D55E00",
    quick: "#F4B183",
    onBlock: "#1A1A1A",
    onMeta: "#1A1A1A",
    onDark: "#FFFFFF",
    allocator: "#8C9AA6",
    slabHeader: "#7B5C8E",
    freeObject: "#F2F2F2",
    slabWaste: "#A8A8A8",
  }),
  dark: Object.freeze({
    background: "#16191C",
    text: "#E6E6E6",
    mutedText: "#A9AEB4",
    grid: "#33383E",
    axis: "#8A9096",
    header: "#2F8FD0",
    payload: "#56B4E9",
    padding: "#F0E442",
    free: "#4A5057",
    freePage: "#202428",
    meta: "#CC79A7",
    large: "#E69F00",
    largeMark: "#000000",
    border: "#0B0D0F",
    wasmPage: "#E5762A",
    pageLine: "#5C636A",
    gap: "#16191C",
    gapHatch: "#3C4248",
    focus: "#FFFFFF",
    focusInner: "#000000",
    hover: "#2BC495",
    freeBlock: "#8FD4B5",
    freeBorder: "#3CC39A",
    freeArrow: "#3CC39A",
    freePageHatch: "#2C3136",
    rover: "#F07A2A",
    quick: "#E09A66",
    onBlock: "#1A1A1A",
    onMeta: "#1A1A1A",
    onDark: "#FFFFFF",
    allocator: "#7D8B97",
    slabHeader: "#8E6CA3",
    freeObject: "#3A4047",
    slabWaste: "#5C636A",
  }),
});

const hasWindow = typeof window !== "undefined" && typeof window.matchMedia === "function";
const darkQuery = hasWindow ? window.matchMedia("(prefers-color-scheme: dark)") : null;
const motionQuery = hasWindow ? window.matchMedia("(prefers-reduced-motion: reduce)") : null;
const listeners = new Set();
let watching = false;
let lastName = null;
/** The choice when storage is blocked (it then holds for this page only). */
let override = null;

/** The stored choice: "auto", "light" or "dark" ("auto" when nothing valid is stored or storage is blocked). */
export function themeChoice() {
  if (override) return override;
  try {
    const stored = globalThis.localStorage?.getItem(THEME_KEY);
    return THEME_CHOICES.includes(stored) ? stored : "auto";
  } catch {
    return "auto";
  }
}

/** "light" or "dark": the choice, with "auto" resolved by the system's preference. */
export function themeName(choice = themeChoice()) {
  if (choice === "light" || choice === "dark") return choice;
  return darkQuery?.matches ? "dark" : "light";
}

/** `{ name: "light" | "dark", colors }`: the theme in force and its canvas colours (PALETTES). */
export function currentTheme() {
  const name = resolved();
  return { name, colors: PALETTES[name] };
}

/** Stores the choice ("auto" forgets it), applies it to the page and tells every listener. */
export function setThemeChoice(choice) {
  if (!THEME_CHOICES.includes(choice)) throw new Error(`unknown theme ${choice}: expected one of ${THEME_CHOICES.join(", ")}`);
  override = null;
  try {
    if (choice === "auto") globalThis.localStorage?.removeItem(THEME_KEY);
    else globalThis.localStorage?.setItem(THEME_KEY, choice);
  } catch {
    override = choice;
  }
  changed();
}

/**
 * Calls `callback(currentTheme())` whenever the theme in force changes: the
 * toggle, the system's preference under "auto", or another tab of the site.
 * Returns a function that stops the calls.
 */
export function onThemeChange(callback) {
  watch();
  listeners.add(callback);
  return () => listeners.delete(callback);
}

/** True when the reader asked the system for reduced motion: jump to the end state, do not tween. */
export function prefersReducedMotion() {
  return Boolean(motionQuery?.matches);
}

/** Calls `callback(prefersReducedMotion())` when that preference changes; returns the unsubscribe function. */
export function onReducedMotionChange(callback) {
  if (!motionQuery) return () => {};
  const handler = () => callback(motionQuery.matches);
  motionQuery.addEventListener("change", handler);
  return () => motionQuery.removeEventListener("change", handler);
}

function resolved() {
  return themeName();
}

/** Whether this page is one of the Heaplab site's (theme-boot.js marked its <html>), not a page that embeds the element. */
export function isSitePage() {
  return typeof document !== "undefined" && document.documentElement.dataset.themeBy === "heaplab";
}

/**
 * The theme a page that embeds the element has chosen for itself, as docs
 * tools mark it on <html>: `data-theme="dark"` (Docusaurus, Starlight) or
 * class `dark` (VitePress, Tailwind sites); null when it says nothing (or on
 * the Heaplab site's own pages).
 */
export function hostTheme() {
  if (typeof document === "undefined" || isSitePage()) return null;
  const root = document.documentElement;
  if (root.dataset.theme === "dark" || root.dataset.theme === "light") return root.dataset.theme;
  if (root.classList.contains("dark")) return "dark";
  if (root.classList.contains("light")) return "light";
  return null;
}

/** Applies the theme to <html> (only on the site's own pages, where theme-boot.js set it) and tells listeners once per change. */
function changed() {
  const name = resolved();
  if (isSitePage()) document.documentElement.dataset.theme = name;
  if (name === lastName) return;
  lastName = name;
  const theme = { name, colors: PALETTES[name] };
  for (const callback of [...listeners]) callback(theme);
}

function watch() {
  if (watching || !hasWindow) return;
  watching = true;
  lastName = resolved();
  darkQuery.addEventListener("change", changed);
  window.addEventListener("storage", (event) => {
    if (event.key === THEME_KEY || event.key === null) changed();
  });
}

// Keep <html data-theme> right on the site's pages even if nothing subscribes.
watch();
