// The lessons on the real wasm heap: for each one, its scripted correct answer
// passes the check and a scripted wrong one fails; progress storage validates.
import { beforeAll, describe, expect, test } from "vitest";
import { init } from "../src/heaplab.js";
import { Session } from "../src/session.js";
import { LESSONS, setUpLesson, runScript, blocksOf, parseAddress, lessonById, setUpMachine, runMachineScript } from "../src/learn/lessons.js";
import { runPredicted } from "../src/machine/predict.js";
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
  runMachineScript(machine, script);
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

  test("the kernel and applications: predict mode asks the order before app2's last free, judges it, wrong moves explained", () => {
    const lesson = lessonById("kernel-and-apps");
    expect(lesson.predict).toBe(true);
    expect(lesson.question).toBeUndefined();
    const m = setUpMachine(lesson);
    const pages = m.snapshot().blocks.filter((b) => b.owner === "app2").reduce((n, b) => n + b.pages, 0);
    const asked = [];
    const ask = (question) => {
      asked.push(question);
      return question.answer - 1;
    };
    // Freeing q moves no page: no question.
    runPredicted(m, "app2: free(q)", ask);
    expect(asked).toEqual([]);
    expect(lesson.check(m, "").message).toMatch(/app2 still has 1 block in use/);
    const freed = runPredicted(m, "app2: free(r)", ask);
    expect(freed.returned).toBe(pages);
    const [question] = asked;
    const order = freed.events.filter((e) => e.kind === "buddy-merge").at(-1).order;
    expect(question).toMatchObject({ kind: "merge", heap: "app2", answer: order });
    expect(question.text).toMatch(`app2 gives ${pages} pages back: page `);
    expect(question.options[0]).toEqual({ value: 3, label: "order 3: no merge" });
    expect(question.options.map((o) => o.value)).toContain(order);
    // A wrong prediction fails, says the answer and why the merging stopped.
    const wrong = lesson.check(m, "");
    expect(wrong.ok).toBe(false);
    expect(wrong.message).toMatch(`Not quite: the buddies merged 1 time, into one free block of order ${order}`);
    expect(wrong.message).toMatch(/It stopped there because its buddy \(pages \d+-\d+\) is not free(: page \d+ is held by (app1|kernel|the buddy allocator's own map)| as one block)/);
    m.dispose();
    // Unpredicted (predict mode skipped): asked to restart and predict.
    const plain = setUpMachine(lesson);
    plain.run("app2: free(q)");
    plain.run("app2: free(r)");
    expect(lesson.check(plain, "").message).toMatch(/before you predicted/);
    plain.run("app1: free(p)");
    expect(lesson.check(plain, "").message).toMatch(/only app2 is to free/);
    plain.dispose();
    // The right prediction passes.
    const good = setUpMachine(lesson);
    runMachineScript(good, lesson.solve);
    const right = lesson.check(good, "");
    expect(right.ok).toBe(true);
    expect(right.message).toMatch(`Right: the buddies merged 1 time, into one free block of order ${order}`);
    good.dispose();
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
