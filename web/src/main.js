// The playground: wires the controls, the heap and the renderers together.
import { init, Heap, BLOCK, BLOCK_FLAG } from "./heaplab.js";
import { drawHeapMap, COLORS, LEGEND } from "./heap-map.js";
import { blockAt } from "./layout.js";
import { renderBlockTable, hex } from "./block-table.js";

const $ = (selector) => document.querySelector(selector);
const canvas = $("#heap-map");
const message = $("#message");
let heap = null;
let layout = null;

function say(text, isError = false) {
  message.textContent = text;
  message.classList.toggle("error", isError);
}

function render() {
  // Views into wasm memory are re-read every frame: any call may have grown memory.
  const state = { segments: heap.segments(), pages: heap.pages(), blocks: heap.blocks() };
  layout = drawHeapMap(canvas, state);
  renderBlockTable($("#block-list tbody"), state.blocks);
}

/** Runs one heap operation; an error becomes a visible message, never an exception. */
function act(operation, describe) {
  try {
    const result = operation();
    say(describe(result));
  } catch (error) {
    say(`${error.message}${error.code ? ` (${error.code})` : ""}`, true);
  }
  render();
}

function renderLegend() {
  const items = LEGEND.map(([key, label]) => {
    const li = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = COLORS[key];
    li.append(swatch, document.createTextNode(label));
    return li;
  });
  $("#legend").replaceChildren(...items);
}

$("#alloc-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const size = Number($("#alloc-size").value);
  act(() => heap.malloc(size), (address) => `malloc(${size}) returned ${hex(address)}`);
});

$("#reset-button").addEventListener("click", () => act(() => heap.reset(), () => "Heap reset"));

canvas.addEventListener("click", (event) => {
  if (!layout) return;
  const rect = canvas.getBoundingClientRect();
  const address = layout.addressAt(event.clientX - rect.left, event.clientY - rect.top);
  if (address === null) return;
  const blocks = heap.blocks();
  const index = blockAt(blocks, BLOCK.COLUMNS, address);
  if (index < 0) return;
  const row = index * BLOCK.COLUMNS;
  if (!(blocks[row + BLOCK.FLAGS] & BLOCK_FLAG.USED)) {
    say(`The block at ${hex(blocks[row])} is free`);
    return;
  }
  const payload = blocks[row + BLOCK.PAYLOAD];
  act(() => heap.free(payload), () => `free(${hex(payload)})`);
});

// A small handle for the console and the end-to-end tests.
window.heaplabDebug = {
  get heap() {
    return heap;
  },
  /** Canvas coordinates (CSS pixels) of the middle of the byte at `address`. */
  pointOf(address) {
    const r = layout?.rects(address, address + 1)[0];
    return r ? { x: r.x + r.w / 2, y: r.y + r.h / 2 } : null;
  },
};

new ResizeObserver(() => heap && render()).observe(canvas);

async function start() {
  renderLegend();
  try {
    await init();
    heap = new Heap();
    render();
    document.body.dataset.ready = "true";
  } catch (error) {
    say(`Heaplab could not start: ${error.message}`, true);
  }
}

start();
