import { describe, expect, test } from "vitest";
import { parseStatement, StatementError } from "../src/statement.js";

const bad = (text) => {
  try {
    parseStatement(text);
  } catch (error) {
    expect(error).toBeInstanceOf(StatementError);
    return error;
  }
  throw new Error(`"${text}" parsed`);
};

describe("parseStatement", () => {
  test("the four C statements", () => {
    expect(parseStatement("p = malloc(24)")).toEqual({ kind: "malloc", target: "p", size: 24 });
    expect(parseStatement("q = calloc(4, 8);")).toEqual({ kind: "calloc", target: "q", count: 4, size: 8 });
    expect(parseStatement("p = realloc(p, 100)")).toEqual({ kind: "realloc", target: "p", source: { name: "p" }, size: 100 });
    expect(parseStatement("free(p);")).toEqual({ kind: "free", ref: { name: "p" } });
  });

  test("declarations, hex, products, NULL, ids and addresses", () => {
    expect(parseStatement("char *buf = malloc(0x40)")).toEqual({ kind: "malloc", target: "buf", size: 64 });
    expect(parseStatement("  int **t=malloc(10 * 8) ; ")).toEqual({ kind: "malloc", target: "t", size: 80 });
    expect(parseStatement("p = realloc(NULL, 8)").source).toEqual({ null: true });
    expect(parseStatement("free(NULL)").ref).toEqual({ null: true });
    expect(parseStatement("free(0)").ref).toEqual({ null: true });
    expect(parseStatement("free(#3)").ref).toEqual({ id: 3 });
    expect(parseStatement("free(0x110008)").ref).toEqual({ address: 0x110008 });
    expect(parseStatement("malloc(24)")).toEqual({ kind: "malloc", target: null, size: 24 });
    expect(parseStatement("a = aligned_alloc(64, 100)")).toEqual({ kind: "aligned_alloc", target: "a", align: 64, size: 100 });
  });

  test("writes, check, reset, help, empty", () => {
    expect(parseStatement("memset(p, 0x41, 40)")).toEqual({ kind: "memset", ref: { name: "p" }, byte: 0x41, count: 40 });
    expect(parseStatement('strcpy(p, "hi\\n")')).toEqual({ kind: "strcpy", ref: { name: "p" }, text: "hi\n" });
    expect(parseStatement("check()")).toEqual({ kind: "check" });
    expect(parseStatement("reset();")).toEqual({ kind: "reset" });
    expect(parseStatement("help")).toEqual({ kind: "help" });
    expect(parseStatement("   ")).toEqual({ kind: "empty" });
  });

  test("strict: each mistake is an error at its column", () => {
    expect(bad("p = malloc(24").column).toBe(14);
    expect(bad("p = malloc(-1)").column).toBe(12);
    expect(bad("p = malloc(2.5)").reason).toMatch(/not a whole number|expected/);
    expect(bad("p = mallo(24)").reason).toMatch(/unknown function "mallo"/);
    expect(bad("p = free(q)").reason).toMatch(/returns nothing/);
    expect(bad("free(p) x").reason).toMatch(/after the statement/);
    expect(bad("free = malloc(3)").reason).toMatch(/cannot be a variable/);
    expect(bad("p = malloc(24, 8)").reason).toMatch(/expected "\)"/);
    expect(bad("p = calloc(4)").reason).toMatch(/expected ","/);
    expect(bad("memset(p, 300, 4)").reason).toMatch(/byte is 0 to 255/);
    expect(bad('strcpy(p, "abc').reason).toMatch(/unterminated/);
    expect(bad("p = malloc(99999999999)").reason).toMatch(/too large/);
    expect(bad("p == malloc(1)").column).toBe(4);
    expect(bad("p = malloc(1) $").column).toBe(15);
    expect(bad("12abc").reason).toMatch(/not a whole number/);
  });
});
