// The machine page: the machine view over a fresh machine (the kernel heap
// and two application heaps), with a few statements already run so that the
// first look shows owners, and a button that starts it again.
import { loadHeaplab } from "../wasm.js";
import { MachineModel } from "./model.js";
import { mountMachineView } from "./view.js";

/** What the machine runs at start. */
export const START = ["kernel: k = kmalloc(64)", "app1: p = malloc(24)", "app2: q = malloc(3000)"];
const EXAMPLES = ["app2: free(q)", "app1: r = malloc(20000)", "app3: s = malloc(100)", "kernel: i = kmalloc(184)", "app1: free(p)"];

const container = document.getElementById("machine-view");
const view = mountMachineView(container, { examples: EXAMPLES });

const predict = document.getElementById("predict-mode");

function reset() {
  const old = view.model;
  view.setModel(new MachineModel());
  old?.dispose();
  // The starting lines are the setting, not questions.
  view.setPredictMode(false);
  for (const line of START) view.run(line);
  view.setPredictMode(predict.checked);
  view.els.narration.textContent = "The kernel took a one-page slab for kmalloc(64); app1 and app2 each took a buddy block of 8 pages on their first malloc; app3 (segregated fit) holds no page until it allocates. Try app2: free(q): app2 frees its last block.";
}

async function start() {
  try {
    await loadHeaplab();
  } catch (error) {
    view.els.narration.textContent = `Heaplab could not start: ${error.message}`;
    return;
  }
  reset();
  document.getElementById("reset").addEventListener("click", reset);
  predict.addEventListener("change", () => view.setPredictMode(predict.checked));
  // A small handle for the end-to-end tests and the curious.
  window.heaplabMachine = {
    get model() {
      return view.model;
    },
    run: (line) => view.run(line),
    answer: (value) => view.answer(value),
  };
  document.body.dataset.ready = "true";
}

start();
