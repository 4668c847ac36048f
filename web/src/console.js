// The console: C-like statements typed by the student, run on the session,
// with history (up/down) and errors inline. `History` and `runStatement` are
// pure; `mountConsole` wires the form and the log (textContent only).
import { parseStatement, STATEMENTS } from "./statement.js";
import { hex } from "./format.js";

/** Statement history with a cursor, like a shell's. */
export class History {
  constructor(limit = 200) {
    this.items = [];
    this.limit = limit;
    this.cursor = 0;
    this.draft = "";
  }

  /** Records a run statement (not repeats of the last one) and resets the cursor. */
  push(text) {
    if (text && this.items[this.items.length - 1] !== text) this.items.push(text);
    if (this.items.length > this.limit) this.items.shift();
    this.cursor = this.items.length;
    this.draft = "";
  }

  /** The older entry (`current` is the text being edited, kept as a draft). */
  up(current) {
    if (this.cursor === this.items.length) this.draft = current;
    if (this.cursor > 0) this.cursor--;
    return this.items[this.cursor] ?? current;
  }

  /** The newer entry, then the draft. */
  down() {
    if (this.cursor < this.items.length) this.cursor++;
    return this.cursor === this.items.length ? this.draft : this.items[this.cursor];
  }
}

const refText = (ref) => (ref.name ?? (ref.id !== undefined ? `#${ref.id}` : ref.address !== undefined ? hex(ref.address) : "NULL"));

/**
 * Runs one line on the session. Returns `{ ok, message, lines? }`; never throws.
 * `lines` (for help) are extra output lines.
 */
export function runStatement(session, text) {
  let st;
  try {
    st = parseStatement(text);
  } catch (error) {
    return { ok: false, code: error.code ?? "bad-statement", message: `syntax error at ${error.message}` };
  }
  switch (st.kind) {
    case "empty":
      return { ok: true, message: "" };
    case "help":
      return { ok: true, message: "Statements:", lines: STATEMENTS.map(([form, what]) => `  ${form.padEnd(32)} ${what}`) };
    case "malloc":
      return session.malloc(st.size, { name: st.target });
    case "aligned_alloc":
      return session.malloc(st.size, { align: st.align, name: st.target });
    case "calloc":
      return session.calloc(st.count, st.size, { name: st.target });
    case "realloc":
      return session.realloc(st.source.null ? null : st.source, st.size, { name: st.target });
    case "free":
      return session.free(st.ref.null ? null : st.ref);
    case "memset":
      if (st.ref.null) return { ok: false, code: "null-pointer", message: "memset(NULL, …): writing through NULL would crash" };
      // Checked before any array is built: a count beyond the heap's memory cannot be written.
      if (st.count > heapBytes(session)) {
        return { ok: false, code: "invalid-size", message: `memset of ${st.count} bytes: more than the heap's ${heapBytes(session)} bytes of memory, nothing written` };
      }
      return session.write(st.ref, 0, new Uint8Array(st.count).fill(st.byte));
    case "strcpy": {
      if (st.ref.null) return { ok: false, code: "null-pointer", message: "strcpy(NULL, …): writing through NULL would crash" };
      const bytes = new TextEncoder().encode(`${st.text}\0`);
      return session.write(st.ref, 0, bytes);
    }
    case "kmalloc":
      return session.kmalloc(st.size, { name: st.target });
    case "kfree":
      return session.kfree(st.ref.null ? null : st.ref);
    case "cache_create":
      return session.cacheCreate(st.label, st.size, st.align, { name: st.target });
    case "cache_alloc":
      return session.cacheAlloc(st.cache, { name: st.target });
    case "cache_free":
      if (st.ref.null) return { ok: false, code: "null-pointer", message: "cache_free(c, NULL): there is no object at NULL; nothing changed" };
      return session.cacheFree(st.cache, st.ref);
    case "cache_shrink":
      return session.cacheShrink(st.cache);
    case "check":
      return session.check();
    case "reset":
      return session.reset();
    default:
      return { ok: false, code: "bad-statement", message: `cannot run ${refText(st)}` };
  }
}

/** Bytes of memory the session's heap holds (the sum of its segments). */
function heapBytes(session) {
  return session.snapshot().segments.reduce((n, seg) => n + seg.bytes, 0);
}

/**
 * Wires the console form: Enter runs, ArrowUp/ArrowDown walk the history.
 * `onResult(result)` is called after each statement (for the page's status).
 */
export function mountConsole({ form, input, log }, getSession, onResult = () => {}, { gate = null } = {}) {
  const history = new History();
  const doc = form.ownerDocument;
  const line = (text, className) => {
    const div = doc.createElement("div");
    div.className = className;
    div.textContent = text;
    log.append(div);
    while (log.childElementCount > 300) log.firstElementChild.remove();
    return div;
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value;
    if (!text.trim()) return;
    history.push(text);
    line(`> ${text}`, "input");
    const result = runStatement(getSession(), text);
    // Step mode holds the answer back until its animation reaches it.
    const print = () => {
      if (result.message) line(result.ok ? result.message : `error: ${result.message}`, result.ok ? "output" : "error");
      for (const extra of result.lines ?? []) line(extra, "output");
      log.scrollTop = log.scrollHeight;
    };
    if (gate?.held()) {
      line("… (step mode: the answer comes when the animation reaches it)", "pending");
      gate.then(() => {
        log.querySelector(".pending")?.remove();
        print();
      });
    } else print();
    input.value = "";
    input.setAttribute("aria-invalid", String(!result.ok));
    log.scrollTop = log.scrollHeight;
    onResult(result, text);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowUp") {
      input.value = history.up(input.value);
      event.preventDefault();
    } else if (event.key === "ArrowDown") {
      input.value = history.down();
      event.preventDefault();
    }
  });
  return { history, line };
}
