// What a <heap-playground> element's attributes (or the iframe page's query
// parameters) mean: heap options, panels, height, and the trace, inline text
// or a URL. Pure: no DOM, tested in Node.
import { DEFAULT_OPTIONS, describeOp as describeSessionOp } from "../session.js";

/** The panels an embed can show, in order. */
export const PANELS = Object.freeze(["map", "console", "stats", "table"]);

/** Attributes the element reads (also the query parameters embed.html passes on). */
export const EMBED_ATTRIBUTES = Object.freeze(["policy", "align", "coalesce", "split-min", "max-bytes", "trace", "autoplay", "panels", "height", "step", "animate", "predict", "theme", "list-order", "quick-lists"]);

/** The panels shown when the `panels` attribute is absent. */
export const DEFAULT_PANELS = Object.freeze(["map", "stats", "table"]);

const NUMERIC = { align: "align", "split-min": "splitMin", "max-bytes": "maxBytes" };

/**
 * Heap options from attributes: `get(name)` returns the attribute's text or
 * null. Values the heap will judge (an unknown policy) pass through; numbers
 * that are not numbers are reported. Returns `{ options, errors }`, where
 * `options` holds only what the attributes set.
 */
export function readHeapOptions(get) {
  const options = {};
  const errors = [];
  const policy = get("policy");
  if (policy !== null && policy.trim() !== "") options.policy = policy.trim();
  const coalesce = get("coalesce");
  if (coalesce !== null && coalesce.trim() !== "") options.coalesce = coalesce.trim();
  const quick = get("quick-lists");
  if (quick !== null) {
    if (["", "true", "false"].includes(quick.trim())) options.quickLists = quick.trim() !== "false";
    else errors.push(`quick-lists="${quick}" is neither true nor false`);
  }
  const listOrder = get("list-order");
  if (listOrder !== null && listOrder.trim() !== "") options.listOrder = listOrder.trim();
  for (const [attribute, key] of Object.entries(NUMERIC)) {
    const text = get(attribute);
    if (text === null || text.trim() === "") continue;
    const value = Number(text.trim());
    if (!Number.isInteger(value) || value < 0) errors.push(`${attribute}="${text}" is not a whole number of bytes`);
    else options[key] = value;
  }
  return { options, errors };
}

/** The panels named in `text` ("map console", "map,stats"); unknown names are reported. */
export function readPanels(text) {
  if (text === null || text === undefined || text.trim() === "") return { panels: [...DEFAULT_PANELS], errors: [] };
  const names = text.split(/[\s,]+/).filter(Boolean);
  const errors = names.filter((n) => !PANELS.includes(n)).map((n) => `unknown panel "${n}" (panels: ${PANELS.join(", ")})`);
  const panels = PANELS.filter((p) => names.includes(p));
  return { panels, errors };
}

/** A CSS height from the `height` attribute: "400" and "400px" are pixels; em, rem, vh and % pass; anything else is null. */
export function readHeight(text) {
  if (text === null || text === undefined || text.trim() === "") return null;
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return `${t}px`;
  if (/^\d+(\.\d+)?(px|em|rem|vh|%)$/.test(t)) return t;
  return null;
}

/** The themes the `theme` attribute takes ("auto", or absent: the site's choice, else the reader's system). */
export const THEMES = Object.freeze(["light", "dark", "auto"]);

/**
 * The attributes that shape the element rather than the heap: panels,
 * height, theme and step, with a message for each value that means nothing
 * (the element shows them and warns once). Returns
 * `{ panels, height, theme, step, errors }`; a bad value counts as absent.
 */
export function readLayout(get) {
  const { panels, errors } = readPanels(get("panels"));
  const heightText = get("height");
  const height = readHeight(heightText);
  if (height === null && heightText !== null && heightText.trim() !== "") errors.push(`height="${heightText}" is not a height (480, 480px, 30rem, 60vh)`);
  const themeText = get("theme");
  const theme = themeText === null || themeText.trim() === "" ? "auto" : themeText.trim();
  if (!THEMES.includes(theme)) errors.push(`theme="${themeText}" is not a theme (${THEMES.join(", ")})`);
  const stepText = get("step");
  const step = readStep(stepText);
  if (step === null && stepText !== null && stepText.trim() !== "") errors.push(`step="${stepText}" is not a step number (0, 1, 2, …)`);
  return { panels, height, theme: THEMES.includes(theme) ? theme : "auto", step, errors };
}

/**
 * Whether the `trace` attribute holds the trace itself (a `.rep` text, which
 * has line breaks or starts with a number, or JSON) rather than a URL to it.
 */
export function isInlineTrace(text) {
  const t = text.trim();
  return t.includes("\n") || /^[{[]/.test(t) || /^\d+(\s|$)/.test(t);
}

/**
 * A parsed trace (`trace.js`: ops on reusable ids from 0) as the session's
 * recorded operations (ids from 1, a new id for each allocation), which
 * `Session.rebuild` replays.
 */
export function sessionOps(trace) {
  const current = new Map(); // trace id -> session id
  let next = 1;
  const ops = [];
  for (const op of trace.ops) {
    if (op.op === "a") {
      const id = next++;
      current.set(op.id, id);
      ops.push({ op: "malloc", id, size: op.size, align: 0 });
    } else if (op.op === "r") {
      ops.push({ op: "realloc", id: current.get(op.id), size: op.size });
    } else if (op.op === "f") {
      ops.push({ op: "free", id: current.get(op.id) });
    }
  }
  return ops;
}

/** A recorded operation in C, as the step counter shows it (session.js describeOp), or "the empty heap". */
export function describeOp(op) {
  return op ? describeSessionOp(op) : "the empty heap";
}

/** The options a heap is built with: defaults, then the trace's own, then the attributes'. */
export function mergeOptions(traceOptions, attributeOptions) {
  const fromTrace = {};
  for (const key of Object.keys(DEFAULT_OPTIONS)) if (traceOptions && key in traceOptions) fromTrace[key] = traceOptions[key];
  return { ...DEFAULT_OPTIONS, ...fromTrace, ...attributeOptions };
}

/** A step number from text: a whole number, else null. */
export function readStep(text) {
  if (text === null || text === undefined || String(text).trim() === "") return null;
  const n = Number(String(text).trim());
  return Number.isInteger(n) && n >= 0 ? n : null;
}
