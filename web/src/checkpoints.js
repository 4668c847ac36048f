// Checkpoints: Heaplab's one way of travelling in time, shared by the
// playground's and the embed's Timeline (timeline.js) and the compare page's
// PolicyRun (compare/engine.js).
//
// A heap is deterministic, so the heap after n operations is a checkpoint
// (a `Heap.save()` at or before n) restored, plus the operations between them
// replayed. A replay takes a checkpoint at every multiple of `spacing` it
// passes. When there are more than `maxCount` checkpoints or their bytes pass
// `maxBytes`, the spacing doubles and every checkpoint off it is disposed (and
// the oldest when that frees nothing), so memory stays bounded and a jump
// replays at most `spacing` operations past the checkpoint it restores.
//
// Time 0 is the owner's `origin` (the heap as created): always there, never
// counted and never disposed here. How a checkpoint is saved, restored and
// replayed past is the owner's too (hooks): this module only decides where.

export class CheckpointStore {
  /**
   * @param {object} settings
   * @param {number} settings.spacing operations between checkpoints at first
   * @param {number} [settings.maxCount] checkpoints kept at most (the spacing doubles beyond)
   * @param {number} [settings.maxBytes] bytes the checkpoints may hold together
   * @param {number} [settings.near] a checkpoint at most this many operations
   *   ahead of where the heap already is is not restored: replaying is as fast
   * @param {{ at: 0, saved: object }} settings.origin the checkpoint at time 0 (the owner's)
   */
  constructor({ spacing, maxCount = Infinity, maxBytes = Infinity, near = 0, origin }) {
    if (!(Number.isInteger(spacing) && spacing > 0)) throw new RangeError(`checkpoint spacing must be a positive whole number, not ${spacing}`);
    this.spacing = spacing;
    this.maxCount = maxCount;
    this.maxBytes = maxBytes;
    this.near = near;
    this.origin = { ...origin, at: 0 };
    /** `[{ at, saved, bytes, … }]` in time order, time 0 left out (the origin). */
    this.list = [];
    /** The bytes of the checkpoints in `list`, as their owner estimated them. */
    this.bytes = 0;
  }

  get count() {
    return this.list.length;
  }

  has(at) {
    return at === 0 || this.list.some((c) => c.at === at);
  }

  /** Whether a replay passing time `at` takes a checkpoint there. */
  due(at) {
    return at > 0 && at % this.spacing === 0 && !this.has(at);
  }

  /** Takes a checkpoint at `at` if one is due there: `save()` gives `{ saved, bytes, … }`. Returns it, or null. */
  take(at, save) {
    return this.due(at) ? this.add(at, save()) : null;
  }

  /**
   * Keeps `checkpoint` (`{ saved, bytes, … }`) as the one at time `at`
   * whether or not it falls on the spacing; then thins the checkpoints out
   * until they are within bounds. A second one at the same time is disposed.
   */
  add(at, checkpoint) {
    if (this.has(at)) {
      checkpoint.saved.dispose();
      return null;
    }
    const c = { ...checkpoint, at };
    let k = this.list.length;
    while (k > 0 && this.list[k - 1].at > at) k--;
    this.list.splice(k, 0, c);
    this.bytes += c.bytes;
    while (this.#over()) this.#thin();
    return this.list.includes(c) ? c : null;
  }

  #over() {
    return this.list.length > this.maxCount || (this.bytes > this.maxBytes && this.list.length > 1);
  }

  /** Doubles the spacing and disposes of the checkpoints off it (the oldest if none is). */
  #thin() {
    this.spacing *= 2;
    const before = this.list.length;
    this.#dispose((c) => c.at % this.spacing !== 0);
    // Past the byte budget with every checkpoint on the spacing: drop the oldest.
    if (this.list.length === before && this.bytes > this.maxBytes) {
      const oldest = this.list[0];
      this.#dispose((c) => c === oldest);
    }
  }

  #dispose(drop) {
    const keep = [];
    for (const c of this.list) {
      if (drop(c)) {
        c.saved.dispose();
        this.bytes -= c.bytes;
      } else keep.push(c);
    }
    this.list = keep;
  }

  /** The latest checkpoint at or before `n` that `accept` takes, the origin at worst. */
  before(n, accept = () => true) {
    let best = this.origin;
    for (const c of this.list) if (c.at <= n && c.at > best.at && accept(c)) best = c;
    return best;
  }

  /**
   * The latest checkpoint more than `near` operations after `from` and at or
   * before `n` that `accept` takes, or null. (Restoring jumps forward as well
   * as back: a heap takes back the memory it had obtained by then.)
   */
  ahead(from, n, accept = () => true) {
    let best = null;
    for (const c of this.list) if (c.at > from + this.near && c.at <= n && accept(c) && (!best || c.at > best.at)) best = c;
    return best;
  }

  /**
   * Puts the heap at time `to`. `from` is where the heap is when it can go on
   * from there (else null): forward from it, else from the latest checkpoint
   * at or before `to`. On the way it restores any later checkpoint (beyond
   * `near`), replays up to the next multiple of the spacing at a time and
   * takes the checkpoints due there. Hooks (the owner's):
   *   restore(checkpoint)   puts the heap (and its bookkeeping) at `checkpoint.at`
   *   replay(from, to)      does operations [from, to) on the heap; throws if one fails
   *   save()                `{ saved, bytes, … }` of the heap as it is now
   *   accept(checkpoint)    whether this replay may restore it (default: any)
   * Returns `to`; a hook's error stops the journey and is thrown on.
   */
  travel(to, { from = null, restore, replay, save, accept = () => true }) {
    let i;
    if (from !== null && from <= to) i = from;
    else {
      const start = this.before(to, accept);
      restore(start);
      i = start.at;
    }
    while (i < to) {
      const ahead = this.ahead(i, to, accept);
      if (ahead) {
        restore(ahead);
        i = ahead.at;
        if (i === to) break;
      }
      const next = Math.min(to, (Math.floor(i / this.spacing) + 1) * this.spacing);
      replay(i, next);
      i = next;
      this.take(i, save);
    }
    return i;
  }

  /** Disposes of the checkpoints after time `at` (a history that is gone). */
  dropAfter(at) {
    this.#dispose((c) => c.at > at);
  }

  /** Disposes of every checkpoint (not the origin: it is the owner's). */
  dispose() {
    this.dropAfter(0);
  }
}
