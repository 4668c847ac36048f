// The lessons: a short course on heap allocation that follows the classic
// text (why pages are too big, first fit, splitting, coalescing, the sweep,
// fragmentation, best / next / worst / segregated fit, alignment, realloc, a
// heap overflow), then the kernel's allocators (the buddy system, slab caches). Content as data; pure logic over a Session, no DOM.
//
// Each lesson:
//   id, title
//   animate?   the learner's operation is animated step by step (the moment
//              the text describes: a split, a merge, a size-class jump)
//   predict?   before an allocation's answer shows, the learner clicks where
//              it will land (predict mode; the page scores the guess); on the
//              machine, before a line that moves pages shows its answer, the
//              learner predicts the page run taken or the order merged into
//   setup      { options, statements }: heap options and console statements
//              that build the heap the lesson starts from (shown to the learner)
//   text       paragraphs that explain
//   task       what the learner is asked to do
//   question?  label of an answer field (when the task asks for a value)
//   check(session, answer, prepared) -> { ok, message }: judges the heap state (block
//              table, stats, check()) and explains the result
//   link?      { href, text }: a page the lesson sends the learner to
//   prepare?() -> Promise of figures the check needs (computed once, when
//              the lesson opens), passed to check and answer as `prepared`
//   solve      { statements, answer?(session, prepared) }: a correct answer, scripted
//   mistake    { statements, answer?(session, prepared) }: a plausible wrong one
//              (a machine lesson's: { statements, predict?(question, machine) },
//              the choice its predict mode's questions get)
// `solve` and `mistake` drive the unit tests (and the "Show me" button).
import { DEFAULT_OPTIONS } from "../session.js";
import { runStatement } from "../console.js";
import { blockRows } from "../block-table.js";
import { decodeHeader, headerText } from "../hex-view.js";
import { hex, formatBytes, formatPercent } from "../format.js";
import { TOY_VS_PRODUCTION, presetFigures } from "../compare/presets.js";
import { MachineModel } from "../machine/model.js";
import { runPredicted } from "../machine/predict.js";

/** The session's blocks as plain facts, with its ids and variable names. */
export function blocksOf(session) {
  const ids = (payload) => {
    const id = session.idOfPayload(payload);
    return id ? { id, label: session.label(id) } : null;
  };
  return blockRows(session.snapshot().blocks, ids);
}

/** The block of variable `name` while it is allocated, else null. */
export function blockOf(session, name) {
  const id = session.names.get(name);
  if (!id || !session.isLive(id)) return null;
  const payload = session.addressOf(id);
  return blocksOf(session).find((b) => b.payload === payload) ?? null;
}

/** Used blocks allocated after the setup (id above `after`) with `requested` bytes (any when null). */
function newBlocks(session, after, requested = null) {
  return blocksOf(session).filter((b) => b.used && b.id > after && (requested === null || b.requested === requested));
}

/** Reads "0x141000", "141000" (hex when it has a-f), or a decimal number. */
export function parseAddress(text) {
  const t = String(text ?? "").trim().toLowerCase();
  if (/^0x[0-9a-f]+$/.test(t)) return Number.parseInt(t, 16);
  if (/^\d+$/.test(t)) return Number(t);
  if (/^[0-9a-f]+$/.test(t)) return Number.parseInt(t, 16);
  return null;
}

const ok = (message) => ({ ok: true, message });
const no = (message) => ({ ok: false, message });
const PAGE = 4096;

/** Builds a lesson's heap on `session`; returns `{ ok, message }` (the first failed statement). */
export function setUpLesson(session, lesson) {
  const rebuilt = session.rebuild({ ...DEFAULT_OPTIONS, ...lesson.setup.options }, []);
  if (!rebuilt.ok) return rebuilt;
  for (const statement of lesson.setup.statements) {
    const result = runStatement(session, statement);
    if (!result.ok) return { ok: false, message: `setup statement ${statement} failed: ${result.message}` };
  }
  return { ok: true, message: `Heap set up: ${lesson.setup.statements.length} statements` };
}

/**
 * A machine lesson's machine (lesson.machine: the kernel heap, app1 and app2
 * over one buddy allocator), its statements run; throws if one fails.
 */
export function setUpMachine(lesson) {
  const machine = new MachineModel();
  for (const statement of lesson.machine.statements) {
    const result = machine.run(statement);
    if (!result.ok) throw new Error(`setup statement ${statement} failed: ${result.message}`);
  }
  return machine;
}

/**
 * Runs a machine lesson's scripted lines (a solution or a mistake) on
 * `machine`, answering predict mode's questions with `script.predict`;
 * returns the last result.
 */
export function runMachineScript(machine, script) {
  let result = null;
  for (const line of script.statements) result = script.predict ? runPredicted(machine, line, (question) => script.predict(question, machine)) : machine.run(line);
  return result;
}

/** Pages the machine's `owner` holds. */
const heldBy = (snap, owner) => snap.blocks.filter((b) => b.owner === owner).reduce((n, b) => n + b.pages, 0);

/** Runs scripted statements (a solution or a mistake); returns the last result. */
export function runScript(session, statements) {
  let result = { ok: true, message: "" };
  for (const statement of statements) result = runStatement(session, statement);
  return result;
}

const sixBlocks = (size) => [1, 2, 3, 4, 5, 6].map((i) => `p${i} = malloc(${size})`);

export const LESSONS = Object.freeze([
  {
    id: "pages",
    title: "Why pages are too big for small requests",
    setup: { options: { policy: "first-fit" }, statements: [] },
    text: [
      "The heap gets its memory from WebAssembly in 64 KiB wasm pages, which it splits into 4 KiB pages. The operating system of a C program does the same: memory comes by the page.",
      "Programs mostly ask for a few dozen bytes at a time. Giving each request its own 4 KiB page would waste over 99% of it. So the allocator carves pages into blocks: each block is an 8-byte header followed by the payload, rounded up to a multiple of 8.",
    ],
    task: "Allocate three 24-byte blocks in the console (a = malloc(24), then b and c) and look where they land on the map and in the table.",
    check(session) {
      const small = blocksOf(session).filter((b) => b.used && b.requested > 0 && b.requested <= 64);
      const byPage = new Map();
      for (const b of small) byPage.set(Math.floor(b.address / PAGE), (byPage.get(Math.floor(b.address / PAGE)) ?? 0) + 1);
      const [page, count] = [...byPage].sort((x, y) => y[1] - x[1])[0] ?? [0, 0];
      if (count < 3) return no(`There ${small.length === 1 ? "is 1 small block" : `are ${small.length} small blocks`}: allocate three blocks of 24 bytes (a = malloc(24), b = malloc(24), c = malloc(24)).`);
      const bytes = small.filter((b) => Math.floor(b.address / PAGE) === page).reduce((n, b) => n + b.size, 0);
      return ok(`${count} small blocks share the 4 KiB page at ${hex(page * PAGE)}: ${bytes} bytes of it, headers included. One page each would have taken ${count * PAGE} bytes for ${count * 24} bytes requested.`);
    },
    solve: { statements: ["a = malloc(24)", "b = malloc(24)", "c = malloc(24)"] },
    mistake: { statements: ["a = malloc(24)"] },
  },
  {
    id: "first-fit",
    predict: true,
    title: "First fit, step by step",
    setup: { options: { policy: "first-fit" }, statements: ["a = malloc(40)", "x = malloc(8)", "b = malloc(100)", "y = malloc(8)", "free(a)", "free(b)"] },
    text: [
      "First fit walks the free blocks in address order and takes the first one big enough for the request plus its header. It marks that block used in its header and returns the address of the payload, just after the header.",
      "Here a and b were freed, leaving two free blocks of different sizes: the map labels each with its size, and the arrows join them in the free list's order, the order first fit walks. The header, 8 bytes, holds the block's size and, in its low bits, whether the block and the one before it are in use.",
    ],
    task: "Where will p = malloc(64) go? Type it in the console under the map and press Enter: before the answer shows, click the free block you think first fit takes. Then type the address of p's header in the answer field and press Check.",
    question: "Header address of the 64-byte block",
    check(session, answer) {
      const [p] = newBlocks(session, 4, 64);
      if (!p) return no("Allocate 64 bytes first: p = malloc(64).");
      const x = blockOf(session, "x");
      const y = blockOf(session, "y");
      if (!x || !y || !(p.address > x.address && p.address < y.address)) {
        return no(`The 64-byte block is at ${hex(p.address)}, not in b's old place between x and y: restart the lesson and allocate it first.`);
      }
      const typed = parseAddress(answer);
      if (typed === null) return no(`The block is there. Now type the address of its header (hex, as the table shows it) in the answer field.`);
      if (typed === p.payload) return no(`${hex(typed)} is the payload's address, what malloc returned. The header sits just before it.`);
      if (typed !== p.address) return no(`${hex(typed)} is not its header. The header is the block's first 8 bytes, 8 bytes before the payload ${hex(p.payload)}.`);
      const header = decodeHeader(session.heap.read(p.address, 8));
      return ok(
        `Right: the header at ${hex(p.address)} reads ${headerText(header)}. First fit visited the 48-byte free block (too small for 64 + 8), then took the 112-byte one, split off the rest, set the used bit and returned ${hex(p.payload)}, the header's address + 8.`,
      );
    },
    solve: { statements: ["p = malloc(64)"], answer: (session) => hex(blockOf(session, "p").address) },
    mistake: { statements: ["p = malloc(64)"], answer: (session) => hex(blockOf(session, "p").payload) },
  },
  {
    id: "splitting",
    animate: true,
    title: "Splitting a free block",
    setup: { options: { policy: "first-fit" }, statements: ["big = malloc(200)", "guard = malloc(8)", "free(big)"] },
    text: [
      "When the chosen free block is bigger than the request needs, the allocator splits it: the front becomes the used block, the rest a new free block with its own header.",
      "Splitting only pays when the rest can become a block of its own. A free block must hold its 8-byte header, the free list's two links (the next and the previous free block, 4 bytes each in wasm32) and its 8-byte footer, so no block is smaller than 24 bytes, the minimum block size: even malloc(1) takes 24. A rest smaller than that stays inside the used block as padding. The split minimum option raises that threshold. Here a 208-byte free block sits before guard.",
    ],
    task: "In the console under the map, allocate 100 bytes (p = malloc(100)) and watch the split, step by step; then find the free block that splitting left behind.",
    check(session) {
      const [p] = newBlocks(session, 2, 100);
      const guard = blockOf(session, "guard");
      if (!p) return no("Allocate 100 bytes: p = malloc(100).");
      if (!guard || p.address > guard.address) return no(`The 100-byte block went to ${hex(p.address)}, after guard: restart the lesson and allocate it while the 208-byte block is free.`);
      const rest = blocksOf(session).find((b) => b.address === p.address + p.size);
      if (!rest || rest.used || rest.address + rest.size !== guard.address) return no("The block after p is not a free remainder: restart the lesson and try again.");
      return ok(`The 208-byte block was split: ${p.size} bytes used at ${hex(p.address)} (8 header + ${p.size - 8} payload) and a new ${rest.size}-byte free block at ${hex(rest.address)}, right up to guard.`);
    },
    solve: { statements: ["p = malloc(100)"] },
    mistake: { statements: ["p = malloc(300)"] },
  },
  {
    id: "coalescing",
    animate: true,
    title: "Free and coalescing",
    setup: { options: { policy: "first-fit", coalesce: "immediate" }, statements: ["a = malloc(32)", "b = malloc(32)", "c = malloc(32)", "guard = malloc(8)", "free(a)", "free(c)"] },
    text: [
      "free() clears the used bit in the block's header. Left at that, the heap would fill with small free blocks side by side that no bigger request could use.",
      "With immediate coalescing, free() also merges the block with free neighbours: the next block's header says whether it is free, and a free block before it has a footer (a copy of its header at its end, the boundary tag) that gives its start.",
    ],
    task: "a and c are free. In the console under the map, free b, between them (free(b)), and watch the three blocks become one, step by step.",
    check(session) {
      if (session.isLive(session.names.get("b"))) return no("b is still allocated: free(b).");
      const guard = blockOf(session, "guard");
      if (!guard) return no("guard must stay allocated: restart the lesson.");
      const merged = blocksOf(session).find((b) => !b.used && b.address + b.size === guard.address);
      if (!merged || merged.size < 120) return no(`The free space before guard is ${merged ? `a ${merged.size}-byte block` : "not one block"}, not all three merged: restart the lesson.`);
      return ok(`free(b) merged b with the free block before it (found through its footer) and the one after it: one ${merged.size}-byte free block at ${hex(merged.address)}, where a, b and c were.`);
    },
    solve: { statements: ["free(b)"] },
    mistake: { statements: ["free(guard)"] },
  },
  {
    id: "deferred",
    animate: true,
    title: "Deferred coalescing: the sweep",
    setup: {
      options: { policy: "first-fit", coalesce: "deferred" },
      statements: ["a = malloc(32)", "b = malloc(32)", "c = malloc(32)", "guard = malloc(8)", "fill = malloc(16224)", "free(a)", "free(b)", "free(c)"],
    },
    text: [
      "The classic first-fit design defers coalescing: free() only marks the block free, which is cheap, and neighbours stay apart. Here a, b and c were freed: three 40-byte free blocks side by side, and fill takes the rest of the heap.",
      "When no free block fits a request, the allocator sweeps the heap once, merging every run of free neighbours, and tries again before it grows memory.",
    ],
    task: "Allocate 100 bytes (p = malloc(100)): none of the 40-byte free blocks can hold it alone.",
    check(session) {
      const guard = blockOf(session, "guard");
      const [p] = newBlocks(session, 5).filter((b) => b.requested > 32);
      if (!p) return no("Allocate more than 32 bytes (p = malloc(100)): a smaller request fits one 40-byte block without a sweep.");
      if (!guard || p.address > guard.address) return no(`The block went to ${hex(p.address)}, after the free blocks: restart the lesson.`);
      return ok(`First fit rejected the three 40-byte blocks, then swept: they merged into one ${p.size + (blocksOf(session).find((b) => b.address === p.address + p.size && !b.used)?.size ?? 0)}-byte block, which served your ${p.requested} bytes at ${hex(p.payload)} without growing the heap.`);
    },
    solve: { statements: ["p = malloc(100)"] },
    mistake: { statements: ["p = malloc(16)"] },
  },
  {
    id: "fragmentation",
    title: "Fragmentation",
    setup: {
      options: { policy: "first-fit" },
      statements: [...sixBlocks(56), "fill = malloc(15984)", "free(p1)", "free(p3)", "free(p5)"],
    },
    text: [
      "192 bytes are free here, in three 64-byte holes between p2, p4 and p6, yet malloc(150) cannot use them: no single hole is big enough. That is external fragmentation: free memory cut into pieces too small to serve requests. The stats show it as 1 − largest free block ÷ free bytes.",
      "(Internal fragmentation is the other kind: the bytes a block holds beyond what was requested, its header and rounding.)",
    ],
    task: "Free one more block so that malloc(150) fits in the holes, without freeing fill.",
    check(session) {
      const fill = blockOf(session, "fill");
      if (!fill) return no("fill must stay allocated: restart the lesson.");
      const holes = blocksOf(session).filter((b) => !b.used && b.address < fill.address);
      const largest = holes.reduce((m, b) => Math.max(m, b.size), 0);
      if (largest < 160) return no(`The largest free block before fill is ${largest} bytes; malloc(150) needs 160 (150 rounded up to 152, plus the 8-byte header). Free a block between two holes.`);
      const stats = session.snapshot().stats;
      return ok(`The block you freed merged with the holes on both sides: a ${largest}-byte free block now serves malloc(150). External fragmentation is down to ${Math.round(stats.externalFragmentation * 100)}%.`);
    },
    solve: { statements: ["free(p2)"] },
    mistake: { statements: ["free(p6)"] },
  },
  {
    id: "best-fit",
    predict: true,
    title: "Best fit and its size-ordered index",
    setup: { options: { policy: "best-fit" }, statements: ["big = malloc(200)", "g1 = malloc(16)", "small = malloc(48)", "g2 = malloc(16)", "free(big)", "free(small)"] },
    text: [
      "First fit takes the first block that fits, often a big one that a later, bigger request would have needed. Best fit takes the smallest block that fits.",
      "Walking every free block to find it would be slow, so Heaplab's best fit keeps the free blocks in an index ordered by size: exact-size bins below 256 bytes, found through a bitmap, and a bitwise tree for bigger blocks. The search costs the same however many blocks are free.",
      "One block is kept apart: the free block at the end of the heap, where the heap grows (the wilderness, listed as “end of the heap”). Best fit takes it only when no other free block holds the request, even when it is the smallest that would, so holes are reused before the heap's end moves out. Doug Lea's malloc does the same with its top chunk.",
    ],
    task: "Two blocks are free: 208 bytes before g1, 56 bytes between g1 and g2. Where will p = malloc(40) go? Run it in the console under the map, then click the free block you think best fit takes.",
    check(session) {
      const [p] = newBlocks(session, 4, 40);
      if (!p) return no("Allocate 40 bytes: p = malloc(40).");
      const g1 = blockOf(session, "g1");
      const g2 = blockOf(session, "g2");
      if (!g1 || !g2 || !(p.address > g1.address && p.address < g2.address)) return no(`The block went to ${hex(p.address)}, not between g1 and g2: restart the lesson.`);
      return ok(`Best fit took the 56-byte block between g1 and g2 (${hex(p.address)}), the smallest that holds 40 + 8 bytes, and left the 208-byte block whole for a bigger request. First fit would have split the 208-byte block.`);
    },
    solve: { statements: ["p = malloc(40)"] },
    mistake: { statements: ["p = malloc(100)"] },
  },
  {
    id: "next-fit",
    predict: true,
    title: "Next fit",
    setup: { options: { policy: "next-fit" }, statements: [...sixBlocks(40), "free(p1)", "free(p3)", "free(p5)"] },
    text: [
      "Next fit is first fit that remembers where its last search stopped and starts the next one there, wrapping around at the end. Searches get shorter because the small holes at the start are not walked every time.",
      "The price: blocks from the same phase of a program spread across the heap, and fragmentation is often worse than with first fit.",
    ],
    task: "p1, p3 and p5 were freed: 48-byte holes. The last search ended after p6. Where will q = malloc(40) go? Run it in the console under the map, then click where you think next fit puts it.",
    check(session) {
      const [q] = newBlocks(session, 6, 40);
      if (!q) return no("Allocate 40 bytes: q = malloc(40).");
      const p6 = blockOf(session, "p6");
      if (!p6 || q.address < p6.address) return no(`The block went to ${hex(q.address)}, into a hole before p6: restart the lesson.`);
      return ok(`Next fit went on from where it stopped, after p6, and took ${hex(q.address)}. First fit would have started from the lowest address and reused p1's hole.`);
    },
    solve: { statements: ["q = malloc(40)"] },
    mistake: { statements: ["q = malloc(4000)"] },
  },
  {
    id: "list-order",
    predict: true,
    title: "The free list's order",
    setup: { options: { policy: "first-fit", listOrder: "lifo" }, statements: ["a = malloc(40)", "x = malloc(8)", "b = malloc(40)", "y = malloc(8)", "free(a)", "free(b)"] },
    text: [
      "First fit takes the first free block that fits: first in the free list's order. Kept in address order, that is the lowest block that fits. Many real allocators keep the list LIFO instead, because putting a freed block at the front of the list costs nothing, while finding its place in address order means walking the list.",
      "Here the free list is LIFO: a was freed, then b. The arrows above the blocks, and the free-list panel under the map, show the order first fit will walk.",
    ],
    task: "Where will p = malloc(40) go? Run it in the console under the map, then click the free block you think first fit takes. Afterwards, in the playground, try the same with the free-list order set to address order.",
    check(session) {
      const p = blockOf(session, "p");
      const x = blockOf(session, "x");
      const y = blockOf(session, "y");
      if (!p) return no("Allocate 40 bytes: p = malloc(40).");
      if (!x || !y) return no("x and y must stay allocated: restart the lesson.");
      if (!(p.address > x.address && p.address < y.address)) return no(`p went to ${hex(p.address)}, not into b's old block between x and y: restart the lesson and allocate it first.`);
      return ok(`LIFO: b was freed last, so its block heads the free list, and first fit took it (${hex(p.address)}) although a's block, at a lower address, fits just as well. With the list in address order, first fit would have taken a's block.`);
    },
    solve: { statements: ["p = malloc(40)"] },
    mistake: { statements: ["p = malloc(4000)"] },
  },
  {
    id: "worst-fit",
    predict: true,
    title: "Worst fit",
    setup: {
      options: { policy: "worst-fit" },
      statements: ["big = malloc(200)", "g1 = malloc(16)", "small = malloc(48)", "g2 = malloc(16)", "fill = malloc(16056)", "free(big)", "free(small)"],
    },
    text: [
      "Worst fit takes the largest free block, on the idea that what is left after the split stays big enough to be useful.",
      "In practice it breaks up exactly the big blocks that large requests need, and studies find it the worst of the simple policies for fragmentation.",
    ],
    task: "Two blocks are free: 208 bytes before g1 and 56 bytes between g1 and g2. Where will p = malloc(40) go? Run it in the console under the map, then click the free block you think worst fit takes.",
    check(session) {
      const [p] = newBlocks(session, 5, 40);
      if (!p) return no("Allocate 40 bytes: p = malloc(40).");
      const g1 = blockOf(session, "g1");
      if (!g1 || p.address > g1.address) return no(`The block went to ${hex(p.address)}, not into the 208-byte block: restart the lesson.`);
      const rest = blocksOf(session).find((b) => b.address === p.address + p.size && !b.used);
      return ok(`Worst fit split the largest free block: ${p.size} bytes used at ${hex(p.address)}${rest ? `, ${rest.size} bytes left free` : ""}, while the 56-byte block, a perfect home for 40 bytes, stays free.`);
    },
    solve: { statements: ["p = malloc(40)"] },
    mistake: { statements: ["p = malloc(300)"] },
  },
  {
    id: "segregated",
    animate: true,
    title: "Segregated fit",
    setup: {
      options: { policy: "segregated" },
      statements: [
        ...[1, 2, 3, 4, 5, 6, 7, 8].flatMap((i) => [`h${i} = malloc(24)`, `k${i} = malloc(24)`]),
        ...[1, 2, 3, 4, 5, 6, 7, 8].map((i) => `free(h${i})`),
      ],
    },
    text: [
      "Segregated fit keeps a separate free list for each size class, and a bitmap of which lists are non-empty. A request looks only at lists whose blocks are all big enough: one bit search, then the head of the list. That is constant time, the property real-time systems need (TLSF).",
      "Here eight 32-byte holes lie between the k blocks. A first-fit search for a big block would visit each of them first.",
    ],
    task: "Allocate 500 bytes (p = malloc(500)) and read \"Blocks examined by the last operation\" in the stats.",
    check(session) {
      const [p] = newBlocks(session, 16, 500);
      if (!p) return no("Allocate 500 bytes: p = malloc(500).");
      const examined = session.snapshot().stats.lastExamined;
      if (examined > 2) return no(`The last operation examined ${examined} blocks: make p = malloc(500) the last thing you do, then check.`);
      return ok(`Segregated fit examined ${examined} block${examined === 1 ? "" : "s"}: it rounded 508 bytes up to a size class, found a non-empty class at or above it in the bitmap and took that list's head. First fit would have visited the eight 32-byte holes first.`);
    },
    solve: { statements: ["p = malloc(500)"] },
    mistake: { statements: ["p = malloc(24)"] },
  },
  {
    id: "quick-lists",
    animate: true,
    title: "Quick lists: the fast path real allocators take",
    setup: { options: { policy: "segregated", quickLists: true }, statements: ["a = malloc(40)", "guard = malloc(8)", "free(a)"] },
    text: [
      "Programs free and allocate blocks of the same few sizes over and over. Real allocators (dlmalloc's fastbins, glibc's tcache, Heaplab's own global allocator) keep a freed small block aside on a quick list for its exact size, still marked used: no merging now, and the next request of that size takes it back at once, without a search and without a split.",
      "Here a was freed with quick lists on: its block waits on the 48-byte quick list (the orange box on the map, flag 'quick' in its header). It merges with its neighbours only when the lists are flushed, which happens before the heap would ask for more memory. (guard keeps a away from the free space at the heap's end, as in a busy heap: with best fit, a small block freed right there merges with that space at once instead, so that the end stays one free block.)",
    ],
    task: "In the console under the map, allocate 40 bytes again (b = malloc(40)) and watch the steps: where does b's block come from?",
    check(session) {
      const b = blockOf(session, "b");
      if (!b) return no("Allocate 40 bytes: b = malloc(40).");
      const guard = blockOf(session, "guard");
      if (!guard) return no("guard must stay allocated: restart the lesson.");
      if (b.address + b.size !== guard.address) return no(`b went to ${hex(b.address)}, not a's old block: restart the lesson and allocate 40 bytes first.`);
      return ok(`b = malloc(40) was taken from the quick list for 48 bytes: a's old block at ${hex(b.address)}, with no search and no split. Without quick lists the block would have gone back to the free list, merged with the free space after guard's neighbour, and been split again.`);
    },
    solve: { statements: ["b = malloc(40)"] },
    mistake: { statements: ["b = malloc(400)"] },
  },
  {
    id: "alignment",
    title: "Alignment",
    setup: { options: { policy: "first-fit", align: 8 }, statements: ["a = malloc(24)"] },
    text: [
      "Every payload starts at a multiple of the heap's alignment (8 here), so that any 8-byte value can be stored in it. That is why sizes are rounded up to multiples of 8, and why a block's low 3 size bits are free to hold flags.",
      "Some data needs more: SIMD vectors, cache lines (64 bytes), pages. aligned_alloc(align, size) asks for a payload at a multiple of align, and the allocator may have to leave a gap before the block to get there.",
    ],
    task: "Allocate 24 bytes aligned to 64: p = aligned_alloc(64, 24). Compare its payload address with a's.",
    check(session) {
      const [p] = newBlocks(session, 1, 24);
      if (!p) return no("Allocate 24 bytes aligned to 64: p = aligned_alloc(64, 24).");
      if (p.payload % 64 !== 0) return no(`p's payload ${hex(p.payload)} is ${p.payload % 64} bytes past a multiple of 64: plain malloc only guarantees 8. Restart and use aligned_alloc(64, 24).`);
      const a = blockOf(session, "a");
      return ok(`p's payload ${hex(p.payload)} is a multiple of 64 (0x40)${a ? `; a's payload ${hex(a.payload)} is only a multiple of 8` : ""}. The allocator chose a free block that has a 64-byte boundary far enough in, and left the gap before it free.`);
    },
    solve: { statements: ["p = aligned_alloc(64, 24)"] },
    mistake: { statements: ["p = malloc(24)"] },
  },
  {
    id: "realloc",
    title: "realloc",
    setup: { options: { policy: "first-fit" }, statements: ["p = malloc(32)", 'strcpy(p, "hello")', "q = malloc(32)"] },
    text: [
      "realloc(p, size) resizes a block and keeps its bytes. If the block is followed by enough free space it grows in place; otherwise the allocator allocates a new block, copies the payload and frees the old one, so the address changes and every other pointer into the old block dangles.",
      "p holds the string \"hello\", and q sits right after p.",
    ],
    task: "Grow p to 200 bytes with p = realloc(p, 200), then read p's bytes in the table or the console.",
    check(session) {
      const id = session.names.get("p");
      const p = blockOf(session, "p");
      if (!p) return no("p is not allocated: restart the lesson.");
      if (!session.trace.some((op) => op.op === "realloc" && op.id === id && op.size >= 200)) return no("p was not resized with realloc: p = realloc(p, 200). A fresh malloc does not keep the bytes.");
      if (p.usable < 200) return no(`p holds ${p.usable} bytes; grow it to 200: p = realloc(p, 200).`);
      const text = new TextDecoder().decode(session.heap.read(p.payload, 5));
      if (text !== "hello") return no(`p's first bytes are no longer "hello" but "${text}": restart the lesson.`);
      const q = blockOf(session, "q");
      const moved = q && p.address > q.address;
      return ok(`realloc ${moved ? `moved p to ${hex(p.payload)}, after q, because q left no room to grow in place,` : `grew p in place at ${hex(p.payload)}`} and kept its bytes: "hello" is still there. The old block was freed; any copy of the old address now dangles.`);
    },
    solve: { statements: ["p = realloc(p, 200)"] },
    mistake: { statements: ["free(p)", "p = malloc(200)"] },
  },
  {
    id: "toy-vs-production",
    title: "Toy allocators beside production ones",
    setup: {
      options: { policy: "first-fit" },
      statements: [...[1, 2, 3, 4, 5, 6].flatMap((i) => [`s${i} = malloc(16)`, `k${i} = malloc(16)`]), ...[1, 2, 3, 4, 5, 6].map((i) => `free(s${i})`)],
    },
    text: [
      "The fits in these lessons are the textbook's. The allocators real programs use are built from the same parts, tuned: dlmalloc (Rust's own allocator on wasm, and the ancestor of glibc's malloc) keeps boundary tags like ours, bins of free blocks by size like segregated fit, and carves new blocks from the end of the heap; talc and rlsf are segregated fits with a bitmap of non-empty lists; linked_list_allocator is a plain first fit over one address-ordered hole list; buddy_system_allocator rounds every request up to a power of two.",
      "The heap here shows the toys' weak spot: six 32-byte holes at the front of first fit's list, which every larger request walks past. On a real program's calls, does the textbook lose to production, and where? The compare page answers with figures: its preset runs the calls GCC's preprocessor made (recorded) on first fit, best fit, segregated fit, talc and dlmalloc, and writes a paragraph under the results table.",
    ],
    link: { href: `./compare.html?preset=${TOY_VS_PRODUCTION.key}`, text: "Open the toy vs production comparison" },
    task: "Open the comparison, read the Peak utilization column (or the paragraph under the table), and type the name of the policy that kept the most of its heap in use.",
    question: "Policy with the highest peak utilization",
    prepare: presetFigures,
    check(session, answer, prepared) {
      if (!prepared) return no("The comparison's figures are still being computed here: check again in a moment.");
      const typed = String(answer ?? "").trim().toLowerCase().replace(/\s+fit$/, "").replace(/\s+/g, "-");
      if (!typed) return no(`Type one of the five names: ${prepared.map((r) => r.policy).join(", ")}.`);
      const row = prepared.find((r) => r.policy === typed || r.policy === `${typed}-fit`);
      if (!row) return no(`"${answer}" is not one of the five the preset compares: ${prepared.map((r) => r.policy).join(", ")}.`);
      const best = prepared.reduce((a, b) => (b.utilization > a.utilization ? b : a));
      const u = (r) => `${formatPercent(r.utilization)} (${formatBytes(r.peakHeap)} of pages)`;
      if (row.utilization < best.utilization - 0.0005) return no(`${row.policy} kept ${u(row)} of its heap in use at the peak. Another policy kept more: compare the Peak utilization column.`);
      const production = new Set(TOY_VS_PRODUCTION.policies.slice(3));
      const toys = prepared.filter((r) => !production.has(r.policy)).sort((a, b) => b.utilization - a.utilization);
      const peers = prepared.filter((r) => production.has(r.policy)).sort((a, b) => b.utilization - a.utilization);
      const gap = Math.abs(toys[0].utilization - peers[0].utilization) * 100;
      return ok(
        `Yes: ${row.policy} kept ${u(row)} in use at the peak. The best textbook fit, ${toys[0].policy}, kept ${u(toys[0])}; the best production allocator, ${peers[0].policy}, ${u(peers[0])}: ${gap.toFixed(1)} points apart. ` +
          "Production allocators win by small, careful choices: small block headers, size classes that waste little, and a heap end that grows only by what is needed.",
      );
    },
    solve: { statements: [], answer: (session, prepared) => prepared.reduce((a, b) => (b.utilization > a.utilization ? b : a)).policy },
    mistake: { statements: [], answer: (session, prepared) => prepared.reduce((a, b) => (b.utilization < a.utilization ? b : a)).policy },
  },
  {
    id: "overflow",
    title: "A heap overflow corrupts a header",
    setup: { options: { policy: "first-fit" }, statements: ["p = malloc(24)", "q = malloc(24)"] },
    text: [
      "The allocator trusts its headers: their size says where the next block starts. C does not check array bounds, so writing past the end of a payload overwrites the next block's header.",
      "Nothing fails at the moment of the write. The damage shows later, when malloc or free follows the broken size, which is what makes heap overflows both hard to debug and a classic attack. Heaplab runs the integrity check after each write, so you see it at once.",
    ],
    task: "p's payload holds 24 bytes. Write a 40-byte string into it: strcpy(p, \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\") (39 letters and the closing zero).",
    check(session) {
      if (!session.corruption) return no("The heap is still consistent: write more than 24 bytes into p, enough to reach q's header.");
      const q = blockOf(session, "q");
      return ok(`The bytes past p's payload overwrote q's header${q ? ` at ${hex(q.address)}` : ""}. check() says: ${session.corruption}. A real program would crash or worse later, far from the bug. Restart the lesson to recover.`);
    },
    solve: { statements: [`strcpy(p, "${"A".repeat(39)}")`] },
    mistake: { statements: ['strcpy(p, "hello")'] },
  },
  {
    id: "buddy",
    title: "The buddy system",
    animate: true,
    predict: true,
    setup: { options: { policy: "kmalloc", maxBytes: 256 * 1024 }, statements: ["a = kmalloc(30000)"] },
    text: [
      "Under every heap sits a page allocator. The buddy system, the one Linux uses, hands out blocks of 2^order pages only: 1, 2, 4, 8 … pages. A free block of order k splits into two halves of order k − 1, the two buddies; when both are free again they merge back. Powers of two make that cheap: a block of order k always starts at a multiple of its size (counted from the first page the allocator manages), and its buddy is found with one XOR: buddy offset = offset XOR size. No search, no list walk.",
      "The price is rounding. A request takes the smallest power of two of pages that holds it, and the rest of the block is lost to it: internal fragmentation. Here the kernel heap (policy kmalloc) manages 64 pages (256 KiB), the first of them a used block of order 0 that holds the allocator's own lists; a asked for 30000 bytes and took the one free block of order 3, 32 KiB. A kmalloc above 4 KiB skips the slab caches and asks the buddy allocator for pages. The map shows the buddy blocks in address order, each with its order.",
    ],
    task: "Run b = kmalloc(20000) in the console. Before the answer shows, click the free block you think the buddy allocator will split for it; then watch the split. Last, work out the address of b's buddy: offset = b's address − the first page's address (the map's first box), buddy = first page + (offset XOR b's block size). Type it in the answer field.",
    question: "Address of b's buddy",
    check(session, answer) {
      const id = session.names.get("b");
      if (!id || !session.isLive(id)) return no("Allocate b first: b = kmalloc(20000).");
      const b = session.addressOf(id);
      const block = session.snapshot().kernel.blocks.find((x) => x.address === b);
      if (!block) return no(`b at ${hex(b)} is not a block of the buddy allocator: restart the lesson (b must be larger than 4 KiB).`);
      const size = PAGE * 2 ** block.order;
      const base = session.snapshot().kernel.blocks[0].address;
      const buddy = base + ((b - base) ^ size);
      const typed = parseAddress(answer);
      if (typed === null) return no(`b got a block of order ${block.order} (${formatBytes(size)}) at ${hex(b)}. Now type its buddy's address: first page + ((b − first page) XOR ${size}).`);
      if (typed === b + 20000) return no(`${hex(typed)} is where b's 20000 bytes end, not its buddy: the buddy starts a whole block size away, at offset XOR ${size}.`);
      if (typed !== buddy) return no(`${hex(typed)} is not b's buddy. b's offset is ${hex(b - base)}; XOR it with the block size ${hex(size)} and add the first page ${hex(base)}.`);
      const lost = size - 20000;
      return ok(
        `Right: b's buddy is ${hex(buddy)}, ${buddy > b ? "right after" : "right before"} b: the other half of the order-${block.order + 1} block that was split for b, and when both are free they merge back into it. b asked for 20000 bytes and got ${formatBytes(size)} (2^${block.order} pages): ${formatBytes(lost)}, ${formatPercent(lost / size)} of the block, is internal fragmentation, the cost of rounding to a power of two.`,
      );
    },
    solve: {
      statements: ["b = kmalloc(20000)"],
      answer(session) {
        const b = session.addressOf(session.names.get("b"));
        const base = session.snapshot().kernel.blocks[0].address;
        return hex(base + ((b - base) ^ (8 * PAGE)));
      },
    },
    mistake: { statements: ["b = kmalloc(20000)"], answer: (session) => hex(session.addressOf(session.names.get("b")) + 20000) },
  },
  {
    id: "slab",
    title: "Slab caches",
    predict: true,
    setup: {
      options: { policy: "kmalloc", maxBytes: 256 * 1024 },
      statements: ['c = cache_create("inode", 184)', ...Array.from({ length: 22 }, (_, i) => `i${i + 1} = cache_alloc(c)`), "cache_free(c, i5)"],
    },
    text: [
      "A kernel allocates the same few kinds of objects again and again: inodes, file structures, network buffers. A slab cache holds objects of one size only. Each slab is a run of pages from the buddy allocator: a header (the slab's lists and which objects are in use), then the objects side by side, with no header per object. Since every object of a cache has the same size, there is no search and no splitting, and no fragmentation between objects.",
      "A cache keeps its slabs on three lists: full, partial and empty. cache_alloc takes from a partial slab first, so that slabs fill up and empty ones can go back to the buddy allocator; only when no slab has room does it take a new slab. kmalloc is the same machinery: caches kmalloc-8 to kmalloc-4096, one per power of two.",
      "Here the cache inode (184-byte objects, 21 per 4 KiB slab) has two slabs, both partial: the one holding i1 to i21 was full until i5 was freed, and a second one holds i22 only. The map draws each slab as a row of its objects, live ones named.",
    ],
    task: "Run o = cache_alloc(c) in the console. Before the answer shows, click the free object on the map where you think o will land (or type its address under the legend). Then type o's address in the answer field.",
    question: "Address of o",
    check(session, answer) {
      const id = session.names.get("o");
      if (!id || !session.isLive(id)) return no("Allocate o first: o = cache_alloc(c).");
      const o = session.addressOf(id);
      const { slabs, caches } = session.snapshot().kernel;
      const inode = caches.findIndex((k) => k.name === "inode");
      const mine = slabs.filter((x) => x.cache === inode);
      const home = mine.find((x) => o >= x.address && o < x.address + PAGE);
      const first = session.addressOf(session.names.get("i1"));
      if (mine.length !== 2 || !home || !(first >= home.address && first < home.address + PAGE)) {
        return no(`o landed at ${hex(o)}, not in the slab of i1: restart the lesson and allocate o once, with o = cache_alloc(c).`);
      }
      const typed = parseAddress(answer);
      if (typed === null) return no(`o is allocated. Type its address (the console printed it) in the answer field.`);
      if (typed !== o) return no(`${hex(typed)} is not o's address; cache_alloc returned ${hex(o)}.`);
      return ok(
        `Right: o took i5's old place at ${hex(o)}, in the first slab, ${home.list} again. Freeing i5 made that slab partial, and a partial slab is served first: it fills up before the second slab gets another object, and no new slab is taken. With objects of one size the freed hole fits exactly: no search, no split.`,
      );
    },
    solve: { statements: ["o = cache_alloc(c)"], answer: (session) => hex(session.addressOf(session.names.get("o"))) },
    mistake: { statements: ["o = cache_alloc(c)"], answer: (session) => hex(session.addressOf(session.names.get("i22")) + 184) },
  },
  {
    id: "kernel-and-apps",
    title: "The kernel and applications",
    // A machine lesson: it acts on the machine (the kernel heap and two application heaps over
    // one buddy allocator), and check, solve and mistake take the machine instead of a session.
    // Its question is asked in predict mode, before app2's last free shows its answer.
    machine: { statements: ["kernel: k = kmalloc(64)", "app1: p = malloc(24)", "app2: q = malloc(3000)", "app2: r = malloc(100)"] },
    predict: true,
    setup: { options: {}, statements: [] },
    text: [
      "A real system runs many heaps at once. The kernel keeps a heap of its own for its own objects, and each application has its own heap in its own address space. They need not be the same implementation: here app1 runs first fit, app2 best fit, app3 segregated fit, and the kernel slab caches behind kmalloc.",
      "None of them owns memory outright. Under all of them sits the page allocator, here a buddy system: it hands out blocks of 2^order pages of 4 KiB, splitting a larger free block in halves (buddies) when it has none of the right order. A heap that needs room asks it for pages; the map shows which heap holds which pages.",
      "Pages go back only when nothing in them is in use. When app2 frees its last block it gives its pages back, and the buddy allocator merges the returned block with its buddy while that buddy is free, up to the first buddy someone still holds.",
    ],
    task: "Make app2 give its pages back without touching app1 or the kernel: free app2's two blocks (app2: free(q), then app2: free(r)). Before the last free shows its answer, a question above the map asks into how large a block the buddies will merge: find app2's pages on the map, look at which neighbours are free, and choose the order.",
    check(machine) {
      const snap = machine.snapshot();
      if (heldBy(snap, "app1") === 0 || heldBy(snap, "kernel") === 0) return no("app1 or the kernel gave its pages back too: only app2 is to free its blocks. Restart the lesson.");
      const app2 = snap.heaps.find((h) => h.name === "app2");
      if (app2.live > 0) return no(`app2 still has ${app2.live} block${app2.live === 1 ? "" : "s"} in use in its ${heldBy(snap, "app2")} pages, so it cannot give them back: free q and r (app2: free(q), app2: free(r)).`);
      const gave = machine.history.findLast((r) => r.ok && r.heap === "app2" && r.returned > 0);
      if (!gave) return no("app2 holds no page, but it never gave any back here: restart the lesson.");
      const merges = gave.events.filter((e) => e.kind === "buddy-merge");
      if (merges.length === 0) return no("app2 gave its pages back, but no buddy was free to merge with: restart the lesson.");
      const guess = gave.prediction;
      if (!guess) return no(`app2 gave its ${gave.returned} pages back before you predicted how far they would merge. Restart the lesson and free q and r again: before the last free shows its answer, choose the order above the map.`);
      if (!guess.right) return no(`${guess.said} Each merge doubles the block while its buddy is free; read the steps under the narration, then restart the lesson to predict again.`);
      return ok(
        `${guess.said} app2's ${gave.returned} pages went back and merged ${merges.length} time${merges.length === 1 ? "" : "s"}. ` +
          "app1 (first fit) and the kernel (slab caches) kept their pages: separate heaps, different implementations, all taking pages from below.",
      );
    },
    // A machine lesson's scripts answer its predict mode's question: predict(question, machine) -> the choice.
    solve: { statements: ["app2: free(q)", "app2: free(r)"], predict: (question) => question.answer },
    mistake: { statements: ["app2: free(q)", "app2: free(r)"], predict: (question) => question.options[0].value },
  },
]);

/** The lesson with `id`, or undefined. */
export const lessonById = (id) => LESSONS.find((l) => l.id === id);
