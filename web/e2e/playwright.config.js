// End-to-end tests in headless Chromium (Debian's package, driven by Playwright)
// against the built site in dist/, served by a plain static server under a
// sub-path, as any static host would.
import { defineConfig } from "@playwright/test";
import { fileURLToPath } from "node:url";
import { dirname, resolve } from "node:path";
import { findChromium, CHROMIUM_ARGS } from "../../scripts/chromium.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const port = Number(process.env.HEAPLAB_E2E_PORT ?? 4180);
export const SUB_PATH = "/some/sub/path/";

export default defineConfig({
  testDir: ".",
  outputDir: resolve(root, "test-results/e2e"),
  timeout: 60_000,
  fullyParallel: false,
  workers: 1,
  // Under CI a failed test runs once more; one that then passes is reported as
  // flaky (and named again in scripts/test.mjs's summary), not as a red run.
  retries: process.env.CI ? 1 : 0,
  reporter: [["list"]],
  use: {
    baseURL: `http://127.0.0.1:${port}${SUB_PATH}`,
    launchOptions: { executablePath: findChromium(), args: CHROMIUM_ARGS },
    viewport: { width: 1200, height: 900 },
  },
  webServer: {
    command: `node scripts/static-server.mjs dist --port ${port} --prefix ${SUB_PATH}`,
    cwd: root,
    url: `http://127.0.0.1:${port}${SUB_PATH}`,
    reuseExistingServer: false,
    timeout: 30_000,
  },
});
