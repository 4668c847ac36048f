// Sharing and keeping work: the heap options and the recorded operations
// (with the point in time) as one compact string, compressed with the
// platform's CompressionStream("deflate-raw") and written in base64url, for
// the URL (`#work=...`) and for local storage. Pure apart from those
// platform streams (the same in Chromium and Node 20).
//
// Everything read back is validated before use: string and decompressed size
// limits, JSON shape, every option and every operation's fields. What the
// replay itself rejects (a free of a block never allocated) is the timeline's
// to report.
import { POLICIES, LIST_ORDERS } from "./heaplab.js";
import { isRegistered } from "./heap-factory.js";

/** Longest encoded work put in a URL; longer work is offered as a file instead. */
export const MAX_URL_CHARS = 8 * 1024;
/** Longest encoded string read back (URL or storage). */
export const MAX_ENCODED_CHARS = 8 * 1024 * 1024;
/** Largest decompressed JSON accepted. */
export const MAX_JSON_BYTES = 64 * 1024 * 1024;
/** Most operations accepted. */
export const MAX_OPS = 1_000_000;
/** The URL fragment key and the local storage key. */
export const URL_KEY = "work";
export const STORAGE_KEY = "heaplab.saved-work";

const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,31}$/;

export class ShareError extends Error {
  constructor(message) {
    super(message);
    this.code = "invalid-share";
  }
}

// ------------------------------------------------------------ compact JSON

function compactOp(op) {
  const name = op.name ? [op.name] : [];
  switch (op.op) {
    case "malloc":
      return ["m", op.id, op.size, op.align ?? 0, ...name];
    case "calloc":
      return ["c", op.id, op.count, op.size, ...name];
    case "realloc":
      return ["r", op.id, op.size, ...name];
    case "free":
      return ["f", op.id];
    case "write":
      return ["w", op.id, op.offset, op.bytes.map((b) => b.toString(16).padStart(2, "0")).join("")];
    case "flush":
      return ["q"];
    case "cache-create":
      return ["k", op.cache, op.label, op.size, op.align ?? 0, ...name];
    case "cache-alloc":
      return ["ka", op.id, op.cache, ...name];
    case "cache-free":
      return ["kf", op.id, op.cache];
    case "cache-shrink":
      return ["ks", op.cache];
    default:
      throw new ShareError(`unknown operation ${op.op}`);
  }
}

const isInt = (v, lo, hi) => Number.isInteger(v) && v >= lo && v <= hi;

function fail(i, why) {
  throw new ShareError(`operation ${i + 1}: ${why}`);
}

function expandOp(entry, i) {
  if (!Array.isArray(entry) || typeof entry[0] !== "string") fail(i, "not an operation");
  const [kind, id] = entry;
  if (kind === "q") {
    // A flush of the quick lists names no block.
    if (entry.length !== 1) fail(i, "too many fields");
    return { op: "flush" };
  }
  if (kind === "k") {
    // A slab cache (the kernel heap's): index, its name, object size, alignment, variable.
    const [, cache, label, bytes, align, variable] = entry;
    if (entry.length > 6 || !isInt(cache, 0, 255) || typeof label !== "string" || label.length < 1 || label.length > 24) fail(i, "bad cache");
    if (!isInt(bytes, 1, 1 << 16) || !isInt(align, 0, 4096)) fail(i, "bad cache size");
    if (variable !== undefined && (typeof variable !== "string" || !NAME.test(variable))) fail(i, "bad variable name");
    return { op: "cache-create", cache, label, size: bytes, align, ...(variable === undefined ? {} : { name: variable }) };
  }
  if (kind === "ks") {
    // A cache_shrink names a cache, not a block.
    if (entry.length !== 2 || !isInt(id, 0, 255)) fail(i, "bad cache");
    return { op: "cache-shrink", cache: id };
  }
  if (!isInt(id, 1, 1 << 24)) fail(i, "bad block id");
  const size = (v) => {
    if (!isInt(v, 1, 2 ** 31)) fail(i, "bad size");
    return v;
  };
  const name = (v, at) => {
    if (entry.length > at + 1) fail(i, "too many fields");
    if (v === undefined) return {};
    if (typeof v !== "string" || !NAME.test(v)) fail(i, "bad variable name");
    return { name: v };
  };
  switch (kind) {
    case "m": {
      const align = entry[3];
      if (!isInt(align, 0, 4096) || (align & (align - 1)) !== 0) fail(i, "bad alignment");
      return { op: "malloc", id, size: size(entry[2]), align, ...name(entry[4], 4) };
    }
    case "c":
      if (!isInt(entry[2], 1, 2 ** 31)) fail(i, "bad count");
      return { op: "calloc", id, count: entry[2], size: size(entry[3]), ...name(entry[4], 4) };
    case "r":
      return { op: "realloc", id, size: size(entry[2]), ...name(entry[3], 3) };
    case "f":
      if (entry.length !== 2) fail(i, "too many fields");
      return { op: "free", id };
    case "w": {
      if (entry.length !== 4 || !isInt(entry[2], 0, 2 ** 31)) fail(i, "bad write");
      const hex = entry[3];
      if (typeof hex !== "string" || hex.length === 0 || hex.length > 8192 || hex.length % 2 || !/^[0-9a-f]+$/.test(hex)) fail(i, "bad bytes");
      const bytes = [];
      for (let k = 0; k < hex.length; k += 2) bytes.push(parseInt(hex.slice(k, k + 2), 16));
      return { op: "write", id, offset: entry[2], bytes };
    }
    case "ka":
      if (!isInt(entry[2], 0, 255)) fail(i, "bad cache");
      return { op: "cache-alloc", id, cache: entry[2], ...name(entry[3], 3) };
    case "kf":
      if (entry.length !== 3 || !isInt(entry[2], 0, 255)) fail(i, "bad cache");
      return { op: "cache-free", id, cache: entry[2] };
    default:
      return fail(i, `unknown operation "${String(kind).slice(0, 10)}"`);
  }
}

/** Checks heap options read from outside; returns a clean copy. */
export function checkOptions(options) {
  if (options === null || typeof options !== "object" || Array.isArray(options)) throw new ShareError("options: not an object");
  const out = {};
  for (const [key, value] of Object.entries(options)) {
    switch (key) {
      case "policy":
        if (!POLICIES.includes(value) && !isRegistered(value)) throw new ShareError(`options: unknown policy "${String(value).slice(0, 20)}"`);
        break;
      case "align":
        if (value !== 8 && value !== 16) throw new ShareError("options: align must be 8 or 16");
        break;
      case "coalesce":
        if (value !== "immediate" && value !== "deferred") throw new ShareError("options: coalesce must be immediate or deferred");
        break;
      case "splitMin":
        if (!isInt(value, 0, 1 << 20)) throw new ShareError("options: bad split minimum");
        break;
      case "maxBytes":
        if (value !== null && !isInt(value, 1, 2 ** 32)) throw new ShareError("options: bad memory limit");
        break;
      case "quickLists":
        if (typeof value !== "boolean") throw new ShareError("options: quickLists must be true or false");
        break;
      case "listOrder":
        if (value !== null && !LIST_ORDERS.includes(value)) throw new ShareError(`options: unknown list order "${String(value).slice(0, 20)}"`);
        break;
      default:
        throw new ShareError(`options: unknown option "${key.slice(0, 20)}"`);
    }
    out[key] = value;
  }
  return out;
}

/** Work as plain JSON text: `{ v: 1, options, ops, at }`. */
export function workJson({ options, ops, at = ops.length }) {
  return JSON.stringify({ v: 1, options, at, ops: ops.map(compactOp) });
}

/** Reads `workJson` text back, validating everything. Throws ShareError. */
export function parseWorkJson(text) {
  let doc;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new ShareError("not valid JSON");
  }
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) throw new ShareError("not a Heaplab work object");
  if (doc.v !== 1) throw new ShareError("unknown version");
  for (const key of Object.keys(doc)) if (!["v", "options", "ops", "at"].includes(key)) throw new ShareError(`unknown field "${key.slice(0, 20)}"`);
  const options = checkOptions(doc.options ?? {});
  if (!Array.isArray(doc.ops)) throw new ShareError("no operations");
  if (doc.ops.length > MAX_OPS) throw new ShareError(`too many operations (${doc.ops.length}; at most ${MAX_OPS})`);
  const ops = doc.ops.map(expandOp);
  const at = doc.at ?? ops.length;
  if (!isInt(at, 0, ops.length)) throw new ShareError("bad point in time");
  return { options, ops, at };
}

// ------------------------------------------------------------ compression and base64url

async function pipe(bytes, stream, limit) {
  const out = new Response(new Blob([bytes]).stream().pipeThrough(stream));
  const reader = out.body.getReader();
  const chunks = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > limit) {
      await reader.cancel();
      throw new ShareError(`too big once decompressed (more than ${limit} bytes)`);
    }
    chunks.push(value);
  }
  const all = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  return all;
}

export function toBase64Url(bytes) {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function fromBase64Url(text) {
  if (typeof text !== "string" || !/^[A-Za-z0-9_-]*$/.test(text)) throw new ShareError("not base64url text");
  const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4);
  let binary;
  try {
    binary = atob(padded);
  } catch {
    throw new ShareError("not base64url text");
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Work → compressed base64url string. */
export async function encodeWork(work) {
  const json = new TextEncoder().encode(workJson(work));
  return toBase64Url(await pipe(json, new CompressionStream("deflate-raw"), Infinity));
}

/**
 * Compressed base64url string → `{ options, ops, at }`, validated. Throws ShareError.
 * `maxJsonBytes` lowers the decompressed size limit (tests).
 */
export async function decodeWork(text, { maxJsonBytes = MAX_JSON_BYTES } = {}) {
  if (typeof text !== "string" || text.length === 0) throw new ShareError("nothing to read");
  if (text.length > MAX_ENCODED_CHARS) throw new ShareError(`too long (${text.length} characters)`);
  const bytes = fromBase64Url(text);
  let json;
  try {
    json = await pipe(bytes, new DecompressionStream("deflate-raw"), maxJsonBytes);
  } catch (error) {
    if (error instanceof ShareError) throw error;
    throw new ShareError("not compressed Heaplab work (the link may be cut short)");
  }
  let decoded;
  try {
    decoded = new TextDecoder("utf-8", { fatal: true }).decode(json);
  } catch {
    throw new ShareError("not UTF-8 text");
  }
  return parseWorkJson(decoded);
}

/** The share URL for `base` (a URL string) with work encoded as `encoded`. */
export function shareUrl(base, encoded) {
  const url = new URL(base);
  url.hash = `${URL_KEY}=${encoded}`;
  return url.toString();
}

/** The encoded work in a URL's fragment, or null. */
export function encodedFromHash(hash) {
  const text = String(hash ?? "").replace(/^#/, "");
  const params = new URLSearchParams(text);
  return params.get(URL_KEY);
}
