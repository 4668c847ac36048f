// The players' clocks, with fake timers: step mode's StepPlayer and the
// timeline's operations per frame.
import { describe, expect, test } from "vitest";
import { StepPlayer } from "../src/step-player.js";
import { operationsPerFrame, FULL_SPEED_MS } from "../src/timeline-controls.js";

function fakeTimers() {
  const pending = new Map();
  let next = 1;
  return {
    setTimeout: (fn, ms) => (pending.set(next, { fn, ms }), next++),
    clearTimeout: (id) => pending.delete(id),
    tick() {
      const [id, { fn }] = pending.entries().next().value;
      pending.delete(id);
      fn();
    },
    get count() {
      return pending.size;
    },
  };
}

describe("StepPlayer", () => {
  const frames = ["a", "b", "c"].map((caption) => ({ caption, marks: [] }));

  test("shows one frame per tick, `delay` apart, and stops at the last", () => {
    const timers = fakeTimers();
    const shown = [];
    const player = new StepPlayer({ show: (f, i, n) => shown.push(f ? `${i + 1}/${n} ${f.caption}` : "clear") }, timers);
    player.delay = 123;
    player.play(frames);
    expect(shown).toEqual(["1/3 a"]);
    timers.tick();
    timers.tick();
    expect(shown).toEqual(["1/3 a", "2/3 b", "3/3 c"]);
    expect(timers.count).toBe(0);
    player.clear();
    expect(shown.at(-1)).toBe("clear");
  });

  test("pause stops the clock; next shows one event at a time; resume goes on; a new operation replaces the frames", () => {
    const timers = fakeTimers();
    const shown = [];
    const player = new StepPlayer({ show: (f) => f && shown.push(f.caption) }, timers);
    player.pause();
    player.play(frames);
    expect(timers.count).toBe(0);
    expect(player.next()).toBe(1);
    expect(shown).toEqual(["a", "b"]);
    player.resume();
    timers.tick();
    expect(shown).toEqual(["a", "b", "c"]);
    player.play([{ caption: "x", marks: [] }]);
    expect(shown.at(-1)).toBe("x");
    expect(player.next()).toBe(0); // nothing after the last
  });
});

describe("operationsPerFrame", () => {
  test("a fixed speed carries fractions over; full speed plays any trace in about a second", () => {
    let carry = 0;
    let total = 0;
    for (let i = 0; i < 60; i++) {
      const step = operationsPerFrame("10", 1000 / 60, 1000, carry);
      carry = step.carry;
      total += step.count;
    }
    expect(total).toBe(10);
    const frame = operationsPerFrame("max", 16, 100_000);
    expect(frame.count).toBe(Math.ceil((100_000 * 16) / FULL_SPEED_MS));
    expect(operationsPerFrame("max", 5000, 100).count).toBe(10); // a stalled frame advances at most a tenth
  });
});
