// Step mode's player: shows the frames of one operation (steps.js) one at a
// time, `delay` ms apart, with pause, resume and "next event". What a frame
// looks like is the caller's (`show(frame, index, count)`); this only keeps
// time. A new operation replaces the frames still to show.
export class StepPlayer {
  /**
   * @param {object} hooks `{ show(frame|null, index, count), done?() }`
   * @param {object} [timers] `{ setTimeout, clearTimeout }` (tests pass fakes)
   */
  constructor(hooks, timers = globalThis) {
    this.hooks = hooks;
    this.timers = timers;
    this.frames = [];
    this.index = -1;
    this.delay = 800;
    this.paused = false;
    this.timer = null;
  }

  /** Starts showing `frames` from the first. */
  play(frames) {
    this.#stop();
    // The previous operation's result, if still held back, is shown first.
    if (this.holding) {
      this.frames = [];
      this.index = -1;
      this.hooks.done?.();
    }
    this.frames = frames;
    this.index = -1;
    this.#advance();
  }

  get playing() {
    return this.index >= 0 && this.index < this.frames.length - 1 && !this.paused;
  }

  /** Shows the next frame now (one event at a time); pauses the clock. */
  next() {
    this.paused = true;
    this.#stop();
    if (this.index < this.frames.length - 1) this.#show(this.index + 1);
    return this.index;
  }

  pause() {
    this.paused = true;
    this.#stop();
  }

  resume() {
    this.paused = false;
    this.#schedule();
  }

  /** Shows the last frame now (Skip): the operation's result. */
  finish() {
    this.#stop();
    if (this.frames.length && this.index < this.frames.length - 1) this.#show(this.frames.length - 1);
  }

  /** Whether an operation's frames are still being shown (its result not reached yet). */
  get holding() {
    return this.frames.length > 0 && this.index < this.frames.length - 1;
  }

  /** Clears the highlights and forgets the frames. */
  clear() {
    this.#stop();
    const held = this.holding;
    this.frames = [];
    this.index = -1;
    this.hooks.show(null, -1, 0);
    if (held) this.hooks.done?.();
  }

  #show(index) {
    this.index = index;
    this.hooks.show(this.frames[index], index, this.frames.length);
    if (index === this.frames.length - 1) this.hooks.done?.();
  }

  #advance() {
    if (this.index < this.frames.length - 1) this.#show(this.index + 1);
    this.#schedule();
  }

  #schedule() {
    this.#stop();
    if (this.paused || this.index >= this.frames.length - 1) return;
    this.timer = this.timers.setTimeout(() => {
      this.timer = null;
      this.#advance();
    }, this.delay);
  }

  #stop() {
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
  }
}
