// The machine as the page sees it: one buddy allocator (wasm `RawMachine`)
// under the kernel heap and named application heaps, driven by console
// lines such as `app1: p = malloc(24)`, `kernel: k = kmalloc(64)`,
// `app2: free(q)`. Pure logic over the wasm object: no DOM. Every run
// returns `{ ok, message, steps }` and never throws.
import { RawMachine } from "../../pkg/heaplab.js";
import { hex, formatBytes } from "../format.js";

export const PAGE_SIZE = 4096;

/** The application heaps a machine starts with (beside the kernel's), each with a policy of its own. */
export const DEFAULT_HEAPS = Object.freeze([
  { name: "app1", policy: "first-fit" },
  { name: "app2", policy: "best-fit" },
  { name: "app3", policy: "segregated" },
]);

/** The owner column of the buddy block table (see `RawMachine.buddyBlocks`). */
const OWNER_FREE = 0;
const OWNER_KERNEL = 1;
const OWNER_HEAP = 2;
const OWNER_BUDDY = 0xffff;

/** What the console accepts, for `help` and error messages: [form, what it does]. */
export const MACHINE_STATEMENTS = Object.freeze([
  ["app1: p = malloc(24)", "allocate 24 bytes in application heap app1, name the block p"],
  ["app1: free(p)", "free p in app1 (its last block: app1 gives its pages back)"],
  ["kernel: k = kmalloc(64)", "allocate a 64-byte object in the kernel heap (slab caches)"],
  ["kernel: kfree(k)", "free a kernel object"],
  ["free(p)", "free p in the heap it came from"],
  ["check", "run the integrity walk of the whole machine"],
  ["help", "list these statements"],
]);

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Parses one console line into `{ heap, kind, target?, size?, ref? }`, or
 * `{ error }` with a message a person can act on. Kinds: empty, help,
 * check, malloc, kmalloc, free, kfree. `heap` is the name before the colon
 * (null when there is none). Pure.
 */
export function parseMachineLine(text) {
  const line = String(text ?? "").trim().replace(/;\s*$/, "");
  if (line === "") return { kind: "empty", heap: null };
  let heap = null;
  let rest = line;
  const colon = /^([A-Za-z_][A-Za-z0-9_-]*)\s*:\s*(.*)$/.exec(line);
  if (colon) {
    heap = colon[1];
    rest = colon[2];
  }
  if (/^help(\(\))?$/.test(rest)) return { kind: "help", heap };
  if (/^check(\(\))?$/.test(rest)) return { kind: "check", heap };
  const call = /^(?:([A-Za-z_][A-Za-z0-9_]*)\s*=\s*)?([A-Za-z_]+)\s*\(\s*([^()]*?)\s*\)$/.exec(rest);
  if (!call) return { error: `cannot read "${line}": write heap: p = malloc(24), heap: free(p) or help` };
  const [, target, fn, arg] = call;
  if (fn === "malloc" || fn === "kmalloc") {
    if (!target) return { error: `${fn} returns an address: name it, as in ${heap ?? (fn === "kmalloc" ? "kernel" : "app1")}: p = ${fn}(${arg || 24})` };
    if (!/^\d+$/.test(arg)) return { error: `${fn} takes a size in bytes, a whole number: ${fn}(24), not ${fn}(${arg})` };
    return { kind: fn, heap, target, size: Number(arg) };
  }
  if (fn === "free" || fn === "kfree") {
    if (target) return { error: `${fn} returns nothing: write ${fn}(${arg}), without "${target} ="` };
    if (IDENT.test(arg)) return { kind: fn, heap, ref: { name: arg } };
    if (/^0x[0-9a-f]+$/i.test(arg)) return { kind: fn, heap, ref: { address: Number.parseInt(arg, 16) } };
    return { error: `${fn} takes a block's name or address: ${fn}(p) or ${fn}(0x12000)` };
  }
  return { error: `unknown function ${fn}: the machine knows malloc and free (application heaps), kmalloc and kfree (the kernel)` };
}

/** "order 3 (8 pages)". */
export const orderText = (order) => `order ${order} (${2 ** order} page${order === 0 ? "" : "s"})`;

/**
 * Sentences for the buddy allocator's events of one operation (`events.buddy`
 * of `lastEvents()`), in order; `who(addr)` names who got a block. Pure.
 */
export function narrateBuddy(events, who = () => "") {
  const lines = [];
  for (const e of events) {
    switch (e.kind) {
      case "buddy-split":
        lines.push(`split the free block at ${hex(e.addr)}, ${orderText(e.order)}, into two buddies of order ${e.order - 1}`);
        break;
      case "buddy-alloc": {
        const to = who(e.addr);
        lines.push(`handed out ${orderText(e.order)} at ${hex(e.addr)}${to ? ` to ${to}` : ""}`);
        break;
      }
      case "buddy-free":
        lines.push(`took back ${orderText(e.order)} at ${hex(e.addr)}`);
        break;
      case "buddy-merge":
        lines.push(`merged the buddies at ${hex(Math.min(e.addr, e.with))} and ${hex(Math.max(e.addr, e.with))} into one block of ${orderText(e.order)}`);
        break;
      default:
        break;
    }
  }
  return lines;
}

/** The message of a wasm error (`error.code` set by the bindings). */
const codeOf = (error) => error?.code ?? "error";

/**
 * The whole machine: `run(line)` drives it, `snapshot()` describes it for
 * the views. `heaps` are the application heaps to create.
 */
export class MachineModel {
  constructor({ bytes = 0, heaps = DEFAULT_HEAPS } = {}) {
    this.raw = new RawMachine(bytes);
    /** Application heaps by name: { index, name, policy }. */
    this.apps = new Map();
    for (const { name, policy } of heaps) this.apps.set(name, { index: this.raw.addHeap(name, policy), name, policy });
    /** Named blocks: name -> { heap, address, size, live }. */
    this.vars = new Map();
    /** Listeners called after every run. */
    this.listeners = [];
    /** The results of the lines run, in order (what a lesson checks). */
    this.history = [];
  }

  /** The heap names the console accepts: "kernel" and the application heaps. */
  heapNames() {
    return ["kernel", ...this.apps.keys()];
  }

  onChange(listener) {
    this.listeners.push(listener);
  }

  /** Frees the wasm object. */
  dispose() {
    this.raw.free();
  }

  /** The name of who holds the buddy block at `addr` (for narration). */
  ownerName(addr) {
    return this.raw.ownerOf(addr);
  }

  /**
   * Runs one console line; never throws. The result: `{ ok, message, steps, line }`, and
   * `kind`, `heap`, `events` (the buddy allocator's), `returned` (pages a free gave back),
   * `code` (of an error), `lines` (help) when they apply.
   */
  run(text) {
    let result;
    try {
      result = this.#run(text);
    } catch (error) {
      result = { ok: false, message: `the machine refused: ${error?.message ?? error}` };
    }
    result.steps ??= [];
    result.line = String(text ?? "").trim();
    if (result.line && result.kind !== "help") {
      this.history.push(result);
      for (const listener of this.listeners) listener(result);
    }
    return result;
  }

  #unknownHeap(name) {
    return { ok: false, message: `no heap is named ${name}: the heaps are ${this.heapNames().join(", ")}` };
  }

  #run(text) {
    const st = parseMachineLine(text);
    if (st.error) return { ok: false, message: st.error };
    if (st.kind === "empty") return { ok: true, message: "", kind: "empty" };
    if (st.kind === "help") return { ok: true, kind: "help", message: "Statements (start with the heap's name and a colon):", lines: MACHINE_STATEMENTS.map(([f, w]) => `  ${f.padEnd(26)} ${w}`) };
    if (st.heap !== null && st.heap !== "kernel" && !this.apps.has(st.heap)) return this.#unknownHeap(st.heap);
    if (st.kind === "check") {
      try {
        this.raw.check();
        return { ok: true, message: "check: the buddy allocator, the kernel heap and every application heap are consistent; no two heaps share a page" };
      } catch (error) {
        return { ok: false, message: `check failed: ${error.message}` };
      }
    }
    if (st.kind === "malloc" || st.kind === "kmalloc") return this.#allocate(st);
    return this.#free(st);
  }

  #allocate(st) {
    const kernel = st.kind === "kmalloc";
    const heap = st.heap ?? (kernel ? "kernel" : null);
    if (heap === null) return { ok: false, message: `which heap? Start with its name: ${[...this.apps.keys()].map((h) => `${h}: ${st.target} = malloc(${st.size})`).join(" or ")}` };
    if (kernel && heap !== "kernel") return { ok: false, message: `kmalloc is the kernel's allocator: kernel: ${st.target} = kmalloc(${st.size}). ${heap} has malloc: ${heap}: ${st.target} = malloc(${st.size})` };
    if (!kernel && heap === "kernel") return { ok: false, message: `the kernel heap has no malloc: kernel: ${st.target} = kmalloc(${st.size})` };
    const old = this.vars.get(st.target);
    if (old?.live) return { ok: false, message: `${st.target} still holds a block of ${old.heap} at ${hex(old.address)}: free it first, or pick another name` };
    let address;
    try {
      address = kernel ? this.raw.kmalloc(st.size) : this.raw.malloc(this.apps.get(heap).index, st.size);
    } catch (error) {
      const code = codeOf(error);
      if (code === "out-of-memory") return { ok: false, code, message: `${heap}: out of memory: the buddy allocator has no free block large enough for ${formatBytes(st.size)}${kernel ? "" : " and the heap's own bookkeeping"}` };
      if (code === "invalid-size") return { ok: false, code, message: `${heap}: ${st.size} bytes is no size ${kernel ? "kmalloc" : "malloc"} can serve (${error.message})` };
      return { ok: false, code, message: `${heap}: ${error.message}` };
    }
    this.vars.set(st.target, { heap, address, size: st.size, live: true });
    const events = this.#events().buddy;
    const steps = narrateBuddy(events, (a) => this.ownerName(a));
    const from = steps.length ? `; it took pages from the buddy allocator` : "; no new pages were needed";
    return { ok: true, kind: st.kind, heap, message: `${heap}: ${st.target} = ${hex(address)} (${formatBytes(st.size)})${from}`, steps, events };
  }

  #free(st) {
    const kernel = st.kind === "kfree";
    let name = st.ref.name ?? null;
    let entry = name ? this.vars.get(name) : [...this.vars.values()].find((v) => v.address === st.ref.address && v.live);
    if (name && !entry) return { ok: false, message: `${name} is not a block name here: allocate it first (app1: ${name} = malloc(24))` };
    if (!name && entry) name = [...this.vars.entries()].find(([, v]) => v === entry)[0];
    const heap = st.heap ?? entry?.heap ?? (kernel ? "kernel" : null);
    if (heap === null) return { ok: false, message: `which heap? Start with its name: app1: free(${hex(st.ref.address)})` };
    if (kernel && heap !== "kernel") return { ok: false, message: `kfree frees kernel objects; ${heap} has free: ${heap}: free(${name ?? hex(st.ref.address)})` };
    if (!kernel && heap === "kernel") return { ok: false, message: `the kernel heap frees with kfree: kernel: kfree(${name ?? hex(st.ref.address)})` };
    const label = name ?? hex(st.ref.address);
    if (entry && !entry.live) return { ok: false, code: "double-free", message: `double free: ${label} (${hex(entry.address)}) was already freed; ${entry.heap} did nothing` };
    if (entry && entry.heap !== heap) return { ok: false, code: "invalid-free", message: `${label} came from ${entry.heap}, not ${heap}: ${heap} would not know it (${entry.heap}: free(${label}))` };
    const address = entry?.address ?? st.ref.address;
    let returned = 0;
    try {
      if (kernel) this.raw.kfree(address);
      else returned = this.raw.heapFree(this.apps.get(heap).index, address);
    } catch (error) {
      const code = codeOf(error);
      const what = code === "double-free" ? "double free" : code === "interior-pointer" ? "not the start of a block" : "not a block of this heap";
      return { ok: false, code, message: `${heap}: free(${label}) refused: ${what} (${error.message})` };
    }
    if (entry) entry.live = false;
    const events = this.#events().buddy;
    const steps = narrateBuddy(events, (a) => this.ownerName(a));
    const gave = returned > 0 ? `; that was its last block, so ${heap} gave its ${returned} page${returned === 1 ? "" : "s"} back to the buddy allocator` : steps.length ? "; a slab went back to the buddy allocator" : "";
    return { ok: true, kind: st.kind, heap, returned, message: `${heap}: freed ${label} (${hex(address)})${gave}`, steps, events };
  }

  #events() {
    try {
      return this.raw.lastEvents();
    } catch {
      return { buddy: [], heap: [] };
    }
  }

  /**
   * The machine as plain data: `{ blocks, heaps, slabs, stats, base, pages, metaPages }`;
   * `blocks` are the buddy blocks `{ address, order, pages, index, free, owner, cache }` with
   * `owner` "free", "buddy" (the buddy allocator's own map, at page 0), "kernel" or an
   * application heap's name, and `index` the first page's index from the buddy allocator's base.
   */
  snapshot() {
    const stats = this.raw.stats();
    const heaps = this.raw.heaps();
    const names = new Map(heaps.map((h) => [h.index, h.name]));
    const table = this.raw.buddyBlocks().slice();
    const slabs = this.raw.kernelSlabs();
    const base = table.length ? table[0] : 0;
    const blocks = [];
    for (let i = 0; i < table.length; i += 5) {
      const [address, order, free, who, cache] = table.subarray(i, i + 5);
      const owner = who === OWNER_FREE ? "free" : who === OWNER_KERNEL ? "kernel" : who === OWNER_BUDDY ? "buddy" : (names.get(who - OWNER_HEAP) ?? "?");
      const slab = cache ? slabs.find((s) => s.address === address) : null;
      blocks.push({ address, order, pages: 2 ** order, index: (address - base) / PAGE_SIZE, free: free === 1, owner, cache: slab?.cache ?? (owner === "kernel" ? "kmalloc large" : null) });
    }
    for (const h of heaps) {
      const rows = this.raw.heapBlocks(h.index);
      h.blocks = [];
      for (let i = 0; i < rows.length; i += 5) {
        const payload = rows[i + 4];
        h.blocks.push({ address: rows[i], size: rows[i + 1], used: rows[i + 2] === 1, requested: rows[i + 3], payload, name: rows[i + 2] === 1 ? this.#nameAt(h.name, payload) : null });
      }
    }
    for (const s of slabs) s.names = [...this.vars.entries()].filter(([, v]) => v.live && v.heap === "kernel" && v.address >= s.address && v.address < s.address + PAGE_SIZE * 2 ** s.order).map(([n]) => n);
    return { blocks, heaps, slabs, stats, base, pages: stats.buddy.pages, metaPages: stats.buddy.metaPages };
  }

  /** The name of the live block of `heap` whose payload is at `payload`. */
  #nameAt(heap, payload) {
    for (const [name, v] of this.vars) if (v.live && v.heap === heap && v.address === payload) return name;
    return null;
  }
}
