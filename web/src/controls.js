// The controls: operation forms (malloc, calloc, realloc, free, reset, check,
// flush)
// and the heap options (policy, alignment, coalescing, split minimum, memory
// limit), which rebuild the heap by replaying the session's trace. Every
// handler turns its outcome into a result for `act`, which shows it.
import { POLICY_NAMES } from "./session.js";
import { PEERS, isPeer } from "./compare/peers.js";
import { KMALLOC } from "./heaplab.js";
import { KERNEL_DEFAULT_BYTES } from "./kernel.js";

/** Memory limits offered: `[bytes or "", label]`. */
export const MEMORY_LIMITS = [
  ["", "256 MiB (default)"],
  [64 * 1024, "64 KiB"],
  [256 * 1024, "256 KiB"],
  [1024 * 1024, "1 MiB"],
  [4 * 1024 * 1024, "4 MiB"],
  [16 * 1024 * 1024, "16 MiB"],
  [64 * 1024 * 1024, "64 MiB"],
  [1024 * 1024 * 1024, "1 GiB"],
];

/**
 * The memory limits offered under `policy`: MEMORY_LIMITS, but the kernel
 * heap (kmalloc) manages 64 MiB of pages by default and at most that, so
 * under kmalloc the default says 64 MiB and no larger limit is offered.
 */
export function limitChoices(policy) {
  if (policy !== KMALLOC) return MEMORY_LIMITS;
  const mib = KERNEL_DEFAULT_BYTES / (1024 * 1024);
  return [["", `${mib} MiB (default for kmalloc)`], ...MEMORY_LIMITS.filter(([bytes]) => bytes !== "" && bytes < KERNEL_DEFAULT_BYTES)];
}

/** The limit the field shows for `options`: under kmalloc a limit of 64 MiB or more is the default (the kernel heap uses 64 MiB). */
export function shownLimit(options) {
  const { policy, maxBytes } = options;
  if (maxBytes === null || (policy === KMALLOC && maxBytes >= KERNEL_DEFAULT_BYTES)) return "";
  return String(maxBytes);
}

/** The free-list orders offered (malloc.py's -l), `[value, label]`; "" is the policy's own. */
export const LIST_ORDER_CHOICES = [
  ["", "the policy's own"],
  ["address", "address order"],
  ["lifo", "LIFO (insert at front)"],
  ["fifo", "FIFO (insert at back)"],
  ["size-asc", "size, smallest first"],
  ["size-desc", "size, largest first"],
];

/** A form field's number: NaN for empty or non-numeric text (the heap reports it). */
export function fieldNumber(text) {
  const trimmed = String(text).trim();
  if (trimmed === "") return Number.NaN;
  return /^0x[0-9a-f]+$/i.test(trimmed) ? Number(trimmed) : Number(trimmed);
}

/** The options the form shows, as session options (null for the default limit, 256 MiB). */
export function readOptions(values) {
  return {
    policy: values.policy,
    align: Number(values.align),
    coalesce: values.coalesce,
    splitMin: fieldNumber(values.splitMin),
    maxBytes: values.maxBytes === "" ? null : Number(values.maxBytes),
    listOrder: values.listOrder === "" || values.listOrder === undefined || values.policy === "segregated" ? null : values.listOrder,
    quickLists: values.quickLists === "on",
  };
}

function option(doc, value, label) {
  const o = doc.createElement("option");
  o.value = String(value);
  o.textContent = label;
  return o;
}

/**
 * @param {Document} doc
 * @param {object} hooks `{ session(), act(result), setOptions?(changes) -> result }`
 *   (`setOptions` defaults to the session's; the timeline's keeps the operations after the present)
 */
export function mountControls(doc, hooks) {
  const $ = (id) => doc.getElementById(id);
  const submit = (id, handler) =>
    $(id).addEventListener("submit", (event) => {
      event.preventDefault();
      hooks.act(handler());
    });
  const name = (input) => {
    const text = input.value.trim();
    return text === "" ? null : text;
  };
  const validName = (text) => text === null || /^[A-Za-z_][A-Za-z0-9_]{0,31}$/.test(text);

  submit("alloc-form", () => {
    const variable = name($("alloc-name"));
    if (!validName(variable)) return { ok: false, code: "invalid-name", message: `"${variable}" is not a variable name (letters, digits, _)` };
    return hooks.session().malloc(fieldNumber($("alloc-size").value), { align: Number($("alloc-align").value), name: variable });
  });
  submit("calloc-form", () => hooks.session().calloc(fieldNumber($("calloc-count").value), fieldNumber($("calloc-size").value)));
  submit("realloc-form", () => {
    const ref = $("realloc-ref").value.trim();
    if (!ref) return { ok: false, code: "unknown-block", message: "realloc: name the block (#id or variable)" };
    return hooks.session().realloc(ref, fieldNumber($("realloc-size").value));
  });
  submit("free-form", () => {
    const ref = $("free-ref").value.trim();
    if (!ref) return { ok: false, code: "unknown-block", message: "free: name the block (#id or variable)" };
    return hooks.session().free(ref);
  });
  $("reset-button").addEventListener("click", () => hooks.act(hooks.session().reset()));
  $("check-button").addEventListener("click", () => hooks.act(hooks.session().check()));
  $("flush-button").addEventListener("click", () => hooks.act(hooks.session().flush()));

  // Heap options.
  const policy = $("opt-policy");
  // The fits, then the production allocators, in a group of their own: each
  // the real crate in its own wasm module, with its own layout (the heap
  // options below are the fits'; a production allocator keeps its own).
  const fits = doc.createElement("optgroup");
  fits.label = "Textbook fits (Heaplab)";
  fits.append(...POLICY_NAMES.map((p) => option(doc, p, p)));
  const production = doc.createElement("optgroup");
  production.label = "Production allocators";
  production.append(...PEERS.map((p) => option(doc, p.key, `${p.key} (production)`)));
  // The kernel heap: slab caches and kmalloc over a buddy page allocator.
  const kernel = doc.createElement("optgroup");
  kernel.label = "Kernel heap (Heaplab)";
  kernel.append(option(doc, KMALLOC, "kmalloc (slab caches + buddy pages)"));
  policy.replaceChildren(fits, kernel, production);
  const limit = $("opt-limit");
  const listOrder = $("opt-list-order");
  listOrder.replaceChildren(...LIST_ORDER_CHOICES.map(([value, label]) => option(doc, value, label)));
  const fields = { policy, align: $("opt-align"), coalesce: $("opt-coalesce"), splitMin: $("opt-split"), maxBytes: limit, listOrder, quickLists: $("opt-quick") };

  const show = (options) => {
    fields.policy.value = options.policy;
    fields.align.value = String(options.align);
    fields.coalesce.value = options.coalesce;
    fields.splitMin.value = String(options.splitMin);
    limit.replaceChildren(...limitChoices(options.policy).map(([bytes, label]) => option(doc, bytes, label)));
    fields.maxBytes.value = shownLimit(options);
    fields.listOrder.value = options.listOrder ?? "";
    fields.quickLists.value = options.quickLists ? "on" : "off";
    // Segregated fit keeps one list per size class: no order to choose.
    fields.listOrder.disabled = options.policy === "segregated";
    // A production allocator, and the kernel heap, have their own alignment, splitting and lists.
    const peer = isPeer(options.policy) || options.policy === KMALLOC;
    for (const key of ["align", "coalesce", "splitMin", "listOrder", "quickLists"]) fields[key].disabled = peer || (key === "listOrder" && options.policy === "segregated");
  };
  show(hooks.session().options);

  const apply = () => {
    const values = Object.fromEntries(Object.entries(fields).map(([k, el]) => [k, el.value]));
    const session = hooks.session();
    const wanted = readOptions(values);
    const same = Object.entries(wanted).every(([k, v]) => Object.is(session.options[k], v));
    if (same) return; // nothing changed (e.g. Enter after a change already applied)
    const result = hooks.setOptions ? hooks.setOptions(wanted) : session.setOptions(wanted);
    if (result.code && !result.failed) show(session.options); // rejected: show what is in force
    else show(hooks.session().options); // applied: the fields that apply to the new policy
    hooks.act(result);
  };
  for (const el of Object.values(fields)) el.addEventListener("change", apply);
  $("options-form").addEventListener("submit", (event) => {
    event.preventDefault();
    apply();
  });
  return { show };
}
