// The playground's replay worker: replays a long list of recorded operations
// on a wasm heap of its own (the same options as the page's) to find the
// first one that fails, posting progress as it goes, so that the page stays
// responsive while a big trace file, share link or saved work loads.
//
// Message in:   { type: "replay", ops: encodeOps(...), options }
// Messages out: { type: "progress", done, total }…, then
//               { type: "done", done, total, failedAt, message } or
//               { type: "failed", message } (the replay could not run at all)
// The page cancels a replay by terminating the worker.
import { init } from "./heaplab.js";
import { decodeOps, replayAll } from "./replay.js";

async function replay({ ops, options }) {
  await init();
  const decoded = decodeOps(ops);
  const report = replayAll(decoded, options, { onProgress: (progress) => postMessage({ type: "progress", ...progress }) });
  postMessage({ type: "done", ...report });
}

self.onmessage = ({ data }) => {
  if (data?.type !== "replay") return;
  replay(data).catch((error) => postMessage({ type: "failed", message: error?.message ?? String(error) }));
};
