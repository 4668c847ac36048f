// Type declarations of heaplab/element (web/src/embed/heap-playground.js):
// importing it registers the custom element <heap-playground>. Its attributes
// and what each means: docs/embedding.md.

/** The `detail` of a "heap-step" event: the step shown and the trace's length. */
export interface HeapStepDetail {
  step: number;
  length: number;
}

/** A live heap in the page: `<heap-playground policy="best-fit" trace="traces/a.rep">`. */
export declare class HeapPlayground extends HTMLElement {
  /** Resolves once the heap and its trace are loaded, or once loading failed (then `dataset.ready` is "error"). */
  readonly ready: Promise<HeapPlayground>;
  /** Operations in the trace: the last step. */
  readonly length: number;
  /** The step shown: the heap after this many operations. Setting it moves there. */
  step: number;
  /** The theme shown, "light" or "dark"; setting it sets the `theme` attribute ("light", "dark" or "auto"). */
  theme: string;
  /** Shows the heap after `n` operations (clamped to 0 … length). */
  goto(n: number): void;
  /** The same as `goto(n)`. */
  goTo(n: number): void;
  /** Plays the trace from the current step to the end, one step every PLAY_INTERVAL ms (from step 0 when at the end). */
  play(): void;
  /** Stops playing. */
  pause(): void;
}

/** Milliseconds between steps when playing. */
export declare const PLAY_INTERVAL: number;

declare global {
  interface HTMLElementTagNameMap {
    "heap-playground": HeapPlayground;
  }
  interface HTMLElementEventMap {
    "heap-step": CustomEvent<HeapStepDetail>;
  }
}
