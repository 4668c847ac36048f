// Predict mode for the machine (as predict.js is for one heap): before the
// answer of a line that moves pages shows, the learner predicts what the
// buddy allocator will do: which free buddy block it takes a heap's new
// pages from (a click on the page map, or a choice), or into how large a
// free block the pages a heap gives back merge (a choice of order). This
// file is the questions, the judging and the sentences, pure; view.js asks
// and shows; a lesson reads the judged prediction off the line's result.
import { verdictWord } from "../predict.js";
import { hex } from "../format.js";
import { PAGE_SIZE, orderText } from "./model.js";

const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
const eventsOf = (result, kind) => (result.events ?? []).filter((e) => e.kind === kind);

/** A buddy block for people: "page 16, order 3 (8 pages)". */
export const blockText = (b) => `page ${b.index}, ${orderText(b.order)}`;

/** The block of `blocks` that holds the byte at `address`, or undefined. */
const blockAt = (blocks, address) => blocks.find((b) => b.address <= address && address < b.address + b.pages * PAGE_SIZE);

/**
 * Why merging stopped at the block of `order` starting at `start`, on the
 * machine after the free (`snap`, a snapshot): "its buddy (pages 0-15) is
 * not free: page 0 is held by app1", and the like.
 */
export function whyMergeStopped(snap, start, order) {
  const index = (start - snap.base) / PAGE_SIZE;
  const buddyIndex = index ^ (2 ** order);
  const buddy = snap.blocks.find((b) => b.index <= buddyIndex && buddyIndex < b.index + b.pages);
  const holder = (b) => (b.owner === "buddy" ? "the buddy allocator's own map" : b.owner);
  const span = `pages ${buddyIndex}-${buddyIndex + 2 ** order - 1}`;
  if (!buddy) return "its buddy would lie past the end of memory";
  if (buddy.free) return `its buddy (${span}) is not free as one block: page ${buddyIndex} starts a free block of order ${buddy.order} only`;
  return `its buddy (${span}) is not free: page ${buddy.index} is held by ${holder(buddy)}`;
}

/**
 * The question the result of a line asks, from the machine before it
 * (`before`, a snapshot), or null when the buddy allocator did nothing for
 * it (the heap had room; nothing went back). Two kinds:
 *   { kind: "take", text, options, answer, order, taken, host }: which free
 *     block the pages come from; `answer` is its address, `options` every
 *     free block ({ value: address, label });
 *   { kind: "merge", text, options, answer, freed, merges }: the order of
 *     the largest free block the returned pages end up in; `options` the
 *     orders from the returned block's (no merge) to the largest there is.
 */
export function machineQuestion(before, result) {
  if (!result?.ok || !before) return null;
  const heap = result.heap;
  const [taken] = eventsOf(result, "buddy-alloc");
  const freed = eventsOf(result, "buddy-free");
  if (taken) {
    const host = blockAt(before.blocks, taken.addr);
    if (!host?.free) return null;
    return {
      kind: "take",
      heap,
      order: taken.order,
      taken: taken.addr,
      host,
      splits: eventsOf(result, "buddy-split").length,
      answer: host.address,
      options: before.blocks.filter((b) => b.free).map((b) => ({ value: b.address, label: blockText(b) })),
      text: `${heap} needs new pages: ${orderText(taken.order)}. Which free buddy block will the buddy allocator take them from? Click it on the map, or choose it here.`,
      before,
    };
  }
  if (freed.length === 0) return null;
  const merges = eventsOf(result, "buddy-merge");
  const back = freed.reduce((a, b) => (b.order > a.order ? b : a));
  const block = blockAt(before.blocks, back.addr) ?? { index: (back.addr - before.base) / PAGE_SIZE, order: back.order };
  const pages = freed.reduce((n, e) => n + 2 ** e.order, 0);
  const top = before.stats.buddy.maxOrder;
  const options = [];
  for (let k = back.order; k <= top; k++) options.push({ value: k, label: k === back.order ? `order ${k}: no merge` : orderText(k) });
  const more = freed.length > 1 ? ` and ${plural(freed.length - 1, "other block")}` : "";
  return {
    kind: "merge",
    heap,
    freed,
    merges,
    answer: Math.max(...freed.map((e) => e.order), ...merges.map((e) => e.order)),
    options,
    text: `${heap} gives ${plural(pages, "page")} back: ${blockText({ index: block.index, order: back.order })}${more}. Into how large a free block will the buddies merge? Look at its buddy on the map, then choose the order.`,
    before,
  };
}

/**
 * Judges `value` (a free block's address for "take", an order for "merge")
 * against what happened; `after` is the machine after the line (a
 * snapshot). Returns `{ right, said }`, a sentence that reveals the answer.
 */
export function judgeMachine(question, value, after) {
  if (question.kind === "take") {
    const { host, order, taken, heap, before } = question;
    const guess = before.blocks.find((b) => b.free && b.address === value);
    // Free blocks of one order are alike: which of them the allocator takes is its free list's order.
    const right = value === host.address || guess?.order === host.order;
    const split = question.splits ? `, split it ${plural(question.splits, "time")}` : "";
    let said = `${verdictWord(right)}: the buddy allocator took the free block at ${blockText(host)}${split} and handed out ${orderText(order)} at ${hex(taken)} to ${heap}.`;
    if (right && value !== host.address) said += ` Any free block of order ${host.order} would do; it took the first on its order-${host.order} free list.`;
    else if (right) said += question.splits ? " It takes the smallest free block large enough, and splits it in halves down to the order it needs." : ` It takes the smallest free block large enough: here one of order ${order} exactly, so no split.`;
    else if (guess && guess.order < order) said += ` The block at ${blockText(guess)} is too small: ${heap} needs order ${order}.`;
    else if (guess) said += ` The block at ${blockText(guess)} is larger than needed: the buddy allocator splits the smallest free block that is large enough.`;
    return { right, said };
  }
  const right = Number(value) === question.answer;
  const last = question.merges.at(-1);
  const start = last ? Math.min(last.addr, last.with) : question.freed.find((e) => e.order === question.answer).addr;
  const index = (start - after.base) / PAGE_SIZE;
  const how = question.merges.length ? `the buddies merged ${plural(question.merges.length, "time")}, into one free block of ${orderText(question.answer)} at page ${index}` : `no merge: the block stays ${orderText(question.answer)} at page ${index}`;
  const not = right ? "" : `, not order ${value}`;
  return { right, said: `${verdictWord(right)}: ${how}${not}. It stopped there because ${whyMergeStopped(after, start, question.answer)}.` };
}

/** Judges `value` for `question` and keeps the verdict on the line's `result` (as `result.prediction`). */
export function recordGuess(result, question, value, after) {
  result.prediction = { kind: question.kind, guess: value, ...judgeMachine(question, value, after) };
  return result.prediction;
}

/**
 * Runs `line` on `machine` as predict mode does, without a screen:
 * `choose(question)` gives the guess when the line moves pages. Returns the
 * line's result, with `prediction` when a question was asked.
 */
export function runPredicted(machine, line, choose) {
  const before = machine.snapshot();
  const result = machine.run(line);
  const question = machineQuestion(before, result);
  if (question) recordGuess(result, question, choose(question), machine.snapshot());
  return result;
}
