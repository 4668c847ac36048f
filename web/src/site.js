// The site's chrome on every page (loaded by each page beside its own
// module): the theme control in the navigation bar, icons for buttons
// written in the HTML as <button data-icon="...">, and on a phone the long
// forms folded (<details class="fold"> start closed there, open elsewhere).
import { THEME_CHOICES, themeChoice, setThemeChoice, onThemeChange } from "./theme.js";
import { decorateIcons } from "./icons.js";

/** Widths at or below this are laid out for a phone (the CSS uses the same). */
export const PHONE_QUERY = "(max-width: 700px)";

export function mountThemeControl(select) {
  if (!select) return;
  select.value = themeChoice();
  select.addEventListener("change", () => {
    if (THEME_CHOICES.includes(select.value)) setThemeChoice(select.value);
  });
  // Another tab changed it: show the choice in force here too.
  onThemeChange(() => (select.value = themeChoice()));
}

export function foldForPhone(doc) {
  if (!doc.defaultView?.matchMedia(PHONE_QUERY).matches) return;
  for (const details of doc.querySelectorAll("details.fold")) details.open = false;
}

mountThemeControl(document.getElementById("theme-choice"));
decorateIcons(document);
foldForPhone(document);
