// Finds the Chromium that the end-to-end tests drive: $HEAPLAB_CHROMIUM (or
// $CHROMIUM_PATH), then `chromium` / `chromium-browser` / `google-chrome` on
// PATH, then /usr/bin/chromium. There is no silent skip: without one, the
// tests fail with a message saying how to get one.
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

const NAMES = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];

function executable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function findChromium(env = process.env) {
  const fromEnv = env.HEAPLAB_CHROMIUM || env.CHROMIUM_PATH;
  if (fromEnv) {
    if (executable(fromEnv)) return fromEnv;
    throw new Error(`HEAPLAB_CHROMIUM is set to ${fromEnv}, which is not an executable file`);
  }
  for (const dir of (env.PATH ?? "").split(delimiter).filter(Boolean)) {
    for (const name of NAMES) if (executable(join(dir, name))) return join(dir, name);
  }
  if (executable("/usr/bin/chromium")) return "/usr/bin/chromium";
  throw new Error(
    "No Chromium found for the end-to-end tests. Install one (Debian: `sudo apt-get install -y chromium`, " +
      "which `bash .ci/run` does for you) or set HEAPLAB_CHROMIUM=/path/to/chromium.",
  );
}

/** Launch flags that matter on these machines (closed network, root, no GPU). */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
