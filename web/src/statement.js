// The console's language: a small, strict parser for C-like heap statements.
// Pure: no DOM, no heap; the console turns a parsed statement into a session call.
//
//   p = malloc(24)            p = calloc(4, 8)          p = realloc(p, 100)
//   p = aligned_alloc(64, 100)                          free(p)
//   memset(p, 0x41, 40)       strcpy(p, "hello")        check()   reset()   help
//
// and the kernel heap's calls (policy kmalloc):
//
//   k = kmalloc(64)           kfree(k)
//   c = cache_create("inode", 184)   c = cache_create("inode", 184, 64)
//   o = cache_alloc(c)        cache_free(c, o)          cache_shrink(c)
//
// Accepted besides: a trailing `;`, a C declaration before the name
// (`char *p = malloc(24);`), `NULL` / `0` as a pointer, integer literals in
// decimal or hex, and products of them (`malloc(10 * 8)`). Anything else is a
// `StatementError` whose `.column` (1-based) points at the first bad character.

/** A statement that does not parse; `.column` is 1-based. */
export class StatementError extends Error {
  constructor(column, reason) {
    super(`column ${column}: ${reason}`);
    this.name = "StatementError";
    this.code = "bad-statement";
    this.column = column;
    this.reason = reason;
  }
}

/** Statements the console understands, with one example each (for `help`). */
export const STATEMENTS = Object.freeze([
  ["p = malloc(size)", "allocate size bytes; p names the block"],
  ["p = calloc(count, size)", "allocate count × size zeroed bytes"],
  ["p = aligned_alloc(align, size)", "allocate with a payload aligned to align"],
  ["p = realloc(p, size)", "resize p's block (it may move)"],
  ["free(p)", "free p's block (also free(#3) or free(0x110008))"],
  ["memset(p, byte, count)", "write count copies of byte at p (may overflow!)"],
  ["strcpy(p, \"text\")", "write text and a NUL at p (may overflow!)"],
  ["k = kmalloc(size)", "kernel heap: an object of the kmalloc cache for size (large: pages)"],
  ["kfree(k)", "kernel heap: give back what kmalloc or cache_alloc returned"],
  ['c = cache_create("name", size)', "kernel heap: a slab cache of objects of size bytes (align: 3rd argument)"],
  ["o = cache_alloc(c)", "kernel heap: an object of cache c"],
  ["cache_free(c, o)", "kernel heap: give object o back to cache c"],
  ["cache_shrink(c)", "kernel heap: give cache c's empty slabs back to the buddy allocator"],
  ["check()", "run the heap's integrity check"],
  ["reset()", "free everything and start over"],
]);

/** Calls whose result can be assigned (a block, or a cache for cache_create). */
const ALLOCATORS = { malloc: 1, calloc: 2, aligned_alloc: 2, realloc: 2, kmalloc: 1, cache_create: 2, cache_alloc: 1 };
const MAX_INT = 2 ** 32 - 1;

function tokenize(text) {
  const tokens = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === " " || c === "\t") {
      i++;
      continue;
    }
    const start = i;
    if (/[A-Za-z_]/.test(c)) {
      while (i < text.length && /[A-Za-z0-9_]/.test(text[i])) i++;
      tokens.push({ type: "name", value: text.slice(start, i), column: start + 1 });
    } else if (/[0-9]/.test(c)) {
      while (i < text.length && /[0-9A-Za-z_]/.test(text[i])) i++;
      const raw = text.slice(start, i);
      if (!/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(raw)) throw new StatementError(start + 1, `"${raw}" is not a whole number`);
      tokens.push({ type: "number", value: Number(raw), raw, column: start + 1 });
    } else if (c === "#") {
      i++;
      while (i < text.length && /[0-9]/.test(text[i])) i++;
      if (i === start + 1) throw new StatementError(start + 1, "# must be followed by a block id, as in #3");
      tokens.push({ type: "id", value: Number(text.slice(start + 1, i)), column: start + 1 });
    } else if (c === '"') {
      i++;
      let value = "";
      while (i < text.length && text[i] !== '"') {
        if (text[i] === "\\") {
          const escape = { n: "\n", t: "\t", 0: "\0", "\\": "\\", '"': '"' }[text[i + 1]];
          if (escape === undefined) throw new StatementError(i + 1, "unknown escape (use \\n \\t \\0 \\\\ or \\\")");
          value += escape;
          i += 2;
        } else {
          value += text[i++];
        }
      }
      if (i >= text.length) throw new StatementError(start + 1, "unterminated string");
      i++;
      tokens.push({ type: "string", value, column: start + 1 });
    } else if ("=(),;*".includes(c)) {
      tokens.push({ type: c, column: start + 1 });
      i++;
    } else {
      throw new StatementError(start + 1, `unexpected "${c}"`);
    }
  }
  tokens.push({ type: "end", column: text.length + 1 });
  return tokens;
}

function describe(token) {
  if (token.type === "end") return "the end of the statement";
  if (token.type === "name" || token.type === "number") return `"${token.raw ?? token.value}"`;
  if (token.type === "string") return "a string";
  if (token.type === "id") return `#${token.value}`;
  return `"${token.type}"`;
}

/**
 * Parses one statement. Returns one of:
 *   { kind: "malloc", target, size }            { kind: "calloc", target, count, size }
 *   { kind: "aligned_alloc", target, align, size }
 *   { kind: "realloc", target, source, size }   { kind: "free", ref }
 *   { kind: "memset", ref, byte, count }        { kind: "strcpy", ref, text }
 *   { kind: "check" }  { kind: "reset" }  { kind: "help" }  { kind: "empty" }
 *   { kind: "kmalloc", target, size }           { kind: "kfree", ref }
 *   { kind: "cache_create", target, label, size, align }   (align 0: the default)
 *   { kind: "cache_alloc", target, cache }      { kind: "cache_free", cache, ref }
 * `cache` is `{ name }` (a variable bound by cache_create) or `{ index }`.
 * `target` is a variable name or null (result not kept); `ref` and `source`
 * are `{ name }`, `{ id }`, `{ address }` or `{ null: true }`.
 * @throws {StatementError}
 */
export function parseStatement(text) {
  if (typeof text !== "string") throw new StatementError(1, "a statement is text");
  if (text.length > 1000) throw new StatementError(1001, "statement too long (1000 characters at most)");
  const tokens = tokenize(text);
  let pos = 0;
  const peek = (k = 0) => tokens[Math.min(pos + k, tokens.length - 1)];
  const next = () => tokens[pos++];
  const expect = (type, what) => {
    const t = peek();
    if (t.type !== type) throw new StatementError(t.column, `expected ${what}, found ${describe(t)}`);
    return next();
  };

  if (peek().type === "end") return { kind: "empty" };
  if (peek().type === ";" && peek(1).type === "end") return { kind: "empty" };

  // `help` alone (no parentheses needed).
  if (peek().type === "name" && peek().value === "help" && (peek(1).type === "end" || peek(1).type === ";")) {
    next();
    return finish({ kind: "help" });
  }

  let target = null;
  // Assignment: [type words and stars] name = call
  const eq = tokens.findIndex((t) => t.type === "=");
  if (eq >= 0) {
    // Everything before `=` is a declaration: names and stars, the last one the variable.
    if (eq === pos) throw new StatementError(peek().column, "expected a variable name before \"=\"");
    for (let k = pos; k < eq; k++) {
      const t = tokens[k];
      if (t.type !== "name" && t.type !== "*") throw new StatementError(t.column, `expected a variable name before "=", found ${describe(t)}`);
    }
    const name = tokens[eq - 1];
    if (name.type !== "name") throw new StatementError(name.column, "expected a variable name before \"=\"");
    checkVariable(name);
    target = name.value;
    pos = eq + 1;
  }

  const fn = expect("name", "a function (malloc, calloc, realloc, aligned_alloc, free, memset, strcpy, check, reset, kmalloc, kfree, cache_create, cache_alloc, cache_free, cache_shrink)");
  const known = ["malloc", "calloc", "aligned_alloc", "realloc", "free", "memset", "strcpy", "check", "reset", ...KERNEL_CALLS];
  if (!known.includes(fn.value)) throw new StatementError(fn.column, `unknown function "${fn.value}" (try help)`);
  if (target !== null && !(fn.value in ALLOCATORS)) {
    throw new StatementError(fn.column, `${fn.value}() returns nothing to assign`);
  }
  expect("(", `"(" after ${fn.value}`);

  const size = (what) => {
    let t = expect("number", what);
    let value = t.value;
    while (peek().type === "*") {
      next();
      t = expect("number", "a whole number after \"*\"");
      value *= t.value;
    }
    if (value > MAX_INT) throw new StatementError(t.column, `${what} is too large (at most ${MAX_INT})`);
    return value;
  };
  const pointer = (what) => {
    const t = next();
    if (t.type === "name" && t.value === "NULL") return { null: true };
    if (t.type === "name") {
      checkVariable(t);
      return { name: t.value };
    }
    if (t.type === "id") return { id: t.value };
    if (t.type === "number") return t.value === 0 ? { null: true } : { address: t.value };
    throw new StatementError(t.column, `expected ${what}, found ${describe(t)}`);
  };
  const comma = () => expect(",", '","');
  const cache = () => {
    const t = next();
    if (t.type === "name") {
      checkVariable(t);
      return { name: t.value };
    }
    if (t.type === "number") return { index: t.value };
    throw new StatementError(t.column, `expected a cache (a variable from cache_create, or a cache number), found ${describe(t)}`);
  };

  let statement;
  switch (fn.value) {
    case "malloc":
      statement = { kind: "malloc", target, size: size("a size in bytes") };
      break;
    case "calloc": {
      const count = size("a count");
      comma();
      statement = { kind: "calloc", target, count, size: size("a size in bytes") };
      break;
    }
    case "aligned_alloc": {
      const align = size("an alignment");
      comma();
      statement = { kind: "aligned_alloc", target, align, size: size("a size in bytes") };
      break;
    }
    case "realloc": {
      const source = pointer("a pointer (a variable, #id, address or NULL)");
      comma();
      statement = { kind: "realloc", target, source, size: size("a size in bytes") };
      break;
    }
    case "free":
      statement = { kind: "free", ref: pointer("a pointer (a variable, #id, address or NULL)") };
      break;
    case "memset": {
      const ref = pointer("a pointer");
      comma();
      const byteToken = peek();
      const byte = size("a byte value");
      if (byte > 255) throw new StatementError(byteToken.column, "a byte is 0 to 255");
      comma();
      statement = { kind: "memset", ref, byte, count: size("a count") };
      break;
    }
    case "strcpy": {
      const ref = pointer("a pointer");
      comma();
      const t = expect("string", 'a string in double quotes');
      statement = { kind: "strcpy", ref, text: t.value };
      break;
    }
    case "kmalloc":
      statement = { kind: "kmalloc", target, size: size("a size in bytes") };
      break;
    case "kfree":
      statement = { kind: "kfree", ref: pointer("a pointer (a variable, #id, address or NULL)") };
      break;
    case "cache_create": {
      const label = expect("string", 'the cache\'s name in double quotes, as in "inode"');
      if (label.value.length === 0 || label.value.length > 24) throw new StatementError(label.column, "a cache name has 1 to 24 characters");
      comma();
      const bytes = size("an object size in bytes");
      let align = 0;
      if (peek().type === ",") {
        next();
        align = size("an alignment");
      }
      statement = { kind: "cache_create", target, label: label.value, size: bytes, align };
      break;
    }
    case "cache_alloc":
      statement = { kind: "cache_alloc", target, cache: cache() };
      break;
    case "cache_free": {
      const c = cache();
      comma();
      statement = { kind: "cache_free", cache: c, ref: pointer("a pointer (a variable, #id or address)") };
      break;
    }
    case "cache_shrink":
      statement = { kind: "cache_shrink", cache: cache() };
      break;
    default:
      statement = { kind: fn.value };
  }
  expect(")", '")"');
  return finish(statement);

  function finish(result) {
    if (peek().type === ";") next();
    const t = peek();
    if (t.type !== "end") throw new StatementError(t.column, `unexpected ${describe(t)} after the statement`);
    return result;
  }
}

/** The kernel heap's calls (policy kmalloc). */
const KERNEL_CALLS = ["kmalloc", "kfree", "cache_create", "cache_alloc", "cache_free", "cache_shrink"];

const RESERVED = new Set(["malloc", "calloc", "aligned_alloc", "realloc", "free", "memset", "strcpy", "check", "reset", "help", "NULL", "sizeof", ...KERNEL_CALLS]);

function checkVariable(token) {
  if (RESERVED.has(token.value)) throw new StatementError(token.column, `"${token.value}" cannot be a variable name`);
  if (token.value.length > 32) throw new StatementError(token.column, "variable names have at most 32 characters");
}
