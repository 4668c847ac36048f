// The stylesheet of <heap-playground>'s shadow root (a constructed
// stylesheet, so pages with a strict Content-Security-Policy need no
// 'unsafe-inline'). `:host { all: initial }` and em units (never rem): a
// docs tool's styles (mdBook's 10px root font, a tall line-height) do not
// reach inside; a page may still size the element from outside
// (`heap-playground { font-size: 14px }` wins over :host). The map, console and table rules follow style.css; the
// colours are site.css's, light and dark (the frame's data-theme, set from
// theme.js: the site's theme choice, else the reader's system).
export const EMBED_STYLE = `
:host { all: initial; display: block; box-sizing: border-box; max-width: 100%; min-width: 0;
  font-family: system-ui, -apple-system, "Segoe UI", sans-serif; font-size: 16px; line-height: 1.4; text-align: left;
  border: 1px solid rgb(128 128 128 / 45%); border-radius: 6px; margin: 1em 0; }
.frame { color-scheme: light; color: var(--fg); background: var(--bg); border-radius: 6px;
  --bg: #fff; --fg: #1b1b1b; --line: #d6d6d6; --muted: #505050; --accent: #0072b2; --error: #a00000; --panel: #f6f7f8;
  --button-bg: #fff; --button-border: #6b6b6b; --hover-bg: #eaf3fa; --primary: #0072b2; --row-line: #e3e3e3; --current-row: #fff4d6;
  --tooltip-bg: #fff; --tooltip-border: #333; --swatch-border: #555; }
.frame[data-theme="dark"] { color-scheme: dark;
  --bg: #121416; --fg: #e4e6e8; --line: #3b4046; --muted: #a9aeb4; --accent: #56b4e9; --error: #ff8f8f; --panel: #1c2024;
  --button-bg: #23282d; --button-border: #7b828a; --hover-bg: #23384a; --primary: #1a6ea8; --row-line: #2c3136; --current-row: #4a3d14;
  --tooltip-bg: #23282d; --tooltip-border: #8a9096; --swatch-border: #8a9096; }
.frame .legend .swatch { border-color: var(--swatch-border); }
.frame[data-theme="dark"] .fl-block { color: #4cc38a; }
:host([hidden]) { display: none; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
.frame { padding: 0.5em 0.6em; }
.frame.fixed { overflow: auto; }
/* A fixed height: the map shrinks to leave the console in view; the usage
   hint goes (the map keeps it as its description), and the console stays at
   the bottom while the stats and table below it scroll. */
.frame.fixed .hint { display: none; }
.frame.fixed .console { position: sticky; bottom: 0; z-index: 2; background: var(--bg); }
.frame.fixed .console-log { height: 4em; }
.bar { display: flex; flex-wrap: wrap; gap: 0.35em; align-items: center; }
.bar label { font-size: 0.85em; margin-left: 0.4em; }
.bar input[type=range] { flex: 1 1 8em; min-width: 6em; }
.where { display: block; font-family: ui-monospace, monospace; font-size: 0.85em; margin: 0.3em 0; }
.message { min-height: 1.2em; margin: 0 0 0.3em; font-size: 0.85em; }
.message:empty { display: none; }
.message.error { color: var(--error); font-weight: 600; }
button { font: inherit; font-size: 0.85em; padding: 0.2em 0.6em; border: 1px solid var(--button-border); border-radius: 4px; background: var(--button-bg); color: var(--fg); cursor: pointer; transition: background-color 0.15s ease, border-color 0.15s ease; }
button:has(> svg.icon) { display: inline-flex; align-items: center; gap: 0.35em; }
svg.icon { width: 1em; height: 1em; flex: none; }
button:hover:not(:disabled) { background: var(--hover-bg); }
button:disabled { color: var(--muted); opacity: 0.75; cursor: not-allowed; }
button[type="submit"] { background: var(--primary); border-color: var(--primary); color: #fff; }
:focus-visible { outline: 3px solid #e69f00; outline-offset: 2px; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.hint { font-size: 0.78em; color: var(--muted); margin: 0.3em 0; }
h3 { font-size: 0.9em; margin: 0.6em 0 0.3em; }
.panel { margin-top: 0.5em; }
.legend { display: flex; flex-wrap: wrap; gap: 0.2em 0.8em; list-style: none; padding: 0; margin: 0.3em 0; font-size: 0.75em; }
.legend li { display: flex; align-items: center; gap: 0.3em; }
.legend .swatch { display: inline-block; width: 0.8em; height: 0.8em; border: 1px solid #555; }
.legend .swatch.arrow { height: 0.2em; border: none; }
.legend .swatch.hatched { border-style: dashed; }
.step-bar { display: flex; gap: 0.5em; align-items: center; }
.step-caption { flex: 1 1 auto; margin: 0.3em 0; padding: 0.3em 0.5em; border-left: 4px solid var(--accent); background: var(--panel); font-size: 0.85em; }
.step-caption:empty { display: none; }
form.predict { display: flex; flex-wrap: wrap; gap: 0.3em; align-items: center; font-size: 0.85em; }
.free-list { margin: 0.3em 0; padding: 0.2em 0.5em; border: 1px solid var(--line); border-left: 4px solid #007a5a; border-radius: 4px; background: var(--panel); font-size: 0.8em; }
.free-list h3, .free-list h2, .free-list h4 { margin: 0.1em 0; font-size: 0.85em; }
.free-list-lists { list-style: none; margin: 0; padding: 0; max-height: 5.5em; overflow-y: auto; font-family: ui-monospace, monospace; }
.free-list-lists li { overflow-wrap: anywhere; }
.fl-class { font-weight: bold; }
.fl-block { color: #007a5a; font-weight: 600; }
.legend .swatch.line { height: 0.25em; border: none; }
.zoom-label { font-size: 0.75em; color: var(--muted); }
.map-wrap { position: relative; }
.map-scroller { box-sizing: content-box; overflow-y: auto; overflow-x: hidden; border: 1px solid var(--line); border-radius: 4px; height: 200px; }
#heap-map { display: block; position: sticky; top: 0; width: 100%; cursor: crosshair; }
#heap-map:focus-visible { outline: 3px solid #e69f00; outline-offset: -3px; }
.tooltip { position: absolute; left: 0; top: 0; z-index: 5; pointer-events: none; background: var(--tooltip-bg); border: 1px solid var(--tooltip-border); border-radius: 4px; box-shadow: 0 2px 8px rgb(0 0 0 / 20%); padding: 0.35em 0.5em; font-size: 0.8em; min-width: 14em; }
.tooltip dl { display: grid; grid-template-columns: auto 1fr; gap: 0.05em 0.6em; margin: 0.2em 0 0; }
.tooltip dt { color: var(--muted); }
.tooltip dd { margin: 0; font-family: ui-monospace, monospace; }
.console-log { height: 6em; overflow-y: auto; background: #1d1f21; color: #e8e8e8; font-family: ui-monospace, monospace; font-size: 0.8em; padding: 0.3em 0.5em; border-radius: 4px 4px 0 0; white-space: pre-wrap; }
.console-log .input { color: #9ecbff; }
.console-log .error { color: #ffb3b3; }
.console-form { display: flex; gap: 0.5em; align-items: center; border: 1px solid var(--line); border-top: none; padding: 0.3em 0.5em; border-radius: 0 0 4px 4px; }
.console-form label { font-size: 0.85em; }
.console-form input { flex: 1; font-family: ui-monospace, monospace; font-size: 0.88em; padding: 0.2em 0.4em; min-width: 6em; }
.stats { display: grid; grid-template-columns: 1fr auto; gap: 0.1em 0.8em; font-size: 0.8em; margin: 0; }
.stats dt { color: var(--muted); }
.stats dd { margin: 0; text-align: right; font-family: ui-monospace, monospace; }
.defined { text-decoration: underline dotted; text-underline-offset: 0.2em; cursor: help; }
.table-scroll { max-height: 14em; overflow: auto; border: 1px solid var(--line); border-radius: 4px; }
table { border-collapse: collapse; font-family: ui-monospace, monospace; font-size: 0.8em; width: 100%; }
caption { text-align: left; font-family: system-ui, sans-serif; font-size: 0.78em; color: var(--muted); padding: 0.3em 0.5em; }
th, td { padding: 0.1em 0.5em; border-bottom: 1px solid var(--row-line); text-align: right; }
thead th { position: sticky; top: 0; background: var(--panel); }
tr[aria-current="true"] td { background: var(--current-row); font-weight: 600; }
tr[data-state="free"] td { color: var(--muted); }
/* Narrow (a phone, a sidebar): the legend in two columns of smaller type. */
:host { container: heap / inline-size; }
@container heap (max-width: 520px) {
  .legend { display: grid; grid-template-columns: 1fr 1fr; font-size: 0.68em; gap: 0.15em 0.5em; }
  .legend li { align-items: flex-start; }
  .legend .swatch { flex: none; margin-top: 0.2em; }
}
@media (prefers-reduced-motion: reduce) { *, *::before, *::after { transition-duration: 0s !important; animation-duration: 0s !important; } }
`;
