// The package as a Node user sees it: `import { init, Heap } from "heaplab"`
// (a package self-reference), a heap of each policy, random operations, and
// after every operation a check through the views that no two live blocks
// overlap and that every live payload is where malloc said.
// Usage: node web/tests/node/random-ops.mjs [operations=100000] [seed=1]
import { init, Heap, BLOCK, BLOCK_FLAG, POLICIES } from "heaplab";

const operations = Number(process.argv[2] ?? 100_000);
let seed = Number(process.argv[3] ?? 1);
function random() {
  // xorshift32: deterministic, so a failure can be replayed from its seed.
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 2 ** 32;
}

function checkViews(heap, live) {
  const blocks = heap.blocks();
  let end = 0;
  let used = 0;
  for (let i = 0; i < blocks.length; i += BLOCK.COLUMNS) {
    const address = blocks[i + BLOCK.ADDRESS];
    if (address < end) throw new Error(`block ${address} overlaps the previous one (ends ${end})`);
    end = address + blocks[i + BLOCK.SIZE];
    if (blocks[i + BLOCK.FLAGS] & BLOCK_FLAG.USED) {
      used++;
      const payload = blocks[i + BLOCK.PAYLOAD];
      if (live.get(payload) !== blocks[i + BLOCK.REQUESTED]) throw new Error(`block at ${payload} is not a live allocation`);
      if (payload + blocks[i + BLOCK.REQUESTED] > end) throw new Error(`payload at ${payload} runs past its block`);
    }
  }
  if (used !== live.size) throw new Error(`${used} used blocks, ${live.size} live allocations`);
}

await init();
const report = {};
for (const policy of process.env.POLICIES?.split(",") ?? POLICIES) {
  const heap = new Heap({ policy });
  const live = new Map(); // payload address -> requested size
  const addresses = []; // the same addresses, for picking one at random
  const pick = () => {
    const i = Math.floor(random() * addresses.length);
    const address = addresses[i];
    addresses[i] = addresses[addresses.length - 1];
    addresses.pop();
    live.delete(address);
    return address;
  };
  const add = (address, size) => {
    live.set(address, size);
    addresses.push(address);
  };
  const started = performance.now();
  for (let op = 0; op < operations; op++) {
    if (addresses.length && random() < 0.45) {
      heap.free(pick());
    } else if (addresses.length && random() < 0.1) {
      const size = 1 + Math.floor(random() * 2000);
      add(heap.realloc(pick(), size), size);
    } else {
      const size = random() < 0.02 ? 70_000 + Math.floor(random() * 100_000) : 1 + Math.floor(random() * 512);
      add(heap.malloc(size), size);
    }
    if (op % 97 === 0 || op === operations - 1) checkViews(heap, live);
  }
  heap.check();
  report[policy] = { operations, ms: Math.round(performance.now() - started), heapBytes: heap.stats().heapBytes };
  heap.dispose();
}
console.log(JSON.stringify(report));
