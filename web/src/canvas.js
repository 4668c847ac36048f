// Small Canvas 2D helpers shared by the map's views.

/** Diagonal hatching over the rectangle (x, y, w, h): lines `step` px apart. */
export function hatch(ctx, x, y, w, h, color, step = 7) {
  ctx.save();
  ctx.beginPath();
  ctx.rect(x, y, w, h);
  ctx.clip();
  ctx.strokeStyle = color;
  ctx.lineWidth = 1;
  ctx.beginPath();
  for (let d = -h; d < w; d += step) {
    ctx.moveTo(x + d, y + h);
    ctx.lineTo(x + d + h, y);
  }
  ctx.stroke();
  ctx.restore();
}

/**
 * `text` as wide as fits in `max` px in the current font: whole, or cut
 * with "…"; "" when no more than one character would be left.
 */
export function ellipsize(ctx, text, max) {
  if (ctx.measureText(text).width <= max) return text;
  let cut = text;
  while (cut.length > 1 && ctx.measureText(`${cut}…`).width > max) cut = cut.slice(0, -1);
  return cut.length > 1 ? `${cut}…` : "";
}

/** `line` split at spaces into pieces no wider than `max` in the current font (a word wider than that stays whole). */
export function wrapWords(ctx, line, max) {
  const out = [];
  let cur = "";
  for (const word of line.split(" ")) {
    const next = cur ? `${cur} ${word}` : word;
    if (cur && ctx.measureText(next).width > max) {
      out.push(cur);
      cur = word;
    } else cur = next;
  }
  if (cur) out.push(cur);
  return out;
}
