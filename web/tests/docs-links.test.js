// The README is the front door: under 250 lines, and every link in it (and
// in the changelog, docs/ and the crate's README) to a file of the
// repository leads to one, a #fragment to a heading of that file.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, test } from "vitest";

const root = resolve(import.meta.dirname, "../..");

function markdownUnder(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? markdownUnder(join(dir, e.name)) : e.name.endsWith(".md") ? [join(dir, e.name)] : []));
}

const FILES = [join(root, "README.md"), join(root, "CHANGELOG.md"), join(root, "crate", "README.md"), ...markdownUnder(join(root, "docs"))];

/** Markdown text without fenced code blocks and inline code (links there are examples, not links). */
function prose(text) {
  return text.replace(/^```[\s\S]*?^```/gm, "").replace(/`[^`\n]*`/g, "");
}

/** Every link target of `[text](target)` and `![alt](target)`. */
export function linkTargets(text) {
  return [...prose(text).matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1]);
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
export function slug(heading) {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

function anchors(file) {
  return new Set([...prose(readFileSync(file, "utf8")).matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) => slug(m[1])));
}

describe("docs links", () => {
  test("the helpers read links and make GitHub's anchors", () => {
    expect(linkTargets("[a](b.md) `[c](d.md)` ![e](f.png)\n```\n[g](h.md)\n```\n[i](https://x.org)")).toEqual(["b.md", "f.png", "https://x.org"]);
    expect(slug("Learn and embed")).toBe("learn-and-embed");
    expect(slug("Replaying malloc-lab traces")).toBe("replaying-malloc-lab-traces");
    expect(slug("Methods, properties, events")).toBe("methods-properties-events");
  });

  test("README.md is under 250 lines and links to docs/, the changelog and the crate's README", () => {
    const readme = readFileSync(join(root, "README.md"), "utf8");
    expect(readme.split("\n").length).toBeLessThan(250);
    const targets = linkTargets(readme);
    for (const wanted of ["docs/embedding.md", "docs/using.md", "docs/api.md", "docs/benchmarks.md", "docs/testing.md", "docs/architecture.md", "CHANGELOG.md", "crate/README.md"]) {
      expect(targets, wanted).toContain(wanted);
    }
  });

  for (const file of FILES) {
    test(`every link in ${relative(root, file)} to the repository leads somewhere`, () => {
      const broken = [];
      for (const target of linkTargets(readFileSync(file, "utf8"))) {
        if (/^[a-z]+:/i.test(target)) continue; // https:, mailto:
        const [path, fragment] = target.split("#");
        const to = path ? resolve(dirname(file), decodeURIComponent(path)) : file;
        if (!existsSync(to)) broken.push(`${target}: no such file`);
        else if (fragment && to.endsWith(".md") && !anchors(to).has(fragment)) broken.push(`${target}: no heading #${fragment}`);
      }
      expect(broken).toEqual([]);
    });
  }
});
