// axe-core in the page (as a11y.spec.js injects it): the violations, one line each.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

export async function axeViolations(page) {
  // Evaluated rather than added as a <script>: the pages' Content-Security-Policy forbids inline scripts.
  await page.evaluate(axeSource);
  return page.evaluate(async () => {
    const result = await window.axe.run(document);
    return result.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`);
  });
}
