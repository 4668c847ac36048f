// The playground on a production allocator (policy list → heap-factory.js →
// PeerHeap): the session's malloc, calloc, realloc, free, names and writes
// work on talc's and linked_list_allocator's own heaps with heaplab's ids,
// time travel gives back the same heap, switching policy rebuilds it from
// the trace, bad frees are refused, and the stats say what is not known.
import { describe, test, expect, beforeAll } from "vitest";
import { init } from "../src/heaplab.js";
import { Session } from "../src/session.js";
import { Timeline } from "../src/timeline.js";
import { runStatement } from "../src/console.js";
import { loadPeers } from "../src/compare/peers.js";
import { statRows, NOT_SHOWN } from "../src/stats-panel.js";
import { freeListTitle } from "../src/free-list-panel.js";

beforeAll(async () => {
  await init();
  await loadPeers();
});

describe("a session on a production allocator", () => {
  test("console statements on talc: addresses, ids, names, a zeroed calloc, a moved realloc, a refused double free", () => {
    const session = new Session({ policy: "talc" });
    for (const s of ["p = malloc(24)", "q = calloc(4, 8)", "r = malloc(100)"]) expect(runStatement(session, s).ok, s).toBe(true);
    const [p, q, r] = ["p", "q", "r"].map((n) => session.addressOf(session.names.get(n)));
    expect([session.names.get("p"), session.names.get("q"), session.names.get("r")]).toEqual([1, 2, 3]);
    expect(new Set([p, q, r]).size).toBe(3);
    expect([...session.heap.read(q, 32)].every((b) => b === 0)).toBe(true);
    expect(runStatement(session, 'strcpy(p, "hello")').ok).toBe(true);
    const grown = runStatement(session, "p = realloc(p, 5000)");
    expect(grown.ok, grown.message).toBe(true);
    const moved = session.addressOf(session.names.get("p"));
    expect(new TextDecoder().decode(session.heap.read(moved, 5))).toBe("hello");
    expect(runStatement(session, "free(q)").ok).toBe(true);
    const again = runStatement(session, "free(q)");
    expect([again.ok, again.code]).toEqual([false, "double-free"]);
    expect(session.check().ok).toBe(true);
    const s = session.snapshot().stats;
    expect([s.liveBlocks, s.liveRequested]).toEqual([2, 5100]);
    const rows = Object.fromEntries(statRows(s).map(([k, , v]) => [k, v]));
    expect(rows.lastExamined).toBe(NOT_SHOWN);
    expect(rows.externalFragmentation).toBe(NOT_SHOWN);
    expect(rows.blocks).toBe(`2 used; free ones ${NOT_SHOWN}`);
    expect(freeListTitle(session.freeLists())).toBe("Free lists: kept inside this allocator, not shown");
    session.dispose();
  });

  test("time travel and a policy switch rebuild the same allocations; linked_list_allocator shows its hole list", () => {
    const session = new Session({ policy: "linked_list_allocator" });
    const timeline = new Timeline(session);
    for (let i = 0; i < 40; i++) expect(runStatement(session, `b${i} = malloc(${16 + ((i * 37) % 200)})`).ok).toBe(true);
    for (let i = 0; i < 40; i += 3) expect(runStatement(session, `free(b${i})`).ok).toBe(true);
    const end = session.trace.length;
    const at = (n) => {
      expect(timeline.goto(n).ok).toBe(true);
      return Array.from(session.snapshot().blocks);
    };
    const middle = at(30);
    const last = at(end);
    expect(at(30)).toEqual(middle);
    expect(at(end)).toEqual(last);
    const holes = session.freeLists().lists[0].blocks;
    expect(holes.length).toBeGreaterThan(5);
    // To rlsf and back: the trace is replayed on each.
    expect(timeline.setOptions({ policy: "rlsf" }).ok).toBe(true);
    expect(session.snapshot().stats.liveBlocks).toBe(40 - 14);
    expect(timeline.setOptions({ policy: "first-fit" }).ok).toBe(true);
    expect(session.snapshot().stats.liveBlocks).toBe(40 - 14);
    session.dispose();
  });

  test("an address no allocation starts at is refused with invalid-free", () => {
    const session = new Session({ policy: "dlmalloc" });
    const p = runStatement(session, "p = malloc(64)");
    const result = session.free({ address: p.address + 8 });
    expect(result.ok).toBe(false);
    expect(result.code).toBe("invalid-free");
    session.dispose();
  });
});
