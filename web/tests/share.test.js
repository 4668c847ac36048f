// Share and keep: work (options, operations, point in time) to a compressed
// base64url string and back; everything read back is validated.
import { describe, expect, test } from "vitest";
import { encodeWork, decodeWork, workJson, parseWorkJson, shareUrl, encodedFromHash, toBase64Url, fromBase64Url, MAX_URL_CHARS, ShareError } from "../src/share.js";
import { generateWorkload } from "../src/workloads.js";
import { recordedOps } from "../src/trace-files.js";
import { init } from "../src/heaplab.js";

// The shared names and codes (POLICIES, PAGE, BLOCK, ...) come from the wasm
// module: load it before the tests are collected.
await init();

const ops = [
  { op: "malloc", id: 1, size: 24, align: 0, name: "p" },
  { op: "calloc", id: 2, count: 4, size: 8 },
  { op: "malloc", id: 3, size: 100, align: 64 },
  { op: "realloc", id: 1, size: 200, name: "q" },
  { op: "write", id: 3, offset: 2, bytes: [0, 1, 255] },
  { op: "free", id: 2 },
];
const options = { policy: "best-fit", align: 16, coalesce: "deferred", splitMin: 32, maxBytes: null };

describe("share encoding", () => {
  test("every kind of operation, the options and the point in time round-trip through the compressed string", async () => {
    const encoded = await encodeWork({ options, ops, at: 4 });
    expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(await decodeWork(encoded)).toEqual({ options, ops, at: 4 });
  });

  test("a URL carries it in the fragment; a long trace does not fit in a URL", async () => {
    const encoded = await encodeWork({ options: {}, ops });
    const url = shareUrl("http://h/some/path/?x=1#old", encoded);
    expect(url.startsWith("http://h/some/path/?x=1#work=")).toBe(true);
    expect(encodedFromHash(new URL(url).hash)).toBe(encoded);
    expect(encodedFromHash("#other=1")).toBe(null);
    const long = recordedOps(await generateWorkload("random", { seed: 1, count: 5000 }));
    expect((await encodeWork({ options: {}, ops: long })).length).toBeGreaterThan(MAX_URL_CHARS);
    const short = recordedOps(await generateWorkload("random", { seed: 1, count: 300 }));
    expect((await encodeWork({ options: {}, ops: short })).length).toBeLessThan(MAX_URL_CHARS);
  });

  test("base64url round trip of every byte value", () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(fromBase64Url(toBase64Url(bytes))).toEqual(bytes);
  });

  test("malformed input is a ShareError with a reason, never anything else", async () => {
    const bad = [
      "",
      "not base64!",
      "AAAA", // not deflate
      toBase64Url(new Uint8Array([1, 2, 3])),
      "A".repeat(9 * 1024 * 1024),
    ];
    for (const text of bad) await expect(decodeWork(text), text.slice(0, 20)).rejects.toBeInstanceOf(ShareError);
    const json = [
      "[]",
      "{}",
      '{"v":2,"ops":[]}',
      '{"v":1,"ops":[],"extra":1}',
      '{"v":1,"ops":[["m",1,24,0]],"at":5}',
      '{"v":1,"ops":[["m",0,24,0]]}',
      '{"v":1,"ops":[["m",1,-1,0]]}',
      '{"v":1,"ops":[["m",1,24,3]]}',
      '{"v":1,"ops":[["m",1,24,0,"9bad"]]}',
      '{"v":1,"ops":[["f",1,2]]}',
      '{"v":1,"ops":[["w",1,0,"xyz"]]}',
      '{"v":1,"ops":[["x",1]]}',
      '{"v":1,"ops":[],"options":{"policy":"magic"}}',
      '{"v":1,"ops":[],"options":{"align":12}}',
      '{"v":1,"ops":[],"options":{"evil":true}}',
    ];
    for (const text of json) expect(() => parseWorkJson(text), text).toThrow(ShareError);
    expect(parseWorkJson(workJson({ options: {}, ops: [] }))).toEqual({ options: {}, ops: [], at: 0 });
  });

  test("a decompression bomb stops at the size limit", async () => {
    const limit = 1 << 20;
    const big = new TextEncoder().encode(`{"v":1,"ops":[${'["f",1],'.repeat(limit / 4)}["f",1]]}`);
    const stream = new Blob([big]).stream().pipeThrough(new CompressionStream("deflate-raw"));
    const compressed = new Uint8Array(await new Response(stream).arrayBuffer());
    expect(compressed.length).toBeLessThan(limit / 50);
    await expect(decodeWork(toBase64Url(compressed), { maxJsonBytes: limit })).rejects.toThrow(/too big once decompressed/);
  });
});
