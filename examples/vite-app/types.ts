// Type-checked by the package test (tsc --noEmit): the declarations shipped
// in heaplab's lib/ describe the API, the element and the trace module.
import { init, Heap, type Policy, type Stats } from "heaplab";
import { parseTrace, toJson, type Trace } from "heaplab/trace";
import type { HeapPlayground, HeapStepDetail } from "heaplab/element";

export async function typed(): Promise<number> {
  await init();
  const policy: Policy = "segregated";
  const heap = new Heap({ policy, quickLists: true });
  const p: number = heap.malloc(24);
  heap.free(p);
  const stats: Stats = heap.stats();
  const trace: Trace = parseTrace("1\n1\na 0 8\n");
  const json: string = toJson(trace);
  const element: HeapPlayground | null = document.querySelector("heap-playground");
  element?.goto(2);
  element?.addEventListener("heap-step", (event) => {
    const detail: HeapStepDetail = event.detail;
    console.log(detail.step, detail.length, json);
  });
  return stats.liveBlocks;
}
