// Loading the wasm heap, once, with an error a person can act on.
import { init } from "./heaplab.js";

/** Loads and instantiates the wasm module (later calls share the first load). */
export async function loadHeaplab() {
  if (typeof WebAssembly !== "object") {
    throw new Error("this browser has no WebAssembly, which Heaplab needs to run the allocator");
  }
  try {
    return await init();
  } catch (error) {
    throw new Error(`the WebAssembly module did not load (${error?.message ?? error})`);
  }
}
