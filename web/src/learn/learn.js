// The lessons page: the list of lessons with progress, the open lesson (text,
// setup, task, answer, check), and the heap panels the learner acts on. The
// lesson is chosen by the URL's fragment (learn.html#first-fit). Text is set
// with textContent only.
import { loadHeaplab } from "../wasm.js";
import { Session } from "../session.js";
import { buildHeapPanels, mountHeapPanels } from "../embed/heap-panels.js";
import { LESSONS, lessonById, setUpLesson, setUpMachine } from "./lessons.js";
import { mountMachineView } from "../machine/view.js";
import { loadProgress, saveProgress, resetProgress } from "./progress.js";
import { onThemeChange } from "../theme.js";

const $ = (id) => document.getElementById(id);
const storage = (() => {
  try {
    return window.localStorage;
  } catch {
    return null; // storage disabled: progress lasts as long as the page
  }
})();
const known = LESSONS.map((l) => l.id);
let done = loadProgress(storage, known);
let session = null;
let panels = null;
/** The machine a machine lesson acts on (lesson.machine), and its view. */
let machine = null;
let machineView = null;
let machineBox = null;
let lesson = LESSONS[0];
let settingUp = false;

function showResult(result) {
  const box = $("lesson-result");
  box.textContent = result ? `${result.ok ? "Well done. " : "Not yet. "}${result.message}` : "";
  box.classList.toggle("ok", Boolean(result?.ok));
  box.classList.toggle("not-yet", Boolean(result && !result.ok));
}

function renderList() {
  const items = LESSONS.map((l, i) => {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = `#${l.id}`;
    a.textContent = l.title;
    if (l === lesson) a.setAttribute("aria-current", "page");
    li.append(a);
    li.dataset.lesson = l.id;
    if (done.has(l.id)) {
      li.dataset.done = "true";
      const mark = document.createElement("span");
      mark.className = "done-mark";
      mark.textContent = " ✓ done";
      li.append(mark);
    }
    li.value = i + 1;
    return li;
  });
  $("lesson-list").replaceChildren(...items);
  $("progress").textContent = `${done.size} of ${LESSONS.length} lessons done`;
}

function markDone(id) {
  if (done.has(id)) return;
  done.add(id);
  saveProgress(storage, done);
  renderList();
}

function check({ quiet = false } = {}) {
  const result = lesson.check(lesson.machine ? machine : session, $("lesson-answer").value, prepared.get(lesson.id));
  if (result.ok) {
    markDone(lesson.id);
    showResult(result);
  } else if (!quiet) {
    showResult(result);
  }
  return result;
}

/** What lessons with a `prepare` computed (lesson id -> figures), once each. */
const prepared = new Map();

function prepare(l) {
  if (!l.prepare || prepared.has(l.id)) return;
  prepared.set(l.id, null);
  l.prepare().then(
    (figures) => prepared.set(l.id, figures),
    (error) => {
      prepared.delete(l.id);
      if (lesson === l) showResult({ ok: false, message: `This lesson's figures could not be computed (${error.message}). Reload to try again.` });
    },
  );
}

function open(id, { focus = false } = {}) {
  lesson = lessonById(id) ?? LESSONS[0];
  prepare(lesson);
  $("lesson-title").textContent = lesson.title;
  const paragraphs = lesson.text.map((text) => {
    const p = document.createElement("p");
    p.textContent = text;
    return p;
  });
  if (lesson.link) {
    const p = document.createElement("p");
    const a = document.createElement("a");
    a.href = lesson.link.href;
    a.textContent = lesson.link.text;
    a.id = "lesson-link";
    p.append(a);
    paragraphs.push(p);
  }
  $("lesson-text").replaceChildren(...paragraphs);
  $("lesson-setup").textContent = lesson.machine ? ["// the machine: the kernel heap, app1 (first fit), app2 (best fit), app3 (segregated fit)", ...lesson.machine.statements].join("\n") : [describeOptions(lesson.setup.options), ...lesson.setup.statements].join("\n");
  $("lesson-task").textContent = lesson.task;
  $("answer-field").hidden = !lesson.question;
  $("answer-label").textContent = lesson.question ?? "Answer";
  $("lesson-answer").value = "";
  $("next-lesson").disabled = LESSONS.indexOf(lesson) === LESSONS.length - 1;
  document.body.dataset.lesson = lesson.id;
  document.title = `${lesson.title} · Heaplab lessons`;
  showResult(null);
  // The lesson's moment is animated (step mode), or asked first (predict mode).
  panels.steps.setStepMode(Boolean(lesson.animate));
  panels.steps.setPredictMode(Boolean(lesson.predict && !lesson.machine));
  restart();
  // After restart: a question left waiting in the last lesson's machine went with it.
  machineView.setPredictMode(Boolean(lesson.predict && lesson.machine));
  renderList();
  if (focus) $("lesson").focus();
}

function describeOptions(options) {
  const parts = Object.entries(options).map(([key, value]) => `${key}: ${value}`);
  return `// heap options: ${parts.join(", ") || "defaults"}`;
}

/** Shows the machine (for a machine lesson) or the heap panels, and sets the machine up. */
function showMachine() {
  const on = Boolean(lesson.machine);
  for (const node of $("lesson-heap").children) if (node.id !== "heap-title" && node.id !== "heap-status") node.hidden = on ? node !== machineBox : node === machineBox;
  $("heap-title").textContent = on ? "The machine" : "The heap";
  // The view lets go of the old machine (and of a question waiting on it) before it is disposed.
  if (!on) machineView.setModel(null);
  machine?.dispose();
  machine = null;
  if (!on) return;
  machine = setUpMachine(lesson);
  machineView.setModel(machine, { narration: "The machine is set up: the kernel, app1 and app2 each hold pages. Act in the console below." });
}

function restart() {
  showMachine();
  if (lesson.machine) return;
  settingUp = true;
  let result;
  try {
    result = setUpLesson(session, lesson);
  } finally {
    settingUp = false;
  }
  panels.clearLog();
  panels.changed();
  if (!result.ok) showResult(result);
}

async function start() {
  const heap = $("lesson-heap");
  try {
    await loadHeaplab();
    session = new Session();
  } catch (error) {
    $("heap-status").textContent = `Heaplab could not start: ${error.message}`;
    return;
  }
  const built = buildHeapPanels(document, { headingLevel: 3 });
  heap.append(built.nodes.map, built.nodes.console, built.nodes.stats, built.nodes.table);
  machineBox = document.createElement("div");
  machineBox.id = "lesson-machine";
  machineBox.hidden = true;
  heap.append(machineBox);
  // A machine lesson's line that solves it says so at once, as a console line does.
  machineView = mountMachineView(machineBox, { headingLevel: 3, onRun: () => check({ quiet: true }) });
  panels = mountHeapPanels(built.els, () => session, {
    host: document.body,
    onError: (error) => ($("heap-status").textContent = `could not draw the heap: ${error.message}`),
  });
  session.onChange(() => {
    panels.changed({ quiet: settingUp });
    $("heap-status").textContent = session.corruption ? `Heap corrupt: check() says ${session.corruption}. Restart the lesson to recover.` : "";
    // A lesson the learner has just solved says so at once; a wrong step says nothing until Check.
    // While the lesson animates the operation or waits for a guess, the verdict waits too.
    if (!settingUp) {
      const gate = panels.steps.gate;
      if (gate.held()) gate.then(() => check({ quiet: true }));
      else check({ quiet: true });
    }
  });
  // The map is a canvas: it redraws in the new theme's colours.
  onThemeChange(() => panels.changed());
  $("answer-form").addEventListener("submit", (event) => {
    event.preventDefault();
    check();
  });
  $("restart-lesson").addEventListener("click", () => {
    showResult(null);
    restart();
  });
  $("next-lesson").addEventListener("click", () => {
    const next = LESSONS[LESSONS.indexOf(lesson) + 1];
    if (next) location.hash = next.id;
  });
  $("reset-progress").addEventListener("click", () => {
    resetProgress(storage);
    done = new Set();
    renderList();
  });
  window.addEventListener("hashchange", () => open(location.hash.slice(1), { focus: true }));
  open(location.hash.slice(1));
  // A small handle for the end-to-end tests and the curious.
  window.heaplabDebug = {
    get session() {
      return session;
    },
    get map() {
      return panels.map;
    },
    get steps() {
      return panels.steps;
    },
    get machine() {
      return machine;
    },
  };
  document.body.dataset.ready = "true";
}

start();
