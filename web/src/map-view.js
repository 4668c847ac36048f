// The heap map on the page: a scrolling viewport over a virtual map (only the
// visible band is drawn, on a canvas the size of the viewport), zoom, hover
// tooltip, and keyboard focus that moves between blocks. Draws at most once a
// frame and only when something changed (data, scroll, size, zoom, focus).
import { computeLayout, blockAt, clampBytesPerRow, fitBytesPerRow, MIN_BYTES_PER_ROW, MAX_BYTES_PER_ROW } from "./layout.js";
import { drawHeapMap, COLORS, MARK_STYLES } from "./heap-map.js";
import { computeBlockLayout, fitBlockZoom, MIN_BLOCK_ZOOM, MAX_BLOCK_ZOOM } from "./block-layout.js";
import { drawBlockView } from "./block-view.js";
import { computeKernelLayout, drawKernelView } from "./kernel-view.js";
import { blockInfo, blockCount, describeBlock, announceBlock } from "./blocks.js";
import { formatBytes } from "./format.js";
import { PAGE_SIZE } from "./heaplab.js";

/**
 * The viewport's height: the whole map when short, else what the window
 * leaves below the map's top (so that the controls above it, the caption and
 * the map fit on one screen), 220–760 px.
 */
function viewHeightFor(layout, scroller, limit = null) {
  const top = scroller?.getBoundingClientRect?.().top ?? 0;
  const room = window.innerHeight - Math.max(0, Math.min(top + (window.scrollY || 0), window.innerHeight * 0.45)) - 24;
  const maxHeight = limit ?? Math.max(220, Math.min(Math.round(room), 760));
  return Math.min(maxHeight, Math.max(layout.height + (layout.view === "blocks" ? 60 : 0), 120));
}

export class MapView {
  /**
   * @param {object} els `{ scroller, canvas, spacer, tooltip, announcer, zoomLabel }`
   * @param {object} hooks `{ snapshot(), ids(payload) -> {id,label}|null, onSelect(info|null), onFree(info) }`;
   *   optional `maxHeight()`: the most pixels the viewport may take (an embed of fixed height), or null for the window's room
   */
  constructor(els, hooks) {
    this.els = els;
    this.hooks = hooks;
    this.bytesPerRow = PAGE_SIZE / 4; // address view: 1 KiB a row
    /** "blocks" (each block a labelled box, the free list drawn) or "address" (every byte its width). */
    this.view = "blocks";
    /** The block view's zoom: a factor on every box width. */
    this.blockZoom = 1;
    this.layout = null;
    this.layoutKey = "";
    this.focusAddress = null; // the focused block, by header address (survives changes)
    this.hover = -1;
    this.frames = 0;
    this.lastDraw = null;
    this.scheduled = false;
    this.pointer = null;
    /** Step mode's highlights, drawn over the blocks. */
    this.marks = [];
    /** What a click on a block does: "free" it, or "select" it (for the hex view). */
    this.clickAction = "select";

    const { scroller, canvas } = els;
    scroller.addEventListener("scroll", () => this.invalidate(), { passive: true });
    new ResizeObserver(() => this.invalidate()).observe(scroller);
    canvas.addEventListener("mousemove", (e) => this.#onMove(e));
    canvas.addEventListener("mouseleave", () => {
      this.hover = -1;
      this.pointer = null;
      this.#hideTooltip();
      this.invalidate();
    });
    canvas.addEventListener("click", (e) => this.#onClick(e));
    canvas.addEventListener("dblclick", (e) => this.#onDoubleClick(e));
    canvas.addEventListener("keydown", (e) => this.#onKey(e));
    canvas.addEventListener("blur", () => this.#hideTooltip());
    canvas.addEventListener(
      "wheel",
      (e) => {
        if (!e.ctrlKey) return;
        e.preventDefault();
        // Anchored on the pointer: the byte under it stays under it.
        const address = this.#pointAddress(e);
        const rect = this.els.canvas.getBoundingClientRect();
        this.zoom(e.deltaY < 0 ? 0.5 : 2, address === null ? null : { address, offset: e.clientY - rect.top });
      },
      { passive: false },
    );
  }

  /** Asks for a redraw on the next animation frame (at most one per frame). */
  invalidate() {
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => {
      this.scheduled = false;
      try {
        this.draw();
      } catch (error) {
        this.hooks.onError?.(error);
      }
    });
  }

  /** The geometry for the current data, width and zoom (recomputed only when one changed). */
  #relayout(snap) {
    const width = this.els.scroller.clientWidth || 800;
    if (this.view === "blocks" && snap.kernel) {
      // The kernel heap (policy kmalloc): buddy blocks, slabs and their objects.
      const key = `k:${snap.version}:${width}`;
      if (key !== this.layoutKey) {
        this.layout = computeKernelLayout(snap, { width });
        this.layoutKey = key;
      }
      return this.layout;
    }
    if (this.view === "blocks") {
      const key = `b:${snap.version}:${width}:${this.blockZoom}`;
      if (key !== this.layoutKey) {
        this.layout = computeBlockLayout(snap, { width, zoom: this.blockZoom });
        this.layoutKey = key;
      }
      return this.layout;
    }
    const heapBytes = snap.segments.reduce((n, s) => n + s.bytes, 0);
    this.bytesPerRow = clampBytesPerRow(this.bytesPerRow, heapBytes);
    const key = `${snap.version}:${width}:${this.bytesPerRow}:${snap.segments.length}`;
    if (key !== this.layoutKey) {
      this.layout = computeLayout(snap.segments, { width, bytesPerRow: this.bytesPerRow });
      this.layoutKey = key;
    }
    return this.layout;
  }

  /** Draws now; returns the time it took in ms. */
  draw() {
    const t0 = performance.now();
    if (this.pendingReveal !== null && this.pendingReveal !== undefined) {
      const address = this.pendingReveal;
      this.pendingReveal = null;
      this.#revealNow(address);
    }
    const snap = this.hooks.snapshot();
    const layout = this.#relayout(snap);
    const { scroller, canvas, spacer } = this.els;
    const viewHeight = viewHeightFor(layout, scroller, this.hooks.maxHeight?.() ?? null);
    if (scroller.style.height !== `${viewHeight}px`) scroller.style.height = `${viewHeight}px`;
    spacer.style.height = `${Math.max(0, layout.height - viewHeight)}px`;
    const width = layout.width;
    const dpr = window.devicePixelRatio || 1;
    const pxW = Math.round(width * dpr);
    const pxH = Math.round(viewHeight * dpr);
    if (canvas.width !== pxW || canvas.height !== pxH) {
      canvas.width = pxW;
      canvas.height = pxH;
      canvas.style.width = `${width}px`;
      canvas.style.height = `${viewHeight}px`;
    }
    const top = Math.min(scroller.scrollTop, Math.max(0, layout.height - viewHeight));
    const ctx = canvas.getContext("2d");
    const focus = this.focusIndex(snap);
    const view = {
      top,
      height: viewHeight,
      width,
      dpr,
      focus,
      hover: this.hover,
      marks: this.marks,
      label: (payload) => this.hooks.ids(payload)?.label ?? "",
    };
    const result =
      layout.view === "kernel"
        ? drawKernelView(ctx, layout, snap, { ...view, colors: this.colors(), markColor: (role) => MARK_STYLES[role]?.color })
        : layout.view === "blocks"
        ? drawBlockView(ctx, layout, snap, { ...view, freeLists: this.hooks.freeLists?.(snap) ?? null, colors: this.colors() })
        : drawHeapMap(ctx, layout, snap, view);
    this.frames++;
    this.top = top;
    this.viewHeight = viewHeight;
    this.#updateZoomLabel(layout);
    this.lastDraw = { ms: performance.now() - t0, ...result };
    return this.lastDraw.ms;
  }

  /** The colours the map draws with (the page's theme when it has one). */
  colors() {
    this.lastDrawColors = this.hooks.colors?.() ?? COLORS;
    return this.lastDrawColors;
  }

  #updateZoomLabel(layout) {
    const bpp = layout.bytesPerPixel;
    const text =
      layout.view === "kernel"
        ? "Kernel heap: one row per block of the buddy allocator; a slab shows each object"
        : layout.view === "blocks"
        ? `Block view ×${layout.zoom.toFixed(2).replace(/\.?0+$/, "")}: box widths grow with log(size)`
        : `${formatBytes(layout.bytesPerRow)} per row, ${bpp >= 10 ? Math.round(bpp) : bpp.toFixed(2)} bytes per pixel`;
    if (this.els.zoomLabel.textContent !== text) this.els.zoomLabel.textContent = text;
  }

  // ---------------------------------------------------------------- zoom

  /** Multiplies the bytes per row by `factor` (0.5 zooms in), keeping the top address in view. */
  zoom(factor, pointer = null) {
    const snap = this.hooks.snapshot();
    const layout = this.#relayout(snap);
    const anchor = pointer?.address ?? this.#anchorAddress(layout);
    if (layout.view === "kernel") return; // one row per buddy block: nothing to zoom
    if (this.view === "blocks") {
      const z = factor < 1 ? this.blockZoom * 1.25 : this.blockZoom / 1.25;
      this.blockZoom = Math.min(MAX_BLOCK_ZOOM, Math.max(MIN_BLOCK_ZOOM, Math.round(z * 1000) / 1000));
      this.#scrollTo(anchor, pointer?.offset);
      return;
    }
    this.bytesPerRow = Math.min(MAX_BYTES_PER_ROW, Math.max(MIN_BYTES_PER_ROW, this.bytesPerRow * factor));
    this.#scrollTo(anchor, pointer?.offset);
  }

  /** The zoom that shows the whole heap in the viewport. */
  fit() {
    const snap = this.hooks.snapshot();
    if (this.view === "blocks" && snap.kernel) {
      this.#scrollTo(null);
      return;
    }
    if (this.view === "blocks") {
      const width = this.els.scroller.clientWidth || 800;
      this.blockZoom = fitBlockZoom(snap, width, Math.max(200, (this.viewHeight || 400) - 20));
      this.#scrollTo(null);
      return;
    }
    const heapBytes = snap.segments.reduce((n, s) => n + s.bytes, 0);
    const rows = Math.floor((this.viewHeight || 400) / 18) - snap.segments.length;
    this.bytesPerRow = fitBytesPerRow(heapBytes, Math.max(4, rows));
    this.#scrollTo(null);
  }

  setBytesPerRow(bytes) {
    const layout = this.#relayout(this.hooks.snapshot());
    const anchor = this.#anchorAddress(layout);
    this.bytesPerRow = bytes;
    this.#scrollTo(anchor);
  }

  /** Switches between the block view ("blocks") and the address-exact map ("address"), keeping the focus or top in view. */
  setView(view) {
    if (view !== "blocks" && view !== "address") throw new Error(`unknown view ${view}`);
    if (view === this.view) return;
    const layout = this.#relayout(this.hooks.snapshot());
    const anchor = this.#anchorAddress(layout);
    this.view = view;
    this.layoutKey = "";
    this.#scrollTo(anchor);
  }

  /** What a zoom keeps in view: the selected block, else the last change, when in view; else the top. */
  #anchorAddress(layout) {
    const y = this.els.scroller.scrollTop;
    for (const address of [this.focusAddress, this.lastChange]) {
      if (address === null || address === undefined || layout.yOf(address) === null) continue;
      const ay = layout.yOf(address);
      if (ay >= y && ay < y + (this.viewHeight || 0)) return address;
    }
    for (let dy = 0; dy < Math.max(40, layout.rowHeight * 2); dy += 6) {
      const a = layout.addressAt(layout.left + 1, y + dy);
      if (a !== null) return a;
    }
    return null;
  }

  /** Scrolls `address` to `offset` pixels below the view's top (a third of the view for the focus, else the top). */
  #scrollTo(address, offset = null) {
    const layout = this.#relayout(this.hooks.snapshot());
    const y = address === null ? 0 : layout.yOf(address) ?? 0;
    const viewHeight = viewHeightFor(layout, this.els.scroller, this.hooks.maxHeight?.() ?? null);
    this.els.spacer.style.height = `${Math.max(0, layout.height - viewHeight)}px`;
    this.els.scroller.style.height = `${viewHeight}px`;
    const below = offset ?? (address !== null && (address === this.focusAddress || address === this.lastChange) ? viewHeight / 3 : 0);
    this.els.scroller.scrollTop = Math.max(0, y - below);
    this.invalidate();
  }

  /** After the heap changed: a visible tooltip and the announcement describe the block as it is now. */
  refresh() {
    this.invalidate();
    if (this.els.tooltip.hidden) return;
    const canvas = this.els.canvas;
    if (this.focusAddress !== null && canvas.ownerDocument.activeElement === canvas) {
      this.setFocus(this.focusIndex(), { scroll: false });
    } else if (this.pointer && this.layout) {
      const snap = this.hooks.snapshot();
      const address = this.layout.addressAt(this.pointer.x, this.pointer.y + (this.top ?? 0));
      const index = address === null ? -1 : blockAt(snap.blocks, 6, address);
      if (index < 0) this.#hideTooltip();
      else this.#showTooltip(blockInfo(snap.blocks, index, this.hooks.ids), this.pointer.x + 14, this.pointer.y + 14);
    }
  }

  // ---------------------------------------------------------------- focus

  /** Index of the focused block in `snap` (follows it by address across changes), or -1. */
  focusIndex(snap = this.hooks.snapshot()) {
    if (this.focusAddress === null) return -1;
    return blockAt(snap.blocks, 6, this.focusAddress);
  }

  /** The focused block's facts, or null. */
  focusedInfo() {
    const snap = this.hooks.snapshot();
    const index = this.focusIndex(snap);
    return index < 0 ? null : blockInfo(snap.blocks, index, this.hooks.ids);
  }

  /** Focuses block `index` (or none with -1): scrolls it into view, shows its tooltip, announces it. */
  setFocus(index, { scroll = true, tooltip = true } = {}) {
    const snap = this.hooks.snapshot();
    const n = blockCount(snap.blocks);
    if (index < 0 || n === 0) {
      this.focusAddress = null;
      this.#hideTooltip();
      this.hooks.onSelect(null);
      this.invalidate();
      return;
    }
    index = Math.max(0, Math.min(n - 1, index));
    const info = blockInfo(snap.blocks, index, this.hooks.ids);
    this.focusAddress = info.address;
    if (scroll) this.#ensureVisible(info);
    this.els.announcer.textContent = announceBlock(info, n);
    if (tooltip) this.#showTooltipForBlock(info);
    this.hooks.onSelect(info);
    this.invalidate();
  }

  #ensureVisible(info) {
    const layout = this.#relayout(this.hooks.snapshot());
    const y = layout.yOf(info.address);
    if (y === null) return;
    const scroller = this.els.scroller;
    const h = this.viewHeight || scroller.clientHeight;
    if (y < scroller.scrollTop || y + layout.rowHeight > scroller.scrollTop + h) {
      scroller.scrollTop = Math.max(0, y - h / 3);
      this.top = Math.min(scroller.scrollTop, Math.max(0, layout.height - h));
    }
  }

  /** The block index under a mouse event, or -1. */
  #indexAt(event) {
    if (!this.layout) return -1;
    const rect = this.els.canvas.getBoundingClientRect();
    const address = this.layout.addressAt(event.clientX - rect.left, event.clientY - rect.top + (this.top ?? 0));
    if (address === null) return -1;
    return blockAt(this.hooks.snapshot().blocks, 6, address);
  }

  #onMove(event) {
    const index = this.#indexAt(event);
    const rect = this.els.canvas.getBoundingClientRect();
    this.pointer = { x: event.clientX - rect.left, y: event.clientY - rect.top };
    if (index !== this.hover) {
      this.hover = index;
      this.invalidate();
    }
    if (index < 0) {
      this.#hideTooltip();
      return;
    }
    const info = blockInfo(this.hooks.snapshot().blocks, index, this.hooks.ids);
    this.#showTooltip(info, this.pointer.x + 14, this.pointer.y + 14);
  }

  /** Shows step mode's highlights (`[]` clears them). */
  setMarks(marks) {
    this.marks = marks ?? [];
    this.invalidate();
  }

  /**
   * Scrolls so that `address` is in view (step mode follows the event, the
   * playground the last operation), at the next draw: a run of operations
   * between two frames computes the geometry once, not once per operation.
   */
  reveal(address) {
    this.pendingReveal = address;
    this.lastChange = address;
    this.invalidate();
  }

  #revealNow(address) {
    const layout = this.#relayout(this.hooks.snapshot());
    const y = layout.yOf(address);
    if (y === null) return;
    const scroller = this.els.scroller;
    const h = this.viewHeight || scroller.clientHeight;
    if (y < scroller.scrollTop || y + layout.rowHeight > scroller.scrollTop + h) scroller.scrollTop = Math.max(0, y - h / 3);
  }

  // A click selects a block (as in the lessons and the embeds); a double
  // click, Enter or Delete frees it. `clickAction = "free"` makes one click
  // free (the embed's option). Selection is also by keyboard and table.
  #onClick(event) {
    const index = this.#indexAt(event);
    if (this.hooks.onPick?.(event, index, this.#pointAddress(event))) return;
    if (index < 0) return;
    if (this.clickAction === "select") {
      this.setFocus(index, { scroll: false, tooltip: false });
      return;
    }
    this.hooks.onFree(blockInfo(this.hooks.snapshot().blocks, index, this.hooks.ids));
  }

  #onDoubleClick(event) {
    if (this.clickAction !== "select") return;
    const index = this.#indexAt(event);
    if (index < 0) return;
    this.hooks.onFree(blockInfo(this.hooks.snapshot().blocks, index, this.hooks.ids));
  }

  /** The address under a mouse event, or null. */
  #pointAddress(event) {
    if (!this.layout) return null;
    const rect = this.els.canvas.getBoundingClientRect();
    return this.layout.addressAt(event.clientX - rect.left, event.clientY - rect.top + (this.top ?? 0));
  }

  #onKey(event) {
    const snap = this.hooks.snapshot();
    const n = blockCount(snap.blocks);
    const current = this.focusIndex(snap);
    let target = null;
    switch (event.key) {
      case "ArrowRight":
        target = current < 0 ? this.#firstVisible(snap) : current + 1;
        break;
      case "ArrowLeft":
        target = current < 0 ? this.#firstVisible(snap) : current - 1;
        break;
      case "ArrowDown":
      case "ArrowUp":
        target = current < 0 ? this.#firstVisible(snap) : this.#vertical(snap, current, event.key === "ArrowDown" ? 1 : -1);
        break;
      case "Home":
        target = 0;
        break;
      case "End":
        target = n - 1;
        break;
      case "Enter":
      case "Delete":
      case "Backspace":
        if (current >= 0) this.hooks.onFree(blockInfo(snap.blocks, current, this.hooks.ids));
        else this.els.announcer.textContent = "No block is focused: use the arrow keys to pick one.";
        event.preventDefault();
        return;
      case "+":
      case "=":
        this.zoom(0.5);
        event.preventDefault();
        return;
      case "-":
        this.zoom(2);
        event.preventDefault();
        return;
      case "Escape":
        this.#hideTooltip();
        return;
      default:
        return;
    }
    event.preventDefault();
    if (n === 0) return;
    this.setFocus(Math.max(0, Math.min(n - 1, target)));
  }

  #firstVisible(snap) {
    const layout = this.#relayout(snap);
    const ranges = layout.rangesIn(this.top ?? 0, (this.top ?? 0) + (this.viewHeight ?? 400));
    if (!ranges.length) return 0;
    const index = blockAt(snap.blocks, 6, ranges[0].start);
    return index < 0 ? 0 : index;
  }

  /** The block one row above or below the middle of block `index` (or the next/previous block). */
  #vertical(snap, index, direction) {
    const layout = this.#relayout(snap);
    const info = blockInfo(snap.blocks, index, null);
    const r = layout.rects(info.address, info.address + info.size);
    const piece = direction > 0 ? r[r.length - 1] : r[0];
    if (!piece) return index + direction;
    const x = piece.x + Math.min(piece.w / 2, 4);
    const address = layout.addressAt(Math.max(layout.left, x), piece.y + (direction > 0 ? layout.rowHeight + 1 : layout.view === "blocks" ? 1 - layout.rowHeight : -1));
    const target = address === null ? -1 : blockAt(snap.blocks, 6, address);
    return target < 0 || target === index ? index + direction : target;
  }

  // ---------------------------------------------------------------- tooltip

  #showTooltipForBlock(info) {
    const layout = this.layout;
    const y = layout?.yOf(info.address);
    if (y === null || y === undefined) return;
    const r = layout.rects(info.address, info.address + 1)[0];
    this.#showTooltip(info, r.x + 4, y - (this.top ?? 0) + (layout.boxHeight ?? layout.rowHeight) + 6);
  }

  #showTooltip(info, x, y) {
    const tip = this.els.tooltip;
    const doc = tip.ownerDocument;
    const title = doc.createElement("strong");
    title.textContent = info.used ? `Block ${info.label || `#${info.id}`}` : "Free block";
    const dl = doc.createElement("dl");
    for (const [term, value] of describeBlock(info)) {
      const dt = doc.createElement("dt");
      dt.textContent = term;
      const dd = doc.createElement("dd");
      dd.textContent = value;
      dl.append(dt, dd);
    }
    tip.replaceChildren(title, dl);
    tip.hidden = false;
    const host = this.els.scroller.getBoundingClientRect();
    const w = tip.offsetWidth;
    const h = tip.offsetHeight;
    const left = Math.max(0, Math.min(x, host.width - w - 4));
    const top = y + h > host.height && y - h - 28 > 0 ? y - h - 28 : y;
    tip.style.transform = `translate(${Math.round(left)}px, ${Math.round(top)}px)`;
  }

  #hideTooltip() {
    this.els.tooltip.hidden = true;
  }
}
