// Icons as inline SVG built with DOM calls (no markup strings, no style
// attributes: fine under the pages' strict Content-Security-Policy). Font
// glyphs such as ⏮ ⏭ ⏸ render as empty boxes where the font lacks them
// (Debian's Chromium), so buttons show one of these next to a text label.
// Each icon is 16x16, drawn in currentColor, hidden from assistive technology
// (the label says it).

const SVG = "http://www.w3.org/2000/svg";

/** Path data (viewBox 0 0 16 16) of each icon. */
export const ICON_PATHS = Object.freeze({
  first: ["M3 3h2v10H3z", "M13 3v10L6 8z"],
  back: ["M11 3v10L4 8z"],
  play: ["M5 3v10l8-5z"],
  pause: ["M4 3h3v10H4z", "M9 3h3v10H9z"],
  forward: ["M5 3v10l7-5z"],
  last: ["M11 3h2v10h-2z", "M3 3v10l7-5z"],
});

/** An <svg class="icon"> element for `name` (a key of ICON_PATHS). */
export function icon(doc, name) {
  const paths = ICON_PATHS[name];
  if (!paths) throw new Error(`no icon named ${name}`);
  const svg = doc.createElementNS(SVG, "svg");
  svg.setAttribute("class", "icon");
  svg.setAttribute("viewBox", "0 0 16 16");
  svg.setAttribute("width", "16");
  svg.setAttribute("height", "16");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  svg.dataset.icon = name;
  for (const d of paths) {
    const path = doc.createElementNS(SVG, "path");
    path.setAttribute("d", d);
    path.setAttribute("fill", "currentColor");
    svg.append(path);
  }
  return svg;
}

/**
 * Sets a button to an icon and a visible text label: `[icon] label`, or
 * `label [icon]` with `{ after: true }` (for "Redo ▷"-like buttons).
 */
export function setIconLabel(button, name, label, { after = false } = {}) {
  const doc = button.ownerDocument;
  const text = doc.createElement("span");
  text.className = "icon-label";
  text.textContent = label;
  const svg = icon(doc, name);
  button.replaceChildren(...(after ? [text, svg] : [svg, text]));
  button.dataset.icon = name;
}

/** A new <button type="button"> with an icon and a label. */
export function iconButton(doc, name, label, options) {
  const button = doc.createElement("button");
  button.type = "button";
  setIconLabel(button, name, label, options);
  return button;
}

/**
 * Gives every `<button data-icon="name">` under `root` its icon, keeping its
 * text as the label (`data-icon-after` puts the icon after it). Buttons that
 * already hold an icon are left alone.
 */
export function decorateIcons(root) {
  for (const button of root.querySelectorAll("button[data-icon]")) {
    if (button.querySelector("svg.icon")) continue;
    setIconLabel(button, button.dataset.icon, button.textContent.trim(), { after: button.hasAttribute("data-icon-after") });
  }
}
