// Step mode and predict mode over one heap view, shared by the playground,
// the lessons and <heap-playground>:
//
// * Step mode animates what each operation did (steps.js frames, played by
//   step-player.js): while the search runs the map shows the heap as it was
//   before the operation; from the first change on, as it is after.
// * Predict mode asks, before an allocation's answer is shown, where the block
//   will land (predict.js judges the click or the typed address).
// * Both hold the answer back: what the operation returned (console lines,
//   messages) and the panels (stats, table, free list) show the heap before
//   it until the animation reaches the result, Skip is pressed, or the guess
//   is made. `gate` is what the console and the page's messages ask.
//
// The owner calls `afterChange(op, { forwardOne })` after every change of the
// session, and reads `shownSnapshot()` (the map) and `panelSnapshot()`.
import { StepPlayer } from "./step-player.js";
import { stepFrames } from "./steps.js";
import { PREDICTED, Score, guessAt, judge } from "./predict.js";
import { hex } from "./format.js";

/** A copy of a snapshot (views into wasm memory copied, free lists read), with a version of its own. */
let copies = 0;
export function copySnapshot(snap, freeLists) {
  return {
    version: -++copies,
    segments: snap.segments.slice(),
    pages: snap.pages.slice(),
    blocks: snap.blocks.slice(),
    stats: snap.stats,
    opaque: snap.opaque,
    // The kernel heap's picture (plain objects, made anew each version: no copy needed).
    ...(snap.kernel ? { kernel: snap.kernel } : {}),
    freeLists,
  };
}

/** A kernel heap's recorded operation as the call the learner typed: kmalloc(64), cache_alloc(inode), kfree(k), cache_free(inode, o), cache_shrink(inode). */
function kernelCall(op, session) {
  const what = op.name ?? session.label(op.id);
  const cache = () => session.cacheName(op.cache) ?? op.cache;
  if (op.op === "cache-alloc") return `cache_alloc(${cache()})`;
  if (op.op === "cache-free") return `cache_free(${cache()}, ${session.label(op.id)})`;
  if (op.op === "cache-shrink") return `cache_shrink(${cache()})`;
  if (op.op === "free") return `kfree(${session.label(op.id)})`;
  if (op.op === "malloc" || op.op === "calloc") return `kmalloc(${op.op === "calloc" ? op.count * op.size : op.size})`;
  if (op.op === "realloc") return `krealloc(${what}, ${op.size})`;
  return null;
}

export class StepView {
  /**
   * @param {object} hooks
   *   session()            the current Session
   *   map                  the MapView (setMarks, reveal, invalidate)
   *   caption(text)        shows a caption next to the map
   *   host                 an element whose dataset says the state (tests read it)
   *   onRelease()          the held answer is out: redraw the panels
   *   onScore?(text)       predict mode's verdict and score
   */
  constructor(hooks) {
    this.hooks = hooks;
    this.stepMode = false;
    this.predictMode = false;
    this.before = null;
    this.shownBefore = false;
    this.copy = null;
    this.waiting = [];
    this.releasing = false;
    this.question = null; // predict mode: { op, payload, then }
    this.score = new Score();
    this.player = new StepPlayer({
      done: () => this.#release(),
      show: (frame, index, count) => this.#show(frame, index, count),
    });
    /** What the console and the page's messages ask before they say an answer. */
    this.gate = {
      held: () => this.held(),
      then: (fn) => this.waiting.push(fn),
    };
  }

  get #data() {
    return this.hooks.host?.dataset ?? {};
  }

  /** Whether an answer is being held back (an animation or a question under way). */
  held() {
    return !this.releasing && Boolean(this.question || (this.player.holding && this.stepMode && this.before));
  }

  /** The heap the map shows: the one before the operation while its search animates or a guess is awaited. */
  shownSnapshot() {
    const session = this.hooks.session();
    return this.shownBefore && this.before ? this.before : session.snapshot();
  }

  /** The heap the panels show: the one before the operation while its answer is held back. */
  panelSnapshot() {
    return this.held() ? this.before : this.hooks.session().snapshot();
  }

  #watching() {
    return this.stepMode || this.predictMode;
  }

  #startWatching() {
    const session = this.hooks.session();
    this.before = null;
    this.copy = session ? copySnapshot(session.snapshot(), session.freeLists()) : null;
  }

  setStepMode(on) {
    if (on && !this.#watching()) this.#startWatching();
    this.stepMode = on;
    if (!on) this.player.clear();
  }

  setPredictMode(on) {
    if (on && !this.#watching()) this.#startWatching();
    this.predictMode = on;
    if (!on) this.cancel();
  }

  /**
   * After every change of the session. `op` is the operation just done (a
   * trace record `{ op, id, size, ... }`) when the heap moved one operation
   * forward; `forwardOne` false for a jump, an undo, a reset or a replay;
   * `quiet` for a change nobody should watch (a lesson's setup, playing).
   */
  afterChange(op, { forwardOne = true, quiet = false } = {}) {
    this.cancel();
    /** The operation being shown (the kernel heap's narration names its call). */
    this.op = op ?? null;
    if (!this.#watching() || quiet) {
      this.copy = null;
      if (this.stepMode) this.player.clear();
      if (this.#watching()) this.#startWatching();
      return;
    }
    const session = this.hooks.session();
    if (!session) return;
    this.before = forwardOne ? this.copy : null;
    this.copy = copySnapshot(session.snapshot(), session.freeLists());
    if (!forwardOne || !op) {
      this.player.clear();
      return;
    }
    if (op.op === "write") return;
    if (this.predictMode && PREDICTED.has(op.op) && this.before) {
      this.player.clear();
      this.#ask(op, session.addressOf(op.id));
      return;
    }
    if (this.stepMode) this.#animate();
  }

  #animate() {
    const session = this.hooks.session();
    const kernel = session.snapshot().kernel ?? null;
    const frames = stepFrames(session.heap.lastEvents(), { ...session.options, kernel, call: kernel && this.op ? kernelCall(this.op, session) : null });
    if (!this.stepMode) {
      this.shownBefore = false;
      this.#release();
      this.hooks.map.invalidate();
      return;
    }
    this.#data.stepHeld = frames.length > 1 ? "true" : "false";
    this.player.play(frames);
  }

  #show(frame, index, count) {
    this.shownBefore = Boolean(frame && frame.phase === "before" && this.before);
    this.#data.stepShows = this.shownBefore ? "before" : "after";
    this.#data.stepEvent = frame ? `${index + 1}/${count}` : "";
    this.hooks.map.setMarks(frame ? frame.marks : []);
    this.hooks.caption(frame ? `Event ${index + 1} of ${count}: ${frame.caption}` : "");
    if (frame?.marks.length) this.hooks.map.reveal(frame.marks[frame.marks.length - 1].start);
  }

  #release() {
    // What was held is shown as it is now: nothing released here is held again.
    const due = this.waiting.splice(0);
    this.releasing = true;
    try {
      for (const show of due) show();
    } finally {
      this.releasing = false;
    }
    this.#data.stepHeld = "false";
    this.hooks.onRelease?.();
  }

  // ------------------------------------------------------------ predict

  #ask(op, payload) {
    this.question = { op, payload };
    this.shownBefore = true;
    this.#data.predict = "waiting";
    if (op.op === "cache-alloc" || this.before.kernel) {
      const what = op.op === "cache-alloc" ? `cache_alloc(${this.hooks.session().cacheName(op.cache) ?? op.cache})` : `kmalloc(${op.size})`;
      this.hooks.caption(`Where will ${what} go? Click the free object it will take, or the free buddy block a new slab or large block will come from, or type the address it will return.`);
    } else {
      const what = op.op === "calloc" ? `calloc(${op.count}, ${op.size})` : `malloc(${op.size})`;
      this.hooks.caption(`Where will ${what} go? Click the free block it will take (or the free pages, for new space at the end of the heap), or type the address it will return.`);
    }
    this.hooks.map.invalidate();
    this.hooks.onRelease?.();
  }

  /** Whether a question waits for a guess. */
  get asking() {
    return this.question !== null;
  }

  /** A click on the map at `address` (of the heap shown) while a question waits: the guess. Returns whether it was taken. */
  pick(address) {
    if (!this.question) return false;
    return this.answer(guessAt(this.before.blocks, address));
  }

  /** Judges a guess (see predict.js), says the verdict and the score, then reveals the answer. */
  answer(guess) {
    const q = this.question;
    if (!q) return false;
    if (guess.kind === "used") {
      this.hooks.caption(`The block at ${hex(guess.address)} is in use: a new block can only go into a free block or new space. Try again.`);
      return true;
    }
    const { right, said } = judge(guess, this.before.blocks, q.payload, { opaque: Boolean(this.before.opaque) });
    this.score.add(right);
    this.question = null;
    this.#data.predict = right ? "right" : "wrong";
    this.hooks.onScore?.(`${said} Predictions: ${this.score}.`);
    this.hooks.caption(said);
    this.#animate();
    return true;
  }

  /** Drops a waiting question (another operation came): its answer is shown. */
  cancel() {
    if (!this.question) return;
    this.question = null;
    this.#data.predict = "";
    this.shownBefore = false;
    this.#release();
  }
}
