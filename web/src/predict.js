// Predict, then reveal (as OSTEP's malloc.py asks "where will it go?" before
// it answers): before an allocation's result is shown, the learner points at
// the free block it will take, or at the end of the heap (free pages, new
// memory), or types the address; the page then reveals the answer and keeps
// a score. This file is the judging and the score, pure; main.js and the
// embed wire it to the map.
import { BLOCK, BLOCK_FLAG } from "./heaplab.js";
import { blockAt } from "./layout.js";
import { hex, formatBytes } from "./format.js";

/** Which operations are predicted: the ones that place a new block (cache_alloc: an object, on the kernel heap). */
export const PREDICTED = new Set(["malloc", "calloc", "cache-alloc"]);

/** The first word of a verdict: "Right" or "Not quite" (every predict mode says it the same way). */
export const verdictWord = (right) => (right ? "Right" : "Not quite");

/** The free blocks of a block table as `[{ address, size }]`, in address order. */
function freeBlockAt(blocks, address) {
  const i = blockAt(blocks, BLOCK.COLUMNS, address);
  if (i < 0) return null;
  const row = i * BLOCK.COLUMNS;
  return {
    address: blocks[row + BLOCK.ADDRESS],
    size: blocks[row + BLOCK.SIZE],
    used: (blocks[row + BLOCK.FLAGS] & BLOCK_FLAG.USED) !== 0,
  };
}

/**
 * What a click (or a typed address) at `address` guesses, on the heap as it
 * was before the operation (`blocks`): `{ kind: "block", address, size }` for a
 * free block, `{ kind: "end" }` for anything outside the blocks (free pages,
 * the end of the heap), or `{ kind: "used", address }` for a block in use
 * (not a possible answer: the learner is asked again).
 */
export function guessAt(blocks, address) {
  if (address === null || address === undefined) return { kind: "end" };
  const b = freeBlockAt(blocks, address);
  if (!b) return { kind: "end" };
  if (b.used) return { kind: "used", address: b.address };
  return { kind: "block", address: b.address, size: b.size };
}

/** A typed guess: the payload address the learner expects malloc to return. */
export function typedGuess(text) {
  const t = String(text ?? "").trim();
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(t)) return null;
  const n = Number(t);
  return Number.isSafeInteger(n) && n >= 0 ? { kind: "address", payload: n } : null;
}

/**
 * Judges `guess` against where the block went: `payload` (the address
 * returned), on `before` (the block table before the operation).
 * `opaque`: a heap whose blocks have no header of ours before the payload
 * (the kernel heap's objects and blocks, a production allocator's).
 * Returns `{ right, said }` with a sentence that reveals the answer.
 */
export function judge(guess, before, payload, { opaque = false } = {}) {
  const block = opaque ? payload : payload - 8;
  const host = freeBlockAt(before, block);
  const where = host && !host.used ? `the free block at ${hex(host.address)} (${formatBytes(host.size)})` : "new space at the end of the heap";
  let right;
  if (guess.kind === "address") right = guess.payload === payload;
  else if (guess.kind === "block") right = Boolean(host && !host.used && host.address === guess.address);
  else right = !host || host.used;
  const verdict = verdictWord(right);
  const said =
    guess.kind === "address"
      ? `${verdict}: ${opaque ? "the call" : "malloc"} returned ${hex(payload)}${right ? "" : `, not ${hex(guess.payload)}`}, in ${where}.`
      : `${verdict}: the block went to ${where}.`;
  return { right, said };
}

/** A running score. */
export class Score {
  constructor() {
    this.right = 0;
    this.total = 0;
  }

  add(right) {
    this.total++;
    if (right) this.right++;
  }

  toString() {
    return `${this.right} of ${this.total} right`;
  }
}
