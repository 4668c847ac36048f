// The package through a bundler: the API (init, Heap), the trace reader and
// writer, and the element, all sharing one wasm module.
import { init, Heap, POLICIES } from "heaplab";
import { parseTrace, toRep } from "heaplab/trace";
import "heaplab/element";

await init();
const heap = new Heap({ policy: "best-fit" });
const a = heap.malloc(24);
const b = heap.malloc(100);
heap.free(a);
heap.check();
document.getElementById("api").textContent = `${POLICIES.length} policies; ${heap.stats().liveBlocks} live block, #${heap.idOf(b)}`;

const trace = parseTrace("2\n3\na 0 24\na 1 48\nf 0\n");
document.getElementById("trace").textContent = toRep(trace).trim().split("\n").join(" | ");
const element = document.getElementById("element");
element.setAttribute("trace", toRep(trace));
await element.ready;
document.body.dataset.ready = "true";
