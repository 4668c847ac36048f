// The timeline's controls: the scrubber, undo / redo, play / pause with a
// speed and a progress bar, and the keys (left / right, space) anywhere
// outside the fields and the map. Playing advances the timeline once an
// animation frame by as many operations as the speed allows; at full speed,
// by the share of the trace that the frame's time is of one second (slow
// frames advance more), so any trace plays through in about a second.
/** At full speed a whole trace plays in about this many milliseconds. */
export const FULL_SPEED_MS = 1000;

import { setIconLabel } from "./icons.js";

const TYPING = new Set(["INPUT", "SELECT", "TEXTAREA", "BUTTON"]);

/** Operations to advance in one frame of `ms` milliseconds at `speed` (operations a second, or "max"). */
export function operationsPerFrame(speed, ms, total, carry = 0) {
  if (speed === "max") return { count: Math.max(1, Math.ceil((total * Math.min(ms, 100)) / FULL_SPEED_MS)), carry: 0 };
  const exact = (Number(speed) * ms) / 1000 + carry;
  const count = Math.floor(exact);
  return { count, carry: exact - count };
}

/**
 * @param {Document} doc
 * @param {import("./timeline.js").Timeline} timeline
 * @param {object} hooks `{ act(result), stepped?(from, to), stopped?() }` (`stepped` after undo / redo / a
 *   step forward; `stopped` when playing stops)
 */
export function mountTimelineControls(doc, timeline, hooks) {
  const $ = (id) => doc.getElementById(id);
  const scrubber = $("scrubber");
  const label = $("timeline-label");
  const progress = $("play-progress");
  const play = $("play-button");
  const speed = $("play-speed");
  const undo = $("undo-button");
  const redo = $("redo-button");
  let playing = false;
  let last = 0;
  let carry = 0;
  let started = 0;

  const render = () => {
    scrubber.max = String(timeline.length);
    scrubber.value = String(timeline.at);
    const op = timeline.at > 0 ? `: last ${timeline.describe(timeline.at - 1)}` : "";
    label.textContent = `${timeline.at} of ${timeline.length}${op}`;
    progress.max = Math.max(1, timeline.length);
    progress.value = timeline.at;
    undo.disabled = !timeline.canUndo;
    redo.disabled = !timeline.canRedo;
    if (play.dataset.icon !== (playing ? "pause" : "play")) setIconLabel(play, playing ? "pause" : "play", playing ? "Pause" : "Play");
    play.setAttribute("aria-pressed", String(playing));
    play.disabled = !playing && timeline.length === 0;
  };

  const go = (n, { step = false } = {}) => {
    const from = timeline.at;
    const result = timeline.goto(n);
    if (!result.ok) hooks.act(result);
    if (step) hooks.stepped?.(from, timeline.at);
    return result;
  };

  const stop = () => {
    playing = false;
    render();
    hooks.stopped?.();
  };

  const frame = (now) => {
    if (!playing) return;
    const ms = last ? now - last : 16;
    last = now;
    if (timeline.at >= timeline.length) {
      const seconds = (performance.now() - started) / 1000;
      hooks.act({ ok: true, message: `Played to the end: ${timeline.length} operations in ${seconds.toFixed(2)} s` });
      doc.body.dataset.played = String(seconds);
      stop();
      return;
    }
    const step = operationsPerFrame(speed.value, ms, timeline.length, carry);
    carry = step.carry;
    if (step.count > 0) go(timeline.at + step.count, { step: step.count === 1 && speed.value !== "max" });
    requestAnimationFrame(frame);
  };

  const toggle = () => {
    if (playing) {
      stop();
      return;
    }
    if (timeline.length === 0) return;
    if (timeline.at >= timeline.length) go(0);
    playing = true;
    last = 0;
    carry = 0;
    started = performance.now();
    delete doc.body.dataset.played;
    render();
    requestAnimationFrame(frame);
  };

  play.addEventListener("click", toggle);
  undo.addEventListener("click", () => go(timeline.at - 1, { step: true }));
  redo.addEventListener("click", () => go(timeline.at + 1, { step: true }));
  scrubber.addEventListener("input", () => {
    if (playing) stop();
    go(Number(scrubber.value));
  });
  doc.addEventListener("keydown", (event) => {
    const target = event.target;
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
    if (target && (TYPING.has(target.tagName) || target.id === "heap-map" || target.isContentEditable)) return;
    if (event.key === "ArrowLeft") go(timeline.at - 1, { step: true });
    else if (event.key === "ArrowRight") go(timeline.at + 1, { step: true });
    else if (event.key === " ") toggle();
    else return;
    event.preventDefault();
  });
  timeline.onChange(render);
  render();
  return {
    render,
    toggle,
    get playing() {
      return playing;
    },
  };
}
