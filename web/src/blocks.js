// Reading the block table (a Uint32Array view, BLOCK.COLUMNS numbers per
// block) into plain facts, and describing a block in words: what the tooltip,
// the keyboard announcement and the table of blocks say. Pure.
import { BLOCK, BLOCK_FLAG } from "./heaplab.js";
import { hex } from "./format.js";

/** Bytes of a block header (a u64 on every target). */
export const HEADER_BYTES = 8;

/** Number of blocks in a block table. */
export const blockCount = (blocks) => blocks.length / BLOCK.COLUMNS;

/**
 * Block `index` of the table as an object. `ids` (optional) maps a payload
 * address to `{ id, label }` (the session's ids and variable names).
 */
export function blockInfo(blocks, index, ids = null) {
  const row = index * BLOCK.COLUMNS;
  const flags = blocks[row + BLOCK.FLAGS];
  const used = (flags & BLOCK_FLAG.USED) !== 0;
  const large = (flags & BLOCK_FLAG.LARGE) !== 0;
  const address = blocks[row + BLOCK.ADDRESS];
  const size = blocks[row + BLOCK.SIZE];
  const payload = blocks[row + BLOCK.PAYLOAD];
  const named = used && ids ? ids(payload) : null;
  return {
    index,
    address,
    size,
    payload,
    requested: blocks[row + BLOCK.REQUESTED],
    usable: size - (payload - address),
    header: payload - address,
    used,
    large,
    state: used ? (large ? "large object" : "used") : "free",
    id: named?.id ?? (used ? blocks[row + BLOCK.ID] : 0),
    label: named?.label ?? "",
  };
}

/** The tooltip's lines: `[label, value]` pairs. */
export function describeBlock(info) {
  // No header of ours before the payload (a kernel heap's object, a production allocator's payload): no header line.
  const lines = info.header
    ? [
        ["Address", `${hex(info.address)} (payload ${hex(info.payload)})`],
        ["Block size", `${info.size} bytes`],
        ["Header", `${info.header} bytes`],
      ]
    : [
        ["Address", hex(info.address)],
        ["Size", `${info.size} bytes`],
      ];
  if (info.used) {
    lines.push(["Requested", `${info.requested} bytes`], ["Usable payload", `${info.usable} bytes`]);
    lines.push(["Allocation", info.label && info.label !== `#${info.id}` ? `${info.label} (#${info.id})` : `#${info.id}`]);
  } else {
    lines.push(["Free space", `${info.size - info.header} bytes`]);
  }
  lines.push(["State", info.state]);
  return lines;
}

/** One sentence for screen readers: "Block 3 of 7: used, p (#2), 32 bytes at 0x110010, ..." */
export function announceBlock(info, total) {
  const who = info.used ? `${info.label && info.label !== `#${info.id}` ? `${info.label} (#${info.id})` : `#${info.id}`}, ` : "";
  const detail = info.used
    ? `requested ${info.requested}, usable ${info.usable} bytes`
    : `${info.size - info.header} bytes free`;
  return `Block ${info.index + 1} of ${total}: ${info.state}, ${who}${info.size} bytes at ${hex(info.address)}, header ${info.header} bytes, ${detail}.`;
}
