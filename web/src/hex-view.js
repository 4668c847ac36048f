// The hex view of the selected block: its header decoded, its bytes annotated
// (header, payload, padding, free space, footer, the next block's header), and
// the parsing of what the user writes into the payload. The pure functions come
// first; `renderHexView` builds the DOM with textContent only.
import { hex } from "./format.js";

/** Bytes of the block shown at most (the rest is summarised). */
export const HEX_LIMIT = 512;
const HEADER = 8;
/** Bytes a row: 8, so a header (a u64) is exactly one row. */
export const ROW = 8;

/** Decodes a block header (u64, little-endian) from its 8 bytes. */
export function decodeHeader(bytes) {
  if (bytes.length < 8) return null;
  const lo = (bytes[0] | (bytes[1] << 8) | (bytes[2] << 16) | (bytes[3] << 24)) >>> 0;
  const hi = (bytes[4] | (bytes[5] << 8) | (bytes[6] << 16) | (bytes[7] << 24)) >>> 0;
  const used = (lo & 1) !== 0;
  const large = (lo & 4) !== 0;
  // A used arena block keeps log2 of its alignment in bits 60..64 (the top
  // four bits of the high word) and its request below 2^28; a large object
  // uses the whole high word for the request.
  const arenaUsed = used && !large;
  // A block waiting on a quick list is marked used with all four alignment bits set.
  const quick = arenaUsed && hi >>> 28 === 15;
  return {
    size: (lo & 0xfffffff8) >>> 0,
    used,
    prevUsed: (lo & 2) !== 0,
    large,
    quick,
    requested: arenaUsed ? hi & 0x0fffffff : hi,
    align: arenaUsed && !quick ? 2 ** (hi >>> 28) : null,
  };
}

/** "size 32, used, prev-used, requested 24" */
export function headerText(h) {
  if (!h) return "(unreadable)";
  const flags = [h.used ? "used" : "free", h.prevUsed ? "prev-used" : "prev-free", ...(h.large ? ["large"] : []), ...(h.quick ? ["quick"] : [])];
  return `size ${h.size}, flags ${flags.join(" | ")}, requested ${h.requested}${h.align ? `, align ${h.align}` : ""}`;
}

/** What byte `offset` (from the block's header) is: header, payload, padding, free, footer or next-header. */
export function byteKind(info, offset) {
  if (offset < info.header) return "header";
  if (offset >= info.size) return "next-header";
  if (info.used) return offset < info.header + info.requested ? "payload" : "padding";
  return offset >= info.size - 8 ? "footer" : "free";
}

/**
 * The hex view's model: rows of 16 bytes from the block's header on, each
 * byte with its kind; `bytes` were read from the heap starting at the header.
 */
export function hexModel(info, bytes) {
  const rows = [];
  for (let start = 0; start < bytes.length; start += ROW) {
    const cells = [];
    for (let k = start; k < Math.min(start + ROW, bytes.length); k++) cells.push({ offset: k, value: bytes[k], kind: byteKind(info, k) });
    rows.push({ address: info.address + start, cells });
  }
  const nextOffset = info.size;
  return {
    rows,
    header: decodeHeader(bytes.subarray(0, HEADER)),
    next: bytes.length >= nextOffset + HEADER ? decodeHeader(bytes.subarray(nextOffset, nextOffset + HEADER)) : null,
    truncated: info.size > HEX_LIMIT ? info.size - HEX_LIMIT : 0,
  };
}

/** How many bytes of the heap the hex view reads for a block (its shown part plus the next header). */
export function hexReadLength(info) {
  return info.size > HEX_LIMIT ? HEX_LIMIT : info.size + HEADER;
}

/**
 * Parses what the user wants written: `text` mode takes the characters as
 * UTF-8; `bytes` mode takes hex byte pairs separated by spaces or commas
 * (`de ad be ef`, `0x41,0x42`). Returns a Uint8Array or throws an Error.
 */
export function parseBytes(input, mode) {
  if (mode === "text") {
    if (input.length === 0) throw new Error("nothing to write: type some text");
    return new TextEncoder().encode(input);
  }
  const parts = input.trim().split(/[\s,]+/).filter(Boolean);
  if (parts.length === 0) throw new Error("nothing to write: type bytes in hex, as in de ad be ef");
  return Uint8Array.from(parts, (part) => {
    if (!/^(0x)?[0-9a-f]{1,2}$/i.test(part)) throw new Error(`"${part}" is not a byte in hex (00 to ff)`);
    return parseInt(part.replace(/^0x/i, ""), 16);
  });
}

const printable = (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".");

/** Renders the model into `container` (DOM nodes and textContent only). */
export function renderHexView(container, info, model) {
  const doc = container.ownerDocument;
  const el = (tag, className, text) => {
    const node = doc.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const decoded = el("dl", "header-fields");
  const field = (term, value) => decoded.append(el("dt", "", term), el("dd", "", value));
  const h = model.header;
  if (h) {
    field("Header at", hex(info.address));
    field("size", `${h.size} bytes`);
    field("flags", [h.used ? "used" : "free", h.prevUsed ? "prev-used" : "prev-free", ...(h.large ? ["large"] : [])].join(" | "));
    field("requested", `${h.requested} bytes`);
    if (h.align) field("alignment", `${h.align} (bits 60–63: log2 = ${Math.log2(h.align)})`);
  }
  if (model.next) field("Next header", headerText(model.next));

  const table = el("table", "hex");
  table.append(el("caption", "sr-only", `Bytes of the block at ${hex(info.address)}, 8 a row`));
  const head = el("tr");
  head.append(el("th", "", "address"), el("th", "", "bytes"), el("th", "", "text"));
  head.querySelectorAll("th").forEach((th) => th.setAttribute("scope", "col"));
  table.append(el("thead"));
  table.tHead.append(head);
  const body = el("tbody");
  for (const row of model.rows) {
    const tr = el("tr");
    const bytes = el("td", "bytes");
    const text = el("td", "text");
    for (const cell of row.cells) {
      const byte = el("span", `byte ${cell.kind}`, cell.value.toString(16).padStart(2, "0"));
      byte.title = `${hex(info.address + cell.offset)}: ${cell.kind}`;
      bytes.append(byte);
      text.append(el("span", cell.kind, printable(cell.value)));
    }
    tr.append(el("th", "addr", hex(row.address)), bytes, text);
    tr.firstChild.setAttribute("scope", "row");
    body.append(tr);
  }
  table.append(body);
  const parts = [decoded, table];
  if (model.truncated) parts.push(el("p", "hint", `… and ${model.truncated} more bytes (not shown)`));
  container.replaceChildren(...parts);
}
