// Share and keep, on the page: the "Share link" button (the work encoded in
// the URL's fragment by share.js, or a file download when it is too long for
// a URL), opening such a URL, the last work kept in local storage across
// reloads, and "Clear saved work". Whatever is read back is validated by
// share.js; when it is not valid the page says so and starts empty. Work of
// many operations replays in the replay worker, with progress and Cancel
// (trace-panel.js's loadOps).
import { encodeWork, decodeWork, shareUrl, encodedFromHash, MAX_URL_CHARS, MAX_ENCODED_CHARS, STORAGE_KEY } from "./share.js";
import { traceText } from "./trace-files.js";
import { download, loadOps } from "./trace-panel.js";
import { needsWorker } from "./replay.js";

/** Set while saved work is being restored; found at start, it means the last restore never finished. */
export const RESTORING_KEY = "heaplab.restoring";

/** Milliseconds of quiet before the work is written to local storage. */
export const SAVE_DELAY = 400;

function storage() {
  try {
    return window.localStorage;
  } catch {
    return null; // storage disabled
  }
}

const work = (timeline) => ({ options: timeline.session.options, ops: timeline.ops, at: timeline.at });

/**
 * Restores the work from the URL (first) or local storage, then keeps saving it.
 * @param {Document} doc
 * @param {object} hooks `{ timeline(), act(result) }`
 */
export async function mountKeep(doc, hooks) {
  const $ = (id) => doc.getElementById(id);
  const status = $("saved-status");
  const store = storage();
  let timer = null;
  let saving = Promise.resolve();

  /**
   * Restores encoded work. `guard()` is called just before the page's heap is
   * replaced (after the worker's replay, for work of many operations: a
   * reload while the worker runs loses nothing). Returns "restored" (some or
   * all of it), "failed", or "cancelled" (Cancel, or another load took its place).
   */
  const load = async (encoded, where, guard = () => {}) => {
    let decoded;
    try {
      decoded = await decodeWork(encoded);
    } catch (error) {
      hooks.act({ ok: false, code: "invalid-share", message: `The ${where} could not be read (${error.message}); starting with an empty heap` });
      return "failed";
    }
    const timeline = hooks.timeline();
    const options = { ...timeline.session.options, ...decoded.options };
    if (!needsWorker(decoded.ops.length)) guard();
    const result = await loadOps(doc, timeline, decoded.ops, options, decoded.at, { beforeApply: guard });
    if (result.superseded) return "cancelled";
    if (result.cancelled) {
      const kept = where === "saved work" ? " It is still kept in this browser until you do something new (or press Clear saved work)." : "";
      hooks.act({ ok: true, message: `Restoring the ${where} was stopped: ${result.message}.${kept}` });
      return "cancelled";
    }
    hooks.act({ ...result, message: `Restored the heap from the ${where}: ${result.message}, at operation ${timeline.at}` });
    return result.ok !== false || Boolean(result.ms) ? "restored" : "failed";
  };

  // 1. A shared URL, 2. the saved work. A restore that never finished (the
  // page crashed or hung in it) leaves RESTORING_KEY behind: that saved work
  // is dropped with a message instead of being replayed again.
  const fromUrl = encodedFromHash(window.location.hash);
  let outcome = null;
  if (fromUrl !== null) outcome = await load(fromUrl, "shared link");
  if (fromUrl === null && store) {
    const saved = store.getItem(STORAGE_KEY);
    if (saved !== null && store.getItem(RESTORING_KEY) !== null) {
      store.removeItem(STORAGE_KEY);
      store.removeItem(RESTORING_KEY);
      hooks.act({ ok: false, code: "restore-failed", message: "The saved work was dropped: restoring it did not finish last time. Starting with an empty heap." });
    } else if (saved !== null) {
      const guard = () => {
        try {
          store.setItem(RESTORING_KEY, "1");
        } catch {
          // storage full or disabled: restore without the guard
        }
      };
      try {
        outcome = await load(saved, "saved work", guard);
      } finally {
        store.removeItem(RESTORING_KEY);
      }
      if (outcome === "failed") store.removeItem(STORAGE_KEY);
    }
  }
  const restored = outcome === "restored";

  const save = () => {
    timer = null;
    if (!store) return;
    const timeline = hooks.timeline();
    saving = saving.then(async () => {
      try {
        if (timeline.length === 0) {
          store.removeItem(STORAGE_KEY);
          status.textContent = "Nothing to keep yet: your work is kept in this browser as you go.";
          return;
        }
        const encoded = await encodeWork(work(timeline));
        if (encoded.length > MAX_ENCODED_CHARS) {
          status.textContent = `Too much to keep in this browser (${timeline.length} operations): export the trace to keep it.`;
          return;
        }
        store.setItem(STORAGE_KEY, encoded);
        status.textContent = `Kept in this browser: ${timeline.length} operations, at ${timeline.at}.`;
        doc.body.dataset.saved = String(timeline.at);
      } catch (error) {
        status.textContent = `Could not keep your work in this browser (${error.message}).`;
      }
    });
  };
  const schedule = () => {
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(save, SAVE_DELAY);
  };
  hooks.timeline().onChange(schedule);

  $("clear-saved").addEventListener("click", async () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    await saving;
    store?.removeItem(STORAGE_KEY);
    if (encodedFromHash(window.location.hash) !== null) history.replaceState(null, "", window.location.pathname + window.location.search);
    delete doc.body.dataset.saved;
    status.textContent = "Saved work cleared: a reload starts with an empty heap (until you do something new).";
    hooks.act({ ok: true, message: "Saved work cleared from this browser" });
  });

  $("share-button").addEventListener("click", async () => {
    const timeline = hooks.timeline();
    const field = $("share-url");
    try {
      const encoded = await encodeWork(work(timeline));
      if (encoded.length > MAX_URL_CHARS) {
        let text;
        try {
          text = traceText(timeline.ops.slice(0, timeline.at), timeline.session.options, "json");
        } catch (error) {
          if (error.code !== "cache-ops") throw error;
          hooks.act({ ok: false, code: "cache-ops", message: `Too long for a link (${timeline.length} operations make ${Math.ceil(encoded.length / 1024)} KB; a link holds ${MAX_URL_CHARS / 1024} KB), and a trace file has no slab cache operations, so it would lose this session's: nothing shared.` });
          return;
        }
        download(doc, "heaplab-trace.json", text, "application/json");
        field.value = "";
        hooks.act({
          ok: true,
          message: `Too long for a link (${timeline.length} operations make ${Math.ceil(encoded.length / 1024)} KB; a link holds ${MAX_URL_CHARS / 1024} KB): downloaded heaplab-trace.json instead. Share the file; "Open a trace" reads it.`,
        });
        return;
      }
      const url = shareUrl(window.location.href, encoded);
      field.value = url;
      field.select();
      history.replaceState(null, "", url);
      let copied = false;
      try {
        await navigator.clipboard?.writeText(url);
        copied = Boolean(navigator.clipboard);
      } catch {
        copied = false;
      }
      hooks.act({ ok: true, message: `Share link ready (${url.length} characters)${copied ? ", copied to the clipboard" : ": copy it from the field"}. Opening it restores this heap.` });
    } catch (error) {
      hooks.act({ ok: false, code: "share-failed", message: `could not make a link: ${error.message}` });
    }
  });

  return { restored, flush: () => save() };
}
