// The theme module: the stored choice, its resolution, the listeners, and
// palettes that a canvas can switch between key for key.
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { PALETTES, THEME_KEY, themeChoice, themeName, currentTheme, setThemeChoice, onThemeChange, prefersReducedMotion } from "../src/theme.js";
import { COLORS } from "../src/heap-map.js";

/** A localStorage stand-in; `broken` makes every call throw, as blocked storage does. */
function storage({ broken = false } = {}) {
  const items = new Map();
  const guard = () => {
    if (broken) throw new Error("SecurityError: storage is blocked");
  };
  return {
    items,
    getItem: (k) => (guard(), items.has(k) ? items.get(k) : null),
    setItem: (k, v) => (guard(), items.set(k, String(v))),
    removeItem: (k) => (guard(), items.delete(k)),
  };
}

/** WCAG contrast ratio of two #RRGGBB colours. */
function contrast(a, b) {
  const lum = (hex) => {
    const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255).map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

describe("palettes", () => {
  test("light and dark name the same colours, all #RRGGBB", () => {
    expect(Object.keys(PALETTES.dark).sort()).toEqual(Object.keys(PALETTES.light).sort());
    for (const palette of Object.values(PALETTES)) for (const color of Object.values(palette)) expect(color).toMatch(/^#[0-9A-F]{6}$/);
  });

  test("cover every colour the heap map draws with, and the light one is today's map", () => {
    for (const [key, color] of Object.entries(COLORS)) {
      expect(PALETTES.dark, key).toHaveProperty(key);
      expect(PALETTES.light[key], key).toBe(color);
    }
  });

  test("text reads on the background (contrast at least 4.5:1), and free space stands out from the ground", () => {
    for (const [name, p] of Object.entries(PALETTES)) {
      expect(contrast(p.text, p.background), name).toBeGreaterThanOrEqual(4.5);
      expect(contrast(p.mutedText, p.background), name).toBeGreaterThanOrEqual(4.5);
      expect(contrast(p.focus, p.background), name).toBeGreaterThanOrEqual(7);
      expect(contrast(p.free, p.background), name).toBeGreaterThan(1.2);
    }
    for (const [name, p] of Object.entries(PALETTES)) {
      for (const fill of ["payload", "padding", "freeBlock", "large"]) expect(contrast(p.onBlock, p[fill]), `${name} label on ${fill}`).toBeGreaterThanOrEqual(4.5);
      expect(contrast(p.onMeta, p.meta), name).toBeGreaterThanOrEqual(4.5);
      expect(contrast(p.text, p.freePage), `${name} label on a free page`).toBeGreaterThanOrEqual(4.5);
      expect(contrast(p.freeBlock, p.freePage), `${name}: a free block is not a free page`).toBeGreaterThan(1.2);
    }
    expect(contrast(PALETTES.dark.background, "#000000")).toBeLessThan(1.5);
  });
});

describe("the choice", () => {
  let store;
  beforeEach(() => {
    store = storage();
    vi.stubGlobal("localStorage", store);
  });
  afterEach(() => {
    setThemeChoice("auto");
    vi.unstubAllGlobals();
  });

  test("is read from localStorage; anything else there means auto", () => {
    expect(themeChoice()).toBe("auto");
    store.items.set(THEME_KEY, "dark");
    expect(themeChoice()).toBe("dark");
    expect(currentTheme()).toEqual({ name: "dark", colors: PALETTES.dark });
    store.items.set(THEME_KEY, "purple");
    expect(themeChoice()).toBe("auto");
  });

  test("auto resolves by the system's preference (light without one)", () => {
    expect(themeName("auto")).toBe("light");
    expect(themeName("dark")).toBe("dark");
    expect(themeName("light")).toBe("light");
    expect(prefersReducedMotion()).toBe(false);
  });

  test("setting it stores it, auto forgets it, and listeners hear each change once", () => {
    const heard = [];
    const stop = onThemeChange((theme) => heard.push(theme.name));
    setThemeChoice("dark");
    expect(store.items.get(THEME_KEY)).toBe("dark");
    setThemeChoice("dark");
    setThemeChoice("light");
    setThemeChoice("auto");
    expect(store.items.has(THEME_KEY)).toBe(false);
    expect(heard).toEqual(["dark", "light"]);
    stop();
    setThemeChoice("dark");
    expect(heard).toEqual(["dark", "light"]);
    expect(() => setThemeChoice("sepia")).toThrow(/unknown theme sepia/);
  });

  test("with storage blocked, the choice still holds for the page", () => {
    vi.stubGlobal("localStorage", storage({ broken: true }));
    setThemeChoice("dark");
    expect(themeChoice()).toBe("dark");
    expect(currentTheme().name).toBe("dark");
  });
});
