// Type declarations of heaplab/trace (web/src/trace.js): reading and writing
// malloc-lab `.rep` traces and Heaplab JSON traces.
import type { HeapOptions } from "./heaplab.js";

/** One operation of a trace: allocate, reallocate or free the block of `id` (ids may be reused after a free). */
export type TraceOp = { op: "a"; id: number; size: number } | { op: "r"; id: number; size: number } | { op: "f"; id: number };

/** A trace as `parseTrace` returns it. */
export interface Trace {
  ops: TraceOp[];
  /** How many ids the trace uses (0 … ids - 1). */
  ids: number;
  /** "short" (ids, ops), "classic" (heap size, ids, ops, weight) or "json". */
  header: string;
  /** What error messages call the trace. */
  name: string;
  /** Heap options a JSON trace carries. */
  options?: HeapOptions;
}

/** A malformed trace: `.line` is 1-based, the message is `name:line: reason`. */
export declare class TraceError extends Error {
  readonly code: "malformed-trace";
  readonly trace: string;
  readonly line: number;
  readonly reason: string;
}

/** Reads a `.rep` (either header) or Heaplab JSON trace. Needs `await init()` of "heaplab" first. Throws a TraceError at the first bad line. */
export declare function parseTrace(text: string | Uint8Array | ArrayBuffer, options?: { name?: string }): Trace;

/** Writes a trace in the malloc-lab `.rep` format. */
export declare function toRep(trace: { ops: TraceOp[]; ids?: number }, options?: { header?: "short" | "classic" }): string;

/** Writes a trace in the Heaplab JSON format (operation i on text line i + 1). */
export declare function toJson(trace: { ops: TraceOp[]; ids?: number; options?: HeapOptions }): string;

/** The reader's limits: operations, size of one request, bytes of text. */
export declare function traceLimits(): { maxOps: number; maxSize: number; maxBytes: number };
