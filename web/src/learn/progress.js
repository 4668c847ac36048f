// Lesson progress, kept in localStorage under one key and validated on read:
// anything that is not `{ version: 1, done: [known lesson ids] }` counts as no
// progress (a hand-edited or stale value never breaks the page). Pure apart
// from the storage handed in (any object with getItem/setItem/removeItem).

export const PROGRESS_KEY = "heaplab.lessons.v1";

/** The ids of finished lessons: a Set of the ids in `known` found in storage. */
export function loadProgress(storage, known) {
  let value;
  try {
    value = JSON.parse(storage?.getItem(PROGRESS_KEY) ?? "null");
  } catch {
    return new Set();
  }
  if (!value || typeof value !== "object" || value.version !== 1 || !Array.isArray(value.done)) return new Set();
  const ids = new Set(known);
  return new Set(value.done.filter((id) => typeof id === "string" && ids.has(id)));
}

/** Writes the finished ids; returns false when the storage refuses (private mode, quota). */
export function saveProgress(storage, done) {
  try {
    storage.setItem(PROGRESS_KEY, JSON.stringify({ version: 1, done: [...done] }));
    return true;
  } catch {
    return false;
  }
}

/** Forgets all progress. */
export function resetProgress(storage) {
  try {
    storage.removeItem(PROGRESS_KEY);
  } catch {
    // Nothing stored, nothing to forget.
  }
}
