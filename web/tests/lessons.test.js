// The lessons on the real wasm heap: for each one, its scripted correct answer
// passes the check and a scripted wrong one fails; progress storage validates.
import { beforeAll, describe, expect, test } from "vitest";
import { init } from "../src/heaplab.js";
import { Session } from "../src/session.js";
import { LESSONS, setUpLesson, runScript, blocksOf, parseAddress, lessonById, setUpMachine } from "../src/learn/lessons.js";
import { loadProgress, saveProgress, resetProgress, PROGRESS_KEY } from "../src/learn/progress.js";

beforeAll(async () => {
  await init();
});

async function attempt(lesson, script) {
  if (lesson.machine) return attemptMachine(lesson, script);
  const prepared = lesson.prepare ? await lesson.prepare() : undefined;
  const session = new Session();
  const setup = setUpLesson(session, lesson);
  expect(setup.ok, setup.message).toBe(true);
  const before = session.check();
  expect(before.ok, `${lesson.id}: setup leaves a consistent heap`).toBe(true);
  const unanswered = lesson.check(session, "", prepared);
  runScript(session, script.statements);
  const result = lesson.check(session, script.answer ? script.answer(session, prepared) : "", prepared);
  session.dispose();
  return { unanswered, result };
}

/** As `attempt`, for a lesson that acts on the machine (kernel heap and application heaps). */
function attemptMachine(lesson, script) {
  const machine = setUpMachine(lesson);
  expect(machine.run("check").ok, `${lesson.id}: setup leaves a consistent machine`).toBe(true);
  const unanswered = lesson.check(machine, "");
  for (const statement of script.statements) machine.run(statement);
  const result = lesson.check(machine, script.answer ? script.answer(machine) : "");
  machine.dispose();
  return { unanswered, result };
}

describe("lessons", () => {
  test("cover the classic text in order, with unique ids", () => {
    expect(LESSONS.map((l) => l.id)).toEqual([
      "pages", "first-fit", "splitting", "coalescing", "deferred", "fragmentation",
      "best-fit", "next-fit", "list-order", "worst-fit", "segregated", "quick-lists", "alignment", "realloc", "toy-vs-production", "overflow",
      "buddy", "slab", "kernel-and-apps",
    ]);
    for (const l of LESSONS) {
      expect(l.title && l.task && l.text.length, l.id).toBeTruthy();
      expect(typeof l.check, l.id).toBe("function");
    }
  });

  for (const lesson of LESSONS) {
    test(`${lesson.id}: the setup alone does not pass; the solution passes; the mistake fails`, async () => {
      const good = await attempt(lesson, lesson.solve);
      expect(good.unanswered.ok, `${lesson.id} before acting: ${good.unanswered.message}`).toBe(false);
      expect(good.result.ok, `${lesson.id} solution: ${good.result.message}`).toBe(true);
      expect(good.result.message.length).toBeGreaterThan(20);
      const bad = await attempt(lesson, lesson.mistake);
      expect(bad.result.ok, `${lesson.id} mistake: ${bad.result.message}`).toBe(false);
    });
  }

  test("setups that fill the heap leave no free space at its end", () => {
    for (const id of ["deferred", "fragmentation", "worst-fit"]) {
      const session = new Session();
      setUpLesson(session, lessonById(id));
      const last = blocksOf(session).at(-1);
      expect(last.used, `${id}: the last block is fill`).toBe(true);
      session.dispose();
    }
  });

  test("toy vs production: figures computed from the preset's runs; names as typed; unknown names and a pending computation explained", async () => {
    const lesson = lessonById("toy-vs-production");
    const rows = await lesson.prepare();
    expect(rows.map((r) => r.policy)).toEqual(["first-fit", "best-fit", "segregated", "talc", "dlmalloc"]);
    // The production allocators' rows are theirs (spans differ from the fits'), not copies.
    expect(new Set(rows.map((r) => r.peakHeap)).size).toBeGreaterThan(1);
    const session = new Session();
    setUpLesson(session, lesson);
    const best = rows.reduce((a, b) => (b.utilization > a.utilization ? b : a)).policy;
    expect(lesson.check(session, `  ${best.toUpperCase()} `, rows).ok).toBe(true);
    expect(lesson.check(session, "first fit", rows).message).toMatch(best === "first-fit" ? /^Yes/ : /first-fit kept .* Another policy kept more/);
    expect(lesson.check(session, "jemalloc", rows).message).toContain('"jemalloc" is not one of the five');
    expect(lesson.check(session, best, undefined).message).toContain("still being computed");
    session.dispose();
  }, 60_000);

  test("the kernel and applications: app2's pages go back, the answer is the last merge's order, wrong moves explained", () => {
    const lesson = lessonById("kernel-and-apps");
    const m = setUpMachine(lesson);
    const pages = m.snapshot().blocks.filter((b) => b.owner === "app2").reduce((n, b) => n + b.pages, 0);
    m.run("app2: free(q)");
    expect(lesson.check(m, "").message).toMatch(/app2 still has 1 block in use/);
    const freed = m.run("app2: free(r)");
    expect(freed.returned).toBe(pages);
    const order = freed.events.filter((e) => e.kind === "buddy-merge").at(-1).order;
    expect(lesson.check(m, "").message).toMatch(`gave its ${pages} pages back`);
    expect(lesson.check(m, "seven").message).toMatch(/not an order/);
    expect(lesson.check(m, String(order - 1)).message).toMatch(`Not order ${order - 1}`);
    const right = lesson.check(m, `order ${order}`);
    expect(right.ok).toBe(true);
    expect(right.message).toMatch(/merging stopped there because its buddy \(pages \d+-\d+\) is not free(: page \d+ is held by (app1|kernel|the buddy allocator's own map)| as one block)/);
    m.run("app1: free(p)");
    expect(lesson.check(m, String(order)).message).toMatch(/only app2 is to free/);
    m.dispose();
  });

  test("first fit: the header answer accepts hex with or without 0x and decimal", () => {
    expect(parseAddress("0x141000")).toBe(0x141000);
    expect(parseAddress("141a00")).toBe(0x141a00);
    expect(parseAddress("1314816")).toBe(1314816);
    expect(parseAddress("p")).toBe(null);
    expect(parseAddress("")).toBe(null);
  });
});

describe("progress", () => {
  const memory = () => {
    const data = new Map();
    return { getItem: (k) => (data.has(k) ? data.get(k) : null), setItem: (k, v) => data.set(k, String(v)), removeItem: (k) => data.delete(k), data };
  };
  const known = LESSONS.map((l) => l.id);

  test("round-trips finished lessons and resets", () => {
    const s = memory();
    expect(saveProgress(s, new Set(["pages", "realloc"]))).toBe(true);
    expect([...loadProgress(s, known)]).toEqual(["pages", "realloc"]);
    resetProgress(s);
    expect(loadProgress(s, known).size).toBe(0);
  });

  test("validates what it reads: bad JSON, wrong shape or version, unknown ids", () => {
    const s = memory();
    for (const bad of ["{", "42", "null", '{"version":2,"done":["pages"]}', '{"version":1,"done":"pages"}', "[]"]) {
      s.setItem(PROGRESS_KEY, bad);
      expect(loadProgress(s, known).size, bad).toBe(0);
    }
    s.setItem(PROGRESS_KEY, '{"version":1,"done":["pages",7,"nope","overflow",{"x":1}]}');
    expect([...loadProgress(s, known)]).toEqual(["pages", "overflow"]);
  });

  test("a storage that throws is survived", () => {
    const broken = { getItem() { throw new Error("denied"); }, setItem() { throw new Error("quota"); }, removeItem() { throw new Error("denied"); } };
    expect(loadProgress(broken, known).size).toBe(0);
    expect(saveProgress(broken, new Set(["pages"]))).toBe(false);
    expect(() => resetProgress(broken)).not.toThrow();
  });
});
